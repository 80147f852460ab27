/**
 * Whether a Skill, a script asset or an HTTP resource may be used: `active`, `disabled` (kept in
 * sight, runs refused — a pause) or `archived` (out of the default lists, runs refused). Both are
 * reversible: restoring makes it `active` again. The state lives beside the definition, never in it,
 * so changing it neither creates a revision nor invalidates approvals; every change is audited.
 */

import type { AvailabilityState } from '../contract/catalog.ts';
import { NotRunnableError } from './errors.ts';
import type { TenantContext } from './tenancy/domain.ts';

export { AVAILABILITY_STATES, type AvailabilityState } from '../contract/catalog.ts';

/** The stored state of an item (items written before states existed are active). */
export function stateOf(item: Record<string, unknown>): AvailabilityState {
  const state = item.state;
  return state === 'disabled' || state === 'archived' ? state : 'active';
}

/** The audit verb of a move to `state`. */
export function stateVerb(state: AvailabilityState): 'restored' | 'disabled' | 'archived' {
  return state === 'active' ? 'restored' : state;
}

/** Longest reason kept with a state change (characters). */
export const MAX_STATE_REASON = 500;

/** The reason a state change keeps: trimmed, at most MAX_STATE_REASON characters. */
export function stateReason(reason: string): string {
  return reason.trim().slice(0, MAX_STATE_REASON);
}

/** The audit details of a state change: the item's name, the move, and the reason when one was given. */
export function stateChangeDetails(
  name: string,
  from: AvailabilityState,
  to: AvailabilityState,
  reason: string,
): Record<string, unknown> {
  return { name, from, to, ...(reason === '' ? {} : { reason }) };
}

/** Throws the problem a run of something not active gets: what it is, its name and how to fix it. */
export function assertRunnable(
  subject: 'Skill' | 'script' | 'HTTP resource',
  name: string,
  id: string,
  state: AvailabilityState,
): void {
  if (state === 'active') return;
  const who = subject === 'HTTP resource' ? 'the platform' : 'an administrator';
  throw new NotRunnableError(
    `The ${subject} "${name}" is ${state}: runs are refused until ${who} restores it`,
    { extra: { subject, id, state } },
  );
}

/** What was taken out of use: a Skill or a script, by id, with its name and its new state. */
export interface Unavailable {
  readonly subject: 'Skill' | 'script';
  readonly id: string;
  readonly name: string;
  readonly state: Exclude<AvailabilityState, 'active'>;
}

/**
 * Called once a Skill or script was disabled or archived, after its audit entry: the runs of it that
 * have not started are withdrawn (runnability is checked when a run is requested and approved, so a
 * run already queued would otherwise start).
 */
export type OnUnavailable = (domain: TenantContext, taken: Unavailable, actor: string) => Promise<void>;

/** The error a run not started gets when what it runs is taken out of use. */
export function withdrawnError(taken: Unavailable, actor: string): { type: string; message: string } {
  return {
    type: 'NotRunnable',
    message: `The ${taken.subject} "${taken.name}" was ${taken.state} by ${actor} before the run started`,
  };
}
