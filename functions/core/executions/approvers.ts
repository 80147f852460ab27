/**
 * Who may approve a Skill's runs, counted: active users who hold `approval:decide` and may see the
 * Skill (the people `decide` accepts), and the admins among them. A run request counts them to
 * refuse a run nobody could approve (approvals.ts `assertApprovable`); the catalogue's Skill view
 * counts them to warn its managers (`approvalWarning`), which only the API loads.
 */

import type { ApprovalWarning } from '../../contract/responses.ts';
import { counted } from '../../contract/wording.ts';
import { canSee, type Skill } from '../catalog/skills.ts';
import type { Directory } from '../identity/directory.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { approvalsRequiredOf } from './requests.ts';

/** The role whose approval a critical run needs. */
export const ADMIN_ROLE = 'admin';
/** Users read per page while counting. */
const APPROVER_PAGE = 100;
/**
 * Pages read at most (1,000 users) per count: a tenant of many users without approvers would
 * otherwise make every gated run request read all of them. Past it the count is not `complete` and
 * the run is let through, as it was before the check existed: the check spares a requester a wait,
 * it guards nothing (`decide` does).
 */
export const MAX_APPROVER_PAGES = 10;

export interface ApproverCount {
  readonly approvers: number;
  readonly admins: number;
  /** False when the count stopped at MAX_APPROVER_PAGES without reading every user. */
  readonly complete: boolean;
}

/**
 * Counts active users, other than `except`, who hold `approval:decide` and may see `skill`, and the
 * admins among them; stops once there are `approvers` of them and `admins` admins, or after
 * MAX_APPROVER_PAGES pages. Reads the tenant's roles once and the users a page at a time: nothing
 * per user (a tenant of many users with many custom roles made each count read them all).
 */
export async function countApprovers(
  directory: Directory,
  domain: TenantContext,
  skill: Skill,
  enough: {
    readonly except: string | null;
    readonly approvers: number;
    readonly admins: number;
    /** Users not counted either: those who have voted on a run already. @default none */
    readonly voted?: ReadonlySet<string>;
  },
): Promise<ApproverCount> {
  // The tenant's roles once (built-in and custom), so a user's permissions cost no read of their own.
  const granted = new Map((await directory.listRoles(domain)).map((role) => [role.name, role.permissions]));
  const permissionsOf = (roles: readonly string[]) =>
    new Set(roles.flatMap((role) => granted.get(role) ?? []));
  let approvers = 0;
  let admins = 0;
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_APPROVER_PAGES; pages++) {
    const page = await directory.listUsers(domain, APPROVER_PAGE, cursor);
    for (const user of page.items) {
      if (user.disabled || user.username === enough.except || enough.voted?.has(user.username) === true)
        continue;
      const permissions = permissionsOf(user.roles);
      if (!permissions.has('approval:decide') || !canSee({ permissions, roles: user.roles }, skill)) continue;
      approvers += 1;
      if (user.roles.includes(ADMIN_ROLE)) admins += 1;
      if (approvers >= enough.approvers && admins >= enough.admins)
        return { approvers, admins, complete: true };
    }
    cursor = page.cursor;
    if (cursor === undefined) return { approvers, admins, complete: true };
  }
  // A full last page may end the list: the store gives a cursor whenever a page is full.
  const rest = await directory.listUsers(domain, 1, cursor);
  return { approvers, admins, complete: rest.items.length === 0 };
}

/**
 * A warning for a Skill's managers when its approval rule cannot be met for some requesters:
 * everyone's runs are refused when fewer people than it needs may approve it; approvers' own runs
 * are, when exactly as many as it needs may (the requester never approves). Null when every
 * requester's run could be approved, the Skill needs no approval, or the count was not complete.
 */
export async function approvalWarning(
  directory: Directory,
  domain: TenantContext,
  skill: Skill,
): Promise<ApprovalWarning | null> {
  const required = approvalsRequiredOf(skill);
  if (required === 0) return null;
  const adminRequired = skill.risk === 'critical';
  // One more than needed: any one of them may be the requester.
  const count = await countApprovers(directory, domain, skill, {
    except: null,
    approvers: required + 1,
    admins: adminRequired ? 2 : 0,
  });
  if (!count.complete) return null;
  const everyone = count.approvers < required || (adminRequired && count.admins === 0);
  const approvers = count.approvers <= required || (adminRequired && count.admins <= 1);
  if (!everyone && !approvers) return null;
  const who = everyone ? 'every run of this Skill is refused' : 'runs requested by its approvers are refused';
  const needs = `it needs ${counted(required, 'approval')} from people other than the requester${adminRequired ? ', one of them an admin' : ''}`;
  return {
    approvalsRequired: required,
    approvers: count.approvers,
    ...(adminRequired ? { adminApprovers: count.admins } : {}),
    refused: everyone ? 'all' : 'approvers',
    message: `Only ${counted(count.approvers, 'user')}${adminRequired ? ` (${counted(count.admins, 'admin')})` : ''} may approve this Skill's runs and ${needs}: ${who}. Give more users approval:decide, or change the Skill's approval rule or visibility.`,
  };
}
