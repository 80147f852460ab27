/**
 * Risk-driven approvals. A run that needs approvals waits in `pending_approval`, bound to the hash
 * of its exact input, asset version and Skill definition. Decisions:
 * - only holders of `approval:decide` who may see the Skill decide; the requester never does;
 * - each approver counts once (one vote item per approver, written conditionally);
 * - one rejection ends the run; the last approval needed releases it, and the release is a
 *   conditional transition, so concurrent approvers queue it exactly once;
 * - critical runs need a tenant admin among the approvers;
 * - if the Skill or its active script changes before approval completes, the run is invalidated
 *   and must be requested again (checked at every decision, and eagerly on every change).
 * A run is refused before anything is written when fewer people may approve it than it needs
 * (active users other than the requester who hold `approval:decide` and may see the Skill; for a
 * critical run, one of them an admin): it could only wait and expire. A Skill's managers see the
 * same shortfall as a warning on the Skill (`approvalWarning`).
 * Approvers are notified through announcements (never the requester); every request, decision and
 * expiry is audited.
 */
import { counted } from '../../contract/wording.ts';
import type { AuditLog } from '../audit/chain.ts';
import { canSee, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import {
  ApproversUnavailableError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  unlessNotFound,
} from '../errors.ts';
import type { Announcements } from '../foundation/announcements.ts';
import type { Parameters } from '../foundation/parameters.ts';
import { readableUtc } from '../governance/dates.ts';
import type { Caller } from '../identity/caller.ts';
import type { Directory } from '../identity/directory.ts';
import { MAX_PAGE_SIZE, type Page } from '../pagination.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { ADMIN_ROLE, countApprovers } from './approvers.ts';
import { ExecutionRepository } from './execution-repository.ts';
import { APPROVAL_TTL_SECONDS, type Execution, type Executions } from './executions.ts';
import { approvalsRequiredOf } from './requests.ts';
import { whereTheRunIs } from './state-machine.ts';

/**
 * Pending runs read at most for one page of the inbox, or for the count of those waiting for a
 * caller: where many runs are of Skills hidden from the caller, the page's cursor goes on from there.
 */
export const MAX_INBOX_READ = 500;
/** The count of runs waiting for a caller's decision (the front's badge) stops here. */
export const MAX_DECIDABLE_COUNTED = 100;

/** Tenant parameter overriding how long runs wait for approval, in hours (1–720). */
export const APPROVAL_TTL_PARAMETER = 'approvals.expiryHours';
/** The role whose approval a critical run needs (approvers.ts counts them). */
export { ADMIN_ROLE } from './approvers.ts';

export interface Vote {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  readonly comment: string;
  readonly admin: boolean;
  readonly at: string;
}

export interface InboxEntry {
  readonly execution: Execution;
  readonly approvals: readonly Vote[];
  /** The HTTP resources the run's Skill revision lets its script call: part of what is approved. */
  readonly egress: readonly string[];
  /** The collections it may read and write (`ctx.data`) and the parameters it may read (`ctx.params`). */
  readonly collections?: readonly string[];
  readonly parameters?: readonly string[];
  /** Whether the asking caller may decide (not their own run, not already voted). */
  readonly canDecide: boolean;
}

export interface ApprovalsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly skills: SkillCatalog;
  readonly directory: Directory;
  readonly announcements: Announcements;
  readonly parameters: Parameters;
  readonly now?: () => Date;
  /** Refuses an approval of a Skill that may not run now (disabled or archived). @default none */
  readonly runnable?: (domain: TenantContext, skill: Skill) => Promise<unknown>;
}

export class Approvals {
  readonly #store: ExecutionRepository;
  readonly #audit: AuditLog;
  readonly #skills: SkillCatalog;
  readonly #directory: Directory;
  readonly #announcements: Announcements;
  readonly #parameters: Parameters;
  readonly #now: () => Date;
  readonly #runnable: NonNullable<ApprovalsOptions['runnable']>;
  #executions: Executions | undefined;

  constructor(options: ApprovalsOptions) {
    this.#store = new ExecutionRepository(options.table);
    this.#audit = options.audit;
    this.#skills = options.skills;
    this.#directory = options.directory;
    this.#announcements = options.announcements;
    this.#parameters = options.parameters;
    this.#now = options.now ?? (() => new Date());
    this.#runnable = options.runnable ?? (async () => undefined);
  }

  /** Completes the wiring (executions call back into approvals for notifications). */
  attach(executions: Executions): void {
    this.#executions = executions;
  }

  get #runs(): Executions {
    if (this.#executions === undefined) throw new Error('Approvals used before attach()');
    return this.#executions;
  }

  /** The tenant's approval window: the parameter when set and sane, else the platform default. */
  async ttlSeconds(domain: TenantContext): Promise<number> {
    const parameter = (await this.#parameters.list(domain)).find(
      (item) => item.key === APPROVAL_TTL_PARAMETER,
    );
    const hours = Number(parameter?.value);
    return Number.isFinite(hours) && hours >= 1 && hours <= 720
      ? Math.round(hours * 3600)
      : APPROVAL_TTL_SECONDS;
  }

  /**
   * Refuses a run of `skill` requested by `requester` that not enough people could approve:
   * fewer active users other than the requester who hold `approval:decide` and may see the Skill
   * than the run needs, or (critical) no tenant admin among them. Reads nothing when the Skill
   * needs no approval, and stops reading users as soon as there are enough.
   */
  async assertApprovable(domain: TenantContext, skill: Skill, requester: string): Promise<void> {
    const required = approvalsRequiredOf(skill);
    if (required === 0) return;
    const adminRequired = skill.risk === 'critical';
    const count = await countApprovers(this.#directory, domain, skill, {
      except: requester,
      approvers: required,
      admins: adminRequired ? 1 : 0,
    });
    if (!count.complete) return;
    if (count.approvers >= required && (!adminRequired || count.admins >= 1)) return;
    const extra = {
      approvalsRequired: required,
      approversAvailable: count.approvers,
      ...(adminRequired ? { adminApprovalRequired: true, adminApproversAvailable: count.admins } : {}),
    };
    if (count.approvers < required) {
      throw new ApproversUnavailableError(
        `This run needs ${counted(required, 'approval')} from people other than its requester, and ${counted(count.approvers, 'user')} other than ${requester} may approve it (active, with approval:decide, allowed to see the Skill): it could never be approved. Give more users approval:decide, or change the Skill's approval rule or visibility.`,
        { extra },
      );
    }
    throw new ApproversUnavailableError(
      `This critical run needs a tenant admin among its approvers, and no admin other than ${requester} may approve it: it could never be approved. Give another admin access to the Skill.`,
      { extra },
    );
  }

  /**
   * Tells the tenant's approvers that a run waits for them: never its requester, who may not decide,
   * nor anyone who may not see the Skill when they read it (the notice names it, and who asked to run
   * it): it carries the Skill's id, whose sight is checked as it is then, and its visibility now too,
   * which code from before notices named their Skill checks instead.
   */
  async notify(domain: TenantContext, execution: Execution, skill: Pick<Skill, 'visibility'>): Promise<void> {
    const roles = (await this.#directory.listRoles(domain))
      .filter((role) => role.permissions.includes('approval:decide'))
      .map((role) => role.name);
    const deadline =
      execution.deadline === undefined
        ? 'it expires'
        : (readableUtc(execution.deadline) ?? execution.deadline);
    const required = execution.approvalsRequired;
    await this.#announcements.post(
      domain,
      {
        id: `approval-${execution.id}`,
        title: `Approval needed: ${execution.skillName}`,
        body: `${execution.requestedBy}${execution.client === undefined ? '' : ` (through the AI client "${execution.client.name}")`} asked to run ${execution.skillName}. It needs ${required} ${required === 1 ? 'approval' : 'approvals'} before ${deadline}.`,
        audience: roles,
        excluded: [execution.requestedBy],
        skillId: execution.skillId,
        skillVisibility: skill.visibility,
        severity: 'warning',
        link: `/executions/${execution.id}`,
        // Shown only while the run waits, and only to those who have not decided it yet.
        decisionOn: execution.id,
      },
      { username: 'system', via: 'system' },
      'system',
    );
  }

  /**
   * A page of the pending runs the caller may see, oldest first, with the votes so far. Runs of
   * Skills hidden from the caller are skipped: runs are read until the page is full or the inbox
   * ends, MAX_INBOX_READ at most (the cursor then says where to go on), and only the runs shown cost
   * a read of their votes and revision. `maxAgeMs`: how old a catalogue the caller accepts for which
   * Skills they may see (SkillCatalog.listVisible).
   */
  async inbox(
    domain: TenantContext,
    caller: Caller,
    limit: number,
    cursor?: string,
    maxAgeMs?: number,
  ): Promise<Page<InboxEntry>> {
    const skills = await this.#visibleSkills(domain, caller, maxAgeMs);
    const page = await this.#visiblePending(domain, limit, cursor, (run) => skills.has(run.skillId));
    const items = await Promise.all(
      page.items.map(async (execution): Promise<InboxEntry> => {
        const skill = skills.get(execution.skillId);
        const [votes, revision] = await Promise.all([
          this.#votes(domain, execution.id),
          skill !== undefined && skill.revision === execution.skillRevision
            ? skill
            : this.#skills.revision(domain, execution.skillId, execution.skillRevision),
        ]);
        return {
          execution,
          approvals: votes,
          egress: revision.egress ?? [],
          collections: revision.collections ?? [],
          parameters: revision.parameters ?? [],
          canDecide:
            caller.permissions.has('approval:decide') &&
            execution.requestedBy !== caller.username &&
            !votes.some((vote) => vote.approver === caller.username),
        };
      }),
    );
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
  }

  /**
   * How many pending runs wait for the caller's decision (a Skill they see, not their own run, not
   * voted on yet), up to MAX_DECIDABLE_COUNTED, and whether more than that wait (the front's badge
   * then reads "100+"). Reads MAX_INBOX_READ runs at most, with their statuses and the caller's votes
   * in one batch read per page.
   */
  async decidableCount(
    domain: TenantContext,
    caller: Caller,
    maxAgeMs?: number,
  ): Promise<{ readonly count: number; readonly more: boolean }> {
    if (!caller.permissions.has('approval:decide')) return { count: 0, more: false };
    const skills = await this.#visibleSkills(domain, caller, maxAgeMs);
    let counted = 0;
    let read = 0;
    let cursor: string | undefined;
    do {
      const page = await this.#runs.pendingApprovalsPage(
        domain,
        Math.min(MAX_PAGE_SIZE, MAX_INBOX_READ - read),
        cursor,
      );
      read += page.items.length;
      const ids = page.items
        .filter((run) => skills.has(run.skillId) && run.requestedBy !== caller.username)
        .map((run) => run.id);
      if (ids.length > 0)
        counted += (await this.#store.awaitingDecision(domain, caller.username, ids)).awaiting.size;
      cursor = page.cursor;
      // One past the cap tells "100" from "more than 100".
    } while (cursor !== undefined && read < MAX_INBOX_READ && counted <= MAX_DECIDABLE_COUNTED);
    return { count: Math.min(counted, MAX_DECIDABLE_COUNTED), more: counted > MAX_DECIDABLE_COUNTED };
  }

  /** The Skills the caller may see (archived ones too: their runs may still wait), by id. */
  async #visibleSkills(
    domain: TenantContext,
    caller: Caller,
    maxAgeMs?: number,
  ): Promise<Map<string, Skill>> {
    const visible = await this.#skills.listVisible(domain, caller, {
      includeArchived: true,
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    });
    return new Map(visible.map((skill) => [skill.id, skill]));
  }

  /**
   * Up to `limit` pending runs that `shown` keeps, from `cursor` on: pages are read until the limit
   * is reached or the inbox ends, MAX_INBOX_READ runs at most; the cursor goes on after the last run
   * kept, or after the last one read.
   */
  async #visiblePending(
    domain: TenantContext,
    limit: number,
    cursor: string | undefined,
    shown: (execution: Execution) => boolean,
  ): Promise<Page<Execution>> {
    const items: Execution[] = [];
    let next = cursor;
    let read = 0;
    for (;;) {
      // The first read is the page asked for; more are read in the largest pages.
      const size = Math.min(read === 0 ? limit : MAX_PAGE_SIZE, MAX_INBOX_READ - read);
      const page = await this.#runs.pendingApprovalsPage(domain, size, next);
      read += page.items.length;
      const kept = page.items.filter(shown);
      const room = limit - items.length;
      if (kept.length >= room) {
        items.push(...kept.slice(0, room));
        const last = items.at(-1);
        // A page that ends inside what was read goes on after its last run.
        if (last !== undefined && last.id !== page.items.at(-1)?.id) {
          return { items, cursor: this.#runs.pendingApprovalsCursorAfter(domain, last) };
        }
        return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
      }
      items.push(...kept);
      if (page.cursor === undefined) return { items };
      if (read >= MAX_INBOX_READ) return { items, cursor: page.cursor };
      next = page.cursor;
    }
  }

  async decide(
    domain: TenantContext,
    caller: Caller,
    executionId: string,
    decision: 'approve' | 'reject',
    comment: string,
  ): Promise<Execution> {
    const execution = await this.#runs.find(domain, executionId);
    if (execution === null) throw new NotFoundError(`Execution ${executionId} not found`);
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    if (skill === null || !canSee(caller, skill))
      throw new NotFoundError(`Execution ${executionId} not found`);
    if (!caller.permissions.has('approval:decide')) {
      throw new ForbiddenError('This action needs the permission approval:decide', {
        extra: { permission: 'approval:decide' },
      });
    }
    if (execution.status !== 'pending_approval') {
      throw new ConflictError(`The run ${whereTheRunIs(execution.status)}; it no longer takes decisions`, {
        extra: { executionStatus: execution.status },
      });
    }
    if (execution.requestedBy === caller.username)
      throw new ForbiddenError('Nobody approves or rejects their own run');
    // A disabled or archived Skill (or asset) releases nothing; rejecting stays possible.
    if (decision === 'approve') await this.#runnable(domain, skill);

    // What was approved must still be what would run.
    if ((await this.#runs.currentApprovalHash(domain, execution)) !== execution.approvalHash) {
      await this.#invalidate(domain, execution, caller.username);
      throw new ConflictError(
        'The Skill or its script changed since the run was requested; request it again',
        {
          extra: { reason: 'approval-invalidated' },
        },
      );
    }

    const vote: Vote = {
      approver: caller.username,
      decision,
      comment: comment.slice(0, 1000),
      admin: caller.roles.includes(ADMIN_ROLE),
      at: this.#now().toISOString(),
    };
    // A second vote of the same approver is VoteCastError (409).
    await this.#store.castVote(domain, executionId, vote);
    // Closed while the vote was cast (a cancel, another approver's reject, the expiry): the vote
    // decides nothing, and is neither audited nor answered as a decision. A run released meanwhile
    // (another approval completed it) counted this vote: it goes on.
    const now = await this.#runs.find(domain, executionId);
    if (now === null || now.status === 'cancelled' || now.status === 'rejected') {
      throw new ConflictError(
        `The run was ${now?.status ?? 'removed'} before this decision counted; it no longer takes decisions`,
        { extra: { executionStatus: now?.status ?? null } },
      );
    }
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: decision === 'approve' ? 'approval.approved' : 'approval.rejected',
      target: `execution:${executionId}`,
      details: { skillId: execution.skillId, comment: vote.comment, approvalHash: execution.approvalHash },
    });

    if (decision === 'reject') {
      const closed = await this.#runs.closePending(
        domain,
        executionId,
        'rejected',
        {
          type: 'Rejected',
          message: `Rejected by ${caller.username}${vote.comment ? `: ${vote.comment}` : ''}`,
        },
        caller.username,
      );
      if (closed !== null) await this.#tellRequester(domain, closed, vote);
      return closed ?? (await this.#current(domain, executionId));
    }

    const votes = (await this.#votes(domain, executionId)).filter((item) => item.decision === 'approve');
    const enough = votes.length >= execution.approvalsRequired;
    const adminOk = execution.adminApprovalRequired !== true || votes.some((item) => item.admin);
    if (enough && adminOk) {
      const released = await this.#runs.releaseApproved(domain, executionId);
      if (released !== null) {
        await this.#tellRequester(domain, released, vote);
        return released;
      }
    }
    return this.#current(domain, executionId);
  }

  /** The votes cast on a run, in the order they were cast (who approved or rejected, and why). */
  async votes(domain: TenantContext, executionId: string): Promise<Vote[]> {
    return (await this.#votes(domain, executionId)).sort((a, b) => a.at.localeCompare(b.at));
  }

  /**
   * Tells the requester, in the front, that their run was approved (and released) or rejected. A
   * requester who may not see the Skill when they read it (its visibility narrowed since they asked)
   * is still told the decision on their run, which they wait for, but by the run's id: not the
   * Skill's name, nor the approver's comment on it, nor a link to a run they can no longer open.
   */
  async #tellRequester(domain: TenantContext, execution: Execution, vote: Vote): Promise<void> {
    const approved = vote.decision === 'approve';
    const outcome = approved ? 'approved' : 'rejected';
    await this.#announcements.post(
      domain,
      {
        id: `decided-${execution.id}`,
        title: `${approved ? 'Approved' : 'Rejected'}: ${execution.skillName}`,
        body: `${vote.approver} ${approved ? 'approved' : 'rejected'} your run of ${execution.skillName}${
          vote.comment === '' ? '.' : `: “${vote.comment}”`
        }${approved ? ' It is on its way.' : ''}`,
        recipients: [execution.requestedBy],
        skillId: execution.skillId,
        withoutSkill: {
          title: `${approved ? 'Approved' : 'Rejected'}: your run ${execution.id}`,
          body: `${vote.approver} ${outcome} your run ${execution.id}.${approved ? ' It is on its way.' : ''}`,
        },
        severity: approved ? 'info' : 'warning',
        link: `/executions/${execution.id}`,
      },
      { username: 'system', via: 'system' },
      'system',
    );
  }

  /**
   * What a removed user leaves waiting for approval (identity.md, *Removing a user*): runs they
   * requested are cancelled (once approved they would start as a user who no longer exists), and,
   * when they could approve (`couldDecide`), runs that nobody left could now approve enough — fewer
   * active users other than the requester and those who voted than approvals missing, or no admin
   * for a critical run that still needs one — are cancelled rather than left to expire. Votes they
   * cast stay and count (cast while they could decide). Each is audited. Harmless to repeat.
   */
  async withdrawForRemoved(
    domain: TenantContext,
    username: string,
    couldDecide: boolean,
    by: string,
  ): Promise<number> {
    let closed = 0;
    for await (const execution of this.#runs.pendingApprovals(domain)) {
      if (execution.requestedBy === username) {
        const ended = await this.#runs.closePending(
          domain,
          execution.id,
          'cancelled',
          {
            type: 'RequesterRemoved',
            message: `Its requester ${username} was removed before the approvals completed`,
          },
          by,
        );
        if (ended !== null) closed++;
        continue;
      }
      if (!couldDecide) continue;
      const missing = await this.#missingApprovers(domain, execution);
      if (missing === null) continue;
      const ended = await this.#runs.closePending(
        domain,
        execution.id,
        'cancelled',
        { type: 'ApproversUnavailable', message: `${username} was removed: ${missing}` },
        by,
      );
      if (ended !== null) closed++;
    }
    return closed;
  }

  /** Why a pending run can no longer gather its approvals from the users left, or null when it can. */
  async #missingApprovers(domain: TenantContext, execution: Execution): Promise<string | null> {
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    if (skill === null) return null;
    const votes = await this.#votes(domain, execution.id);
    const approvals = votes.filter((vote) => vote.decision === 'approve');
    const needed = Math.max(0, execution.approvalsRequired - approvals.length);
    const adminNeeded = execution.adminApprovalRequired === true && !approvals.some((vote) => vote.admin);
    if (needed === 0 && !adminNeeded) return null;
    const count = await countApprovers(this.#directory, domain, skill, {
      except: execution.requestedBy,
      voted: new Set(votes.map((vote) => vote.approver)),
      approvers: needed,
      admins: adminNeeded ? 1 : 0,
    });
    if (!count.complete) return null;
    if (count.approvers < needed) {
      return `the run needs ${counted(needed, 'more approval')} and ${counted(count.approvers, 'user')} left may give one; request it again once more people may approve it`;
    }
    if (adminNeeded && count.admins < 1) {
      return 'the critical run needs a tenant admin among its approvers and none is left who may approve it; request it again once one may';
    }
    return null;
  }

  /** Cancels pending runs whose approval no longer matches what would run (after a change). */
  async revalidate(
    domain: TenantContext,
    actor: string,
    affects: (execution: Execution) => boolean,
  ): Promise<number> {
    let invalidated = 0;
    // A page of the store at a time: every pending run is checked, never all of them held at once.
    for await (const execution of this.#runs.pendingApprovals(domain)) {
      if (!affects(execution)) continue;
      if ((await this.#runs.currentApprovalHash(domain, execution)) === execution.approvalHash) continue;
      if (await this.#invalidate(domain, execution, actor)) invalidated++;
    }
    return invalidated;
  }

  async #invalidate(domain: TenantContext, execution: Execution, actor: string): Promise<boolean> {
    const closed = await this.#runs.closePending(
      domain,
      execution.id,
      'cancelled',
      {
        type: 'ApprovalInvalidated',
        message: 'The Skill or its script changed before the approvals completed; request the run again',
      },
      actor,
    );
    return closed !== null;
  }

  /** The decisions on a run so far (for those already allowed to read the run). */
  async votesOf(domain: TenantContext, executionId: string): Promise<Vote[]> {
    return this.#votes(domain, executionId);
  }

  async #current(domain: TenantContext, id: string): Promise<Execution> {
    const execution = await this.#runs.find(domain, id);
    if (execution === null) throw new NotFoundError(`Execution ${id} not found`);
    return execution;
  }

  async #votes(domain: TenantContext, executionId: string): Promise<Vote[]> {
    return this.#store.votes(domain, executionId);
  }
}
