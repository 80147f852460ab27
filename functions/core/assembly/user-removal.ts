/**
 * What a tenant's removed user leaves behind, tidied once they are removed (identity.md, *Removing a
 * user*). The removal itself is the sign-in core's (Auth.removeUser: the user, their access tokens);
 * what they own lives in the rest of the tenant core, which the sign-in routes reach only when a user
 * is removed. Every step here is harmless to repeat and harmless if never reached — the removed user
 * acts in none of them (every credential of theirs is refused, a fire of their schedule is skipped) —
 * so a removal retried after a crash finishes what was left.
 */
import type { Caller } from '../identity/caller.ts';
import type { RemovedUser } from '../identity/directory.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { TenantCore } from './tenant.ts';

/** How many of each a removed user's departure ended. */
export interface Tidied {
  readonly runsWithdrawn: number;
  readonly approvalsClosed: number;
  readonly schedulesPaused: number;
  readonly mcpClientsRevoked: number;
}

export async function tidyAfterRemoval(
  core: Pick<TenantCore, 'directory' | 'executions' | 'approvals' | 'schedules' | 'mcpClients'>,
  domain: TenantContext,
  removed: RemovedUser,
  by: Caller,
): Promise<Tidied> {
  const { username } = removed;
  // Runs they asked for that have not started would start as a user who no longer exists.
  const runsWithdrawn = await core.executions.withdrawWaiting(
    domain,
    (execution) => execution.requestedBy === username,
    { type: 'RequesterRemoved', message: `Its requester ${username} was removed before it started` },
    by.username,
  );
  // A retried removal no longer knows their roles: every waiting run is checked again.
  const couldDecide =
    !removed.now || (await core.directory.permissionsOf(domain, removed.roles)).has('approval:decide');
  const approvalsClosed = await core.approvals.withdrawForRemoved(domain, username, couldDecide, by.username);
  const schedulesPaused = await core.schedules.pauseOwnedBy(domain, username, by);
  const mcpClientsRevoked = await core.mcpClients.revokeAllOf(domain, username, by);
  return { runsWithdrawn, approvalsClosed, schedulesPaused, mcpClientsRevoked };
}
