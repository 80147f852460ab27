/**
 * Tenant schedules: a Skill run with a fixed input, at a cron, a rate or once, requested as the
 * schedule's owner (whoever last saved what it runs) through the same admission as any run —
 * visibility, `skill:run`, input schema, approvals, tenant status, quota. A fire that admission
 * refuses is skipped and logged with why; one that fails to be requested is logged as failed (and,
 * in AWS, retried by Scheduler: a fire is idempotent on its schedule and scheduled time).
 *
 * Missed fires (the platform was down, or a delivery came too late): a fire more than
 * `MISSED_GRACE_SECONDS` after its scheduled time is not run; one `skipped` entry with reason
 * `missed` records how many occurrences were missed, and the schedule goes on at its next occurrence
 * after now. See docs/decisions/schedules.md.
 *
 * Every fire leaves one log entry per (schedule, scheduled time): `ran` (with its run), `skipped`
 * (and why) or `failed` (could not be requested). Logs are kept 90 days.
 */

import type { Schedule as ScheduleAnswer, SkipReason } from '../../contract/responses.ts';
import { counted } from '../../contract/wording.ts';
import type { AuditLog } from '../audit/chain.ts';
import { canSee, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import {
  ApproversUnavailableError,
  ConflictError,
  ExecFabricError,
  ForbiddenError,
  NotFoundError,
  NotRunnableError,
  PayloadTooLargeError,
  PlanLimitError,
  QuotaExceededError,
  RateLimitedError,
  TenantSuspendedError,
  ValidationError,
} from '../errors.ts';
import type { Execution, Executions } from '../executions/executions.ts';
import { runInputJson } from '../executions/requests.ts';
import type { ExecutionStatus } from '../executions/state-machine.ts';
import type { Caller } from '../identity/caller.ts';
import type { Directory } from '../identity/directory.ts';
import { randomId } from '../ids.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { planLimits } from '../tenancy/plans.ts';
import { type DueSchedule, ScheduleRepository, withoutLastFire } from './schedule-repository.ts';
import type { TenantSchedulerPort } from './scheduler-port.ts';
import type { Timing } from './timing.ts';

/**
 * When schedules fire (croner): a chunk the first schedule operation that computes a time loads, so
 * the tenant API's cold start, which mostly serves requests that never do, does not (occurrences.ts).
 */
const occurrencesModule = () => import('./occurrences.ts');
type Occurrences = Awaited<ReturnType<typeof occurrencesModule>>;

export const SCHEDULE_ID_PATTERN = /^sch-[a-z0-9]{12}$/;
/** A fire later than this after its scheduled time is not run (the missed-fire policy). */
export const MISSED_GRACE_SECONDS = 300;
/** A fire may arrive this much before its scheduled time (clock skew between services). */
export const EARLY_SKEW_SECONDS = 300;
/** Fire log entries are kept this long. */
export const LOG_RETENTION_SECONDS = 90 * 86_400;
/** Missed occurrences are counted up to this many. */
export const MAX_MISSED_COUNTED = 10_000;
/** Upcoming fire times shown with a schedule. */
export const UPCOMING = 5;

export type ScheduleState = 'enabled' | 'paused' | 'completed';
export type FireOutcome = 'ran' | 'skipped' | 'failed';

/**
 * A schedule as stored: the API's answer without its upcoming fires and its last run's status now
 * (both read, never stored), with its anchor and creation.
 */
export interface Schedule extends Omit<ScheduleAnswer, 'upcoming' | 'lastExecutionStatus'> {
  /** Rates count from here (when the schedule was last enabled or changed). */
  readonly anchorAt: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** A schedule as listed: with the status its last fire's run has now. */
export type ListedSchedule = Schedule & Pick<ScheduleAnswer, 'lastExecutionStatus'>;

export interface ScheduleInput {
  readonly name: string;
  readonly description?: string;
  readonly skillId: string;
  readonly input: unknown;
  readonly timing: Timing;
  readonly timezone?: string;
  readonly enabled?: boolean;
}

export interface FireLogEntry {
  readonly scheduleId: string;
  readonly scheduleName: string;
  readonly skillId: string;
  readonly scheduledTime: string;
  readonly firedAt: string;
  readonly outcome: FireOutcome | 'requesting';
  readonly trigger: 'schedule' | 'manual';
  readonly owner: string;
  readonly reason?: SkipReason;
  readonly detail?: string;
  readonly executionId?: string;
  /** The run's status when the log is read (not when it was fired); absent once the run is gone. */
  readonly executionStatus?: ExecutionStatus;
  /** For `missed`: how many occurrences were not run, and the first and last of them. */
  readonly missed?: { readonly count: number; readonly first: string; readonly last: string };
}

/** A fire: an occurrence (Scheduler, the ticker), or "fire now" by a user (`Schedules.fireNow`). */
export type FireRequest = {
  readonly tenantId: string;
  readonly scheduleId: string;
  readonly scheduledTime: string;
} & (
  | { readonly trigger?: 'schedule' }
  /** Requested as `by`: the owner, signed in now. */
  | { readonly trigger: 'manual'; readonly by: Caller }
);

export type FireResult =
  | { readonly result: 'unknown' | 'paused' | 'duplicate' | 'early' }
  | { readonly result: 'logged'; readonly entry: FireLogEntry };

export interface SchedulesOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly skills: SkillCatalog;
  readonly executions: Executions;
  readonly directory: Directory;
  readonly scheduler: TenantSchedulerPort;
  readonly tenant: (tenantId: string) => Promise<TenantContext | null>;
  readonly now?: () => Date;
  /**
   * The plan's count of schedules kept (tenancy/quotas.ts): a place is taken, by schedule id, in one
   * conditional write before a schedule is written, and given back when it is deleted — so two
   * concurrent creations never pass the plan's limit together.
   * @default a count of the schedules read before writing (not atomic)
   */
  readonly quota?: ScheduleQuota;
}

/** The part of the plan quotas schedules use. */
export interface ScheduleQuota {
  reserveKept(domain: TenantContext, counter: 'schedules', id: string): Promise<{ release(): Promise<void> }>;
  releaseKept(domain: TenantContext, counter: 'schedules', id: string): Promise<void>;
}

/** Missed occurrences from `first` (included) to `now`: how many (capped) and the last one. */
function missedBetween(
  { nextOccurrence }: Occurrences,
  schedule: Schedule,
  first: Date,
  now: Date,
): { count: number; last: Date } {
  const anchor = new Date(schedule.anchorAt);
  let count = 1;
  let last = first;
  for (; count < MAX_MISSED_COUNTED; count++) {
    const next = nextOccurrence(schedule.timing, schedule.timezone, anchor, last);
    if (next === null || next.getTime() > now.getTime()) break;
    last = next;
  }
  return { count, last };
}

function mayManage(caller: Caller, schedule: Schedule): boolean {
  return caller.permissions.has('schedule:manage') || schedule.owner === caller.username;
}

/**
 * Whether the caller may see a schedule (and its fires): always their own; anyone else's with a
 * schedule permission when they may see its Skill (`skill`: null when it is gone) — a schedule holds
 * the Skill's input and names its runs, which nobody who may not see the Skill reads.
 */
function mayRead(
  caller: Caller,
  schedule: Pick<Schedule, 'owner'>,
  skill: Pick<Skill, 'visibility'> | null,
): boolean {
  if (schedule.owner === caller.username) return true;
  return (
    (caller.permissions.has('schedule:read') || caller.permissions.has('schedule:manage')) &&
    skill !== null &&
    canSee(caller, skill)
  );
}

export class Schedules {
  readonly #store: ScheduleRepository;
  readonly #audit: AuditLog;
  readonly #skills: SkillCatalog;
  readonly #executions: Executions;
  readonly #directory: Directory;
  readonly #scheduler: TenantSchedulerPort;
  readonly #tenant: (tenantId: string) => Promise<TenantContext | null>;
  readonly #now: () => Date;
  readonly #quota: ScheduleQuota;

  constructor(options: SchedulesOptions) {
    this.#quota = options.quota ?? {
      reserveKept: async (domain) => {
        const limit = planLimits(domain.tenant.plan).schedules;
        if ((await this.#all(domain)).length >= limit) {
          throw new PlanLimitError(`The ${domain.tenant.plan} plan keeps at most ${limit} schedules`, {
            extra: { plan: domain.tenant.plan, quota: 'schedules', limit, remaining: 0 },
          });
        }
        return { release: async () => undefined };
      },
      releaseKept: async () => undefined,
    };
    this.#store = new ScheduleRepository(options.table);
    this.#audit = options.audit;
    this.#skills = options.skills;
    this.#executions = options.executions;
    this.#directory = options.directory;
    this.#scheduler = options.scheduler;
    this.#tenant = options.tenant;
    this.#now = options.now ?? (() => new Date());
  }

  // ── definitions ─────────────────────────────────────────────────────────────────────────────

  async create(domain: TenantContext, caller: Caller, input: ScheduleInput): Promise<Schedule> {
    const now = this.#now();
    const definition = await this.#definition(domain, caller, input, now);
    const at = now.toISOString();
    const enabled = input.enabled ?? true;
    const schedule = await this.#withNext({
      id: randomId('sch'),
      ...definition,
      state: enabled ? 'enabled' : 'paused',
      owner: caller.username,
      revision: 1,
      anchorAt: at,
      createdAt: at,
      createdBy: caller.username,
      updatedAt: at,
      updatedBy: caller.username,
    });
    // The plan's place first: a schedule over the plan's count is never written.
    const place = await this.#quota.reserveKept(domain, 'schedules', schedule.id);
    try {
      await this.#store.create(domain, schedule);
    } catch (error) {
      await place.release();
      throw error;
    }
    try {
      await this.#scheduler.put(domain, this.#target(schedule));
    } catch (error) {
      // Nothing half-made: the schedule goes again if the scheduler refused it.
      await this.#store.delete(domain, schedule.id);
      await place.release();
      throw error;
    }
    await this.#auditChange(domain, caller, 'schedule.created', schedule);
    return schedule;
  }

  /** Replaces the definition; the caller becomes the owner (runs are requested as whoever saved last). */
  async update(
    domain: TenantContext,
    caller: Caller,
    id: string,
    input: ScheduleInput,
    expectedRevision?: number,
  ): Promise<Schedule> {
    const current = await this.get(domain, caller, id);
    if (!mayManage(caller, current))
      throw new ForbiddenError('Only the owner or a schedule manager may change it');
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw new ConflictError(`Schedule ${id} is at revision ${current.revision}, not ${expectedRevision}`);
    }
    const now = this.#now();
    const definition = await this.#definition(domain, caller, input, now);
    const enabled = input.enabled ?? current.state === 'enabled';
    const at = now.toISOString();
    const schedule = await this.#withNext({
      // Given another Skill, the last fire (a run of the other) is no longer this schedule's.
      ...(definition.skillId === current.skillId ? current : withoutLastFire(current)),
      ...definition,
      state: enabled ? 'enabled' : 'paused',
      owner: caller.username,
      revision: current.revision + 1,
      anchorAt: at,
      updatedAt: at,
      updatedBy: caller.username,
    });
    await this.#replace(domain, current, schedule);
    await this.#auditChange(domain, caller, 'schedule.updated', schedule);
    return schedule;
  }

  async setEnabled(domain: TenantContext, caller: Caller, id: string, enabled: boolean): Promise<Schedule> {
    const current = await this.get(domain, caller, id);
    if (!mayManage(caller, current))
      throw new ForbiddenError('Only the owner or a schedule manager may change it');
    if (current.state === 'completed' && enabled) {
      throw new ConflictError('A one-time schedule that has fired cannot be resumed; give it a new time');
    }
    if ((current.state === 'enabled') === enabled) return current;
    if (enabled && current.owner !== caller.username && (await this.#owner(domain, current)) === null) {
      // Resumed as it is, it would run as an owner who may not: every fire skipped (`owner-disabled`).
      throw new ConflictError(
        `Its owner ${current.owner} is disabled or was removed, so every fire would be skipped: save the schedule to become its owner, then resume it (or delete it)`,
        { extra: { owner: current.owner } },
      );
    }
    const at = this.#now().toISOString();
    const schedule = await this.#withNext({
      ...current,
      state: enabled ? 'enabled' : 'paused',
      revision: current.revision + 1,
      anchorAt: enabled ? at : current.anchorAt,
      updatedAt: at,
      updatedBy: caller.username,
    });
    await this.#replace(domain, current, schedule);
    await this.#auditChange(domain, caller, enabled ? 'schedule.resumed' : 'schedule.paused', schedule);
    return schedule;
  }

  /**
   * Pauses every enabled schedule of a removed owner (identity.md, *Removing a user*), for the user
   * admin who removed them: a fire would only be skipped (`owner-disabled`) from then on, every time.
   * They are kept, owner and all, for a schedule manager to take over (saving one makes them its
   * owner) or delete. Each is audited as `schedule.paused`. Harmless to repeat.
   */
  async pauseOwnedBy(domain: TenantContext, owner: string, by: Caller): Promise<number> {
    let paused = 0;
    for (const current of await this.#all(domain)) {
      if (current.owner !== owner || current.state !== 'enabled') continue;
      const at = this.#now().toISOString();
      const schedule = await this.#withNext({
        ...current,
        state: 'paused',
        revision: current.revision + 1,
        updatedAt: at,
        updatedBy: by.username,
      });
      await this.#replace(domain, current, schedule);
      await this.#auditChange(domain, by, 'schedule.paused', schedule);
      paused++;
    }
    return paused;
  }

  async remove(domain: TenantContext, caller: Caller, id: string): Promise<void> {
    const current = await this.get(domain, caller, id);
    if (!mayManage(caller, current))
      throw new ForbiddenError('Only the owner or a schedule manager may delete it');
    // Stop it firing first: a schedule that is gone from the table but still fires is only logged nowhere.
    await this.#scheduler.remove(domain, id);
    await this.#store.delete(domain, id);
    await this.#quota.releaseKept(domain, 'schedules', id);
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: 'schedule.deleted',
      target: `schedule:${id}`,
      details: { name: current.name, skillId: current.skillId, owner: current.owner },
    });
  }

  async get(domain: TenantContext, caller: Caller, id: string): Promise<Schedule> {
    const schedule = await this.#find(domain, id);
    const skill =
      schedule === null || schedule.owner === caller.username
        ? null
        : await this.#skills.get(domain, schedule.skillId).catch((error: unknown) => {
            if (error instanceof NotFoundError) return null;
            throw error;
          });
    if (schedule === null || !mayRead(caller, schedule, skill)) {
      throw new NotFoundError(`Schedule ${id} not found`);
    }
    return schedule;
  }

  /** The ids of every schedule a tenant keeps (seeds its plan count). */
  async ids(domain: TenantContext): Promise<string[]> {
    return (await this.#all(domain)).map((schedule) => schedule.id);
  }

  /** One schedule the caller may see, with its last fire's run status as it is now. */
  async show(domain: TenantContext, caller: Caller, id: string): Promise<ListedSchedule> {
    const [shown] = await this.#withRunStatus(domain, [await this.get(domain, caller, id)]);
    return shown as ListedSchedule;
  }

  /**
   * Every schedule the caller may see (a tenant's schedules are bounded by its plan), each with its
   * last fire's run status as it is now.
   */
  async list(domain: TenantContext, caller: Caller): Promise<ListedSchedule[]> {
    const skills = await this.#visibleSkills(domain, caller);
    const visible = (await this.#all(domain)).filter((schedule) =>
      mayRead(caller, schedule, skills.get(schedule.skillId) ?? null),
    );
    return this.#withRunStatus(domain, visible);
  }

  /** The Skills the caller may see, by id, from the catalogue (for lists, as the catalogue's own). */
  async #visibleSkills(domain: TenantContext, caller: Caller): Promise<Map<string, Skill>> {
    return new Map((await this.#skills.listVisible(domain, caller)).map((skill) => [skill.id, skill]));
  }

  /**
   * `schedules`, each with the status its last fire's run has now. A fire's run goes on after the
   * fire: as in the log, the status is read now, in the host's tenant's partition (one batch read
   * per 100 runs; the plan bounds how many schedules).
   */
  async #withRunStatus(domain: TenantContext, schedules: readonly Schedule[]): Promise<ListedSchedule[]> {
    const runOf = (schedule: Schedule) =>
      schedule.lastOutcome === 'ran' ? schedule.lastExecutionId : undefined;
    const statuses = await this.#executions.statuses(
      domain,
      schedules.flatMap((schedule) => runOf(schedule) ?? []),
    );
    return schedules.map((schedule) => {
      const run = runOf(schedule);
      const now = run === undefined ? undefined : statuses.get(run);
      return now === undefined ? schedule : { ...schedule, lastExecutionStatus: now };
    });
  }

  /** The next fire times of a schedule (none while paused). */
  async upcoming(schedule: Schedule, count = UPCOMING): Promise<string[]> {
    if (schedule.state !== 'enabled') return [];
    const { occurrences } = await occurrencesModule();
    return occurrences(
      schedule.timing,
      schedule.timezone,
      new Date(schedule.anchorAt),
      this.#now(),
      count,
    ).map((date) => date.toISOString());
  }

  /** Fire log entries, newest first: one schedule's (`scheduleId`), or the tenant's. */
  async logs(
    domain: TenantContext,
    caller: Caller,
    options: { scheduleId?: string; limit: number; cursor?: string },
  ): Promise<{ items: FireLogEntry[]; cursor?: string }> {
    if (options.scheduleId !== undefined) await this.get(domain, caller, options.scheduleId);
    // Each entry as its schedule would be: a fire of a Skill the caller may not see is not shown.
    const skills = await this.#visibleSkills(domain, caller);
    const page = await this.#store.logPage(domain, options);
    const shown = page.items.filter((entry) => mayRead(caller, entry, skills.get(entry.skillId) ?? null));
    // A fire's run goes on after the fire: the log says where it is now, one batch read per page.
    const statuses = await this.#executions.statuses(
      domain,
      shown.flatMap((entry) => (entry.executionId === undefined ? [] : [entry.executionId])),
    );
    const items = shown.map((entry) => {
      const { executionStatus: _atFire, ...rest } = entry;
      const now = entry.executionId === undefined ? undefined : statuses.get(entry.executionId);
      return now === undefined ? rest : { ...rest, executionStatus: now };
    });
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
  }

  // ── fires ───────────────────────────────────────────────────────────────────────────────────

  /**
   * "Fire now": a run of the schedule's Skill with its input at once, by its owner alone, through
   * the same checks as a fire (as the caller now: `skill:run`, sight of the Skill), logged `manual`
   * and audited as the caller's (`schedule.fired`). Not a schedule manager's: a run asked for through
   * another's schedule is the owner's choice of Skill and input, which the owner could then approve
   * (it ran as the owner, so the manager approved what they had fired; as the manager, the owner
   * approved the input they had written). A manager who saves the schedule becomes its owner and may
   * fire it. Not counted in the plan's scheduled fires: it counts with the day's runs.
   */
  async fireNow(domain: TenantContext, caller: Caller, id: string): Promise<FireResult> {
    const schedule = await this.get(domain, caller, id);
    if (schedule.owner !== caller.username) {
      throw new ForbiddenError(
        `Only its owner (${schedule.owner}) may fire a schedule now; whoever saves it becomes its owner`,
      );
    }
    await this.#skills.getVisible(domain, caller, schedule.skillId);
    if (!caller.permissions.has('skill:run')) {
      throw new ForbiddenError('Firing a schedule needs the permission skill:run', {
        extra: { permission: 'skill:run' },
      });
    }
    // To the second: a second click in the same second is the same fire (answered as a duplicate).
    const now = new Date(Math.floor(this.#now().getTime() / 1000) * 1000);
    const fired = await this.fire({
      tenantId: domain.tenant.id,
      scheduleId: schedule.id,
      scheduledTime: now.toISOString(),
      trigger: 'manual',
      by: caller,
    });
    if (fired.result === 'logged') {
      const { entry } = fired;
      await this.#audit.record(domain, {
        actor: { username: caller.username, via: caller.via },
        action: 'schedule.fired',
        target: `schedule:${schedule.id}`,
        details: {
          scheduledTime: entry.scheduledTime,
          outcome: entry.outcome,
          ...(entry.executionId === undefined ? {} : { executionId: entry.executionId }),
          ...(entry.reason === undefined ? {} : { reason: entry.reason }),
        },
      });
    }
    return fired;
  }

  /**
   * One fire of a schedule, from EventBridge Scheduler, the local ticker, or a user's "fire now".
   * Never throws for the fire's own outcome (it is logged); throws only when the request could not be
   * made (the log says `failed`), or before anything is claimed or logged when the code that computes
   * times could not be loaded (occurrences.ts), so a retry may make it.
   */
  async fire(request: FireRequest): Promise<FireResult> {
    const domain = await this.#tenant(request.tenantId);
    if (domain === null) return { result: 'unknown' };
    const schedule = await this.#find(domain, request.scheduleId);
    if (schedule === null) return { result: 'unknown' };
    const trigger = request.trigger ?? 'schedule';
    const by = request.trigger === 'manual' ? request.by : null;
    if (trigger === 'schedule' && schedule.state !== 'enabled') return { result: 'paused' };
    const now = this.#now();
    const scheduled = new Date(request.scheduledTime);
    if (Number.isNaN(scheduled.getTime())) return { result: 'unknown' };
    const scheduledTime = scheduled.toISOString();
    if (scheduled.getTime() > now.getTime() + EARLY_SKEW_SECONDS * 1000) return { result: 'early' };
    const base = {
      scheduleId: schedule.id,
      scheduleName: schedule.name,
      skillId: schedule.skillId,
      scheduledTime,
      firedAt: now.toISOString(),
      trigger,
      owner: schedule.owner,
    };

    const occurrences = await occurrencesModule();
    const { nextOccurrence } = occurrences;
    if (trigger === 'schedule' && now.getTime() - scheduled.getTime() > MISSED_GRACE_SECONDS * 1000) {
      const anchor = new Date(schedule.anchorAt);
      const { count, last } = missedBetween(occurrences, schedule, scheduled, now);
      const upcoming = nextOccurrence(schedule.timing, schedule.timezone, anchor, now);
      const entry: FireLogEntry = {
        ...base,
        outcome: 'skipped',
        reason: 'missed',
        detail: `Not run: ${counted(count, 'occurrence')} came more than ${MISSED_GRACE_SECONDS / 60} minutes late (the platform was down or the delivery was delayed); the schedule goes on at its next occurrence`,
        missed: { count, first: scheduledTime, last: last.toISOString() },
      };
      if (!(await this.#claim(domain, entry)))
        return this.#duplicate(domain, schedule, scheduledTime, upcoming);
      await this.#advance(domain, schedule, upcoming, entry);
      return { result: 'logged', entry };
    }

    const next =
      trigger === 'schedule'
        ? nextOccurrence(schedule.timing, schedule.timezone, new Date(schedule.anchorAt), scheduled)
        : null;
    if (!(await this.#claim(domain, { ...base, outcome: 'requesting' }))) {
      return trigger === 'schedule'
        ? this.#duplicate(domain, schedule, scheduledTime, next)
        : { result: 'duplicate' };
    }
    if (trigger === 'schedule') await this.#advance(domain, schedule, next, null);
    const skip = async (reason: SkipReason, detail: string) =>
      this.#log(domain, schedule, { ...base, outcome: 'skipped', reason, detail });

    const asking = by ?? (await this.#owner(domain, schedule));
    if (asking === null) {
      return skip('owner-disabled', `The owner ${schedule.owner} is disabled or no longer exists`);
    }
    const caller: Caller = {
      username: asking.username,
      roles: asking.roles,
      permissions: asking.permissions,
      superAdmin: false,
      via: 'schedule',
      credentialId: schedule.id,
      schedule: { id: schedule.id, name: schedule.name },
    };
    const { permissions } = caller;
    const skill = await this.#skills.get(domain, schedule.skillId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (skill === null) return skip('skill-missing', `The Skill ${schedule.skillId} no longer exists`);
    if (!permissions.has('skill:run') || !canSee(caller, skill)) {
      return skip('permission-lost', `${caller.username} may no longer run ${skill.name}`);
    }
    if (trigger === 'schedule' && !(await this.#countFire(domain, now))) {
      const limit = planLimits(domain.tenant.plan).firesPerDay;
      return skip('over-quota', `The ${domain.tenant.plan} plan allows ${limit} scheduled fires a day`);
    }
    let execution: Execution;
    try {
      ({ execution } = await this.#executions.request(
        domain,
        caller,
        schedule.skillId,
        schedule.input,
        `schedule.${schedule.id}.${trigger === 'manual' ? 'manual.' : ''}${Math.floor(scheduled.getTime() / 1000)}`,
      ));
    } catch (error) {
      if (error instanceof TenantSuspendedError) return skip('tenant-suspended', error.message);
      // Too few people may approve the run: it would only wait and expire; nothing was written.
      if (error instanceof ApproversUnavailableError) return skip('approvers-unavailable', error.message);
      if (error instanceof ValidationError) {
        const issues = error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
        return skip('invalid-input', `${error.message}${issues === '' ? '' : ` (${issues})`}`.slice(0, 1000));
      }
      if (
        error instanceof QuotaExceededError ||
        error instanceof RateLimitedError ||
        error instanceof PayloadTooLargeError
      ) {
        return skip('over-quota', error.message);
      }
      if (error instanceof NotFoundError) return skip('permission-lost', error.message);
      // A Skill disabled, archived or not yet published: a rule, not a fault a retry would mend.
      if (error instanceof NotRunnableError) return skip('skill-not-runnable', error.message);
      await this.#log(domain, schedule, {
        ...base,
        outcome: 'failed',
        detail:
          error instanceof ExecFabricError
            ? error.message
            : 'The run could not be requested; it will be tried again',
      });
      throw error;
    }
    return this.#log(domain, schedule, {
      ...base,
      outcome: 'ran',
      executionId: execution.id,
      executionStatus: execution.status,
    });
  }

  /** Enabled schedules of every tenant due at or before `at`, from the sparse index (the local ticker). */
  due(at: Date): AsyncGenerator<DueSchedule> {
    return this.#store.due(at);
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  async #definition(domain: TenantContext, caller: Caller, input: ScheduleInput, now: Date) {
    const name = input.name.trim();
    if (name === '' || name.length > 120) {
      throw new ValidationError('Invalid name', [{ path: 'name', message: '1 to 120 characters' }]);
    }
    if ((input.description ?? '').length > 1000) {
      throw new ValidationError('Description too long', [
        { path: 'description', message: 'at most 1000 characters' },
      ]);
    }
    const timezone = input.timezone ?? 'UTC';
    const { validateTiming } = await occurrencesModule();
    validateTiming(input.timing, timezone, planLimits(domain.tenant.plan).minScheduleMinutes, now);
    const skill = await this.#skills.getVisible(domain, caller, input.skillId).catch((error: unknown) => {
      if (error instanceof NotFoundError) {
        throw new ValidationError('No such Skill', [
          { path: 'skillId', message: 'no Skill you may see has this id' },
        ]);
      }
      throw error;
    });
    if (!caller.permissions.has('skill:run')) {
      throw new ForbiddenError('Scheduling a Skill needs the permission skill:run', {
        extra: { permission: 'skill:run' },
      });
    }
    const value = input.input;
    // What each of its runs gets: an object, within the size and a double's range, checked as a run's.
    runInputJson(value);
    const issues = await this.#skills.inputIssues(domain, skill, value);
    if (issues.length > 0)
      throw new ValidationError('The input does not match the Skill input schema', issues);
    return {
      name,
      description: input.description ?? '',
      skillId: skill.id,
      input: value as Record<string, unknown>,
      timing: input.timing,
      timezone,
    };
  }

  async #withNext(schedule: Schedule): Promise<Schedule> {
    const { nextFireAt: _previous, ...rest } = schedule;
    if (schedule.state !== 'enabled') return rest;
    const { nextOccurrence } = await occurrencesModule();
    const next = nextOccurrence(schedule.timing, schedule.timezone, new Date(schedule.anchorAt), this.#now());
    return next === null ? rest : { ...rest, nextFireAt: next.toISOString() };
  }

  #target(schedule: Schedule) {
    return {
      id: schedule.id,
      name: schedule.name,
      timing: schedule.timing,
      timezone: schedule.timezone,
      enabled: schedule.state === 'enabled',
    };
  }

  /**
   * Writes the new definition, then the scheduler; puts the old one back if the scheduler refused.
   * A schedule given another Skill forgets its last fire (a run of the other Skill).
   */
  async #replace(domain: TenantContext, current: Schedule, schedule: Schedule): Promise<void> {
    await this.#store.replace(domain, schedule, current.revision, {
      dropLastFire: schedule.skillId !== current.skillId,
    });
    try {
      await this.#scheduler.put(domain, this.#target(schedule));
    } catch (error) {
      await this.#store.replace(domain, current, schedule.revision);
      throw error;
    }
  }

  async #find(domain: TenantContext, id: string): Promise<Schedule | null> {
    if (!SCHEDULE_ID_PATTERN.test(id)) return null;
    return this.#store.find(domain, id);
  }

  async #all(domain: TenantContext): Promise<Schedule[]> {
    return (await this.#store.all(domain)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** When a log entry written now expires. */
  #logExpiry(): number {
    return Math.floor(this.#now().getTime() / 1000) + LOG_RETENTION_SECONDS;
  }

  /** Takes the fire's log entry: false when it was taken before (a duplicate delivery). A failed
   * request may be taken again by its retry. */
  #claim(domain: TenantContext, entry: FireLogEntry): Promise<boolean> {
    return this.#store.claimLog(domain, entry, this.#logExpiry());
  }

  async #log(domain: TenantContext, schedule: Schedule, entry: FireLogEntry): Promise<FireResult> {
    await this.#store.putLog(domain, entry, this.#logExpiry());
    // A schedule deleted meanwhile is not noted: the log entry stands on its own.
    if (entry.outcome !== 'requesting') {
      await this.#store.markFired(domain, schedule.id, { ...entry, outcome: entry.outcome });
    }
    return { result: 'logged', entry };
  }

  /** The owner a fire asks as, with their permissions now: null when disabled or gone. */
  async #owner(
    domain: TenantContext,
    schedule: Schedule,
  ): Promise<Pick<Caller, 'username' | 'roles' | 'permissions'> | null> {
    const owner = await this.#directory.getUser(domain, schedule.owner);
    if (owner === null || owner.disabled) return null;
    return {
      username: owner.username,
      roles: owner.roles,
      permissions: await this.#directory.permissionsOf(domain, owner.roles),
    };
  }

  /**
   * An occurrence whose log entry is taken already (a second delivery, or the retry of a fire that
   * stopped between its entry and moving the schedule on): nothing runs again, but a schedule still
   * waiting on this time is moved on, or the ticker would deliver the same time for ever.
   */
  async #duplicate(
    domain: TenantContext,
    schedule: Schedule,
    scheduledTime: string,
    next: Date | null,
  ): Promise<FireResult> {
    if (schedule.nextFireAt === scheduledTime) await this.#advance(domain, schedule, next, null);
    return { result: 'duplicate' };
  }

  /** Moves the schedule's next fire time on (a one-time schedule completes). */
  async #advance(
    domain: TenantContext,
    schedule: Schedule,
    next: Date | null,
    missed: FireLogEntry | null,
  ): Promise<void> {
    // A one-time schedule completes. Changed meanwhile (edited, paused, deleted): its own write set
    // the next fire time.
    await this.#store.advance(
      domain,
      schedule.id,
      schedule.revision,
      schedule.timing.kind === 'once' || next === null ? null : { nextFireAt: next.toISOString() },
    );
    if (missed !== null) await this.#log(domain, schedule, missed);
  }

  async #countFire(domain: TenantContext, now: Date): Promise<boolean> {
    // The day's counter is kept three days.
    return this.#store.countFire(
      domain,
      now.toISOString().slice(0, 10),
      planLimits(domain.tenant.plan).firesPerDay,
      Math.floor(now.getTime() / 1000) + 3 * 86_400,
    );
  }

  async #auditChange(
    domain: TenantContext,
    caller: Caller,
    action: string,
    schedule: Schedule,
  ): Promise<void> {
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action,
      target: `schedule:${schedule.id}`,
      details: {
        name: schedule.name,
        skillId: schedule.skillId,
        timing: schedule.timing,
        timezone: schedule.timezone,
        state: schedule.state,
        owner: schedule.owner,
        revision: schedule.revision,
      },
    });
  }
}
