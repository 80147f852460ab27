/**
 * The plan quotas of a tenant (plans.ts), enforced where they are used and shown with what is left.
 *
 * Counted quotas are one item per counter holding the *set* of what it counts (run ids of one UTC
 * day, the ids of the Skills, schedules or users kept), changed only by single-item conditional writes: a reservation
 * adds its id if the set is smaller than the limit or already holds it. So concurrent requests can
 * never pass the limit together (the store decides, not a read before a write), a retried request
 * (same run id after an idempotent replay, same Skill) never counts twice, and giving a place back
 * (a run that was not recorded after all, an archived Skill) removes exactly that id. dynalite has
 * no transactions; none are needed.
 *
 * Plan capabilities (HTTP resources, the largest script) are checks of the plan alone: they refuse
 * with PlanLimitError (403 `plan-limit`), a per-day quota with QuotaExceededError (429, and when the
 * day resets).
 */
import type { Table } from '../db.ts';
import { PlanLimitError, QuotaExceededError } from '../errors.ts';
import { readableUtc } from '../governance/dates.ts';
import { type Key, tenantUsageKey, usageKey } from '../keys.ts';
import type { TenantContext } from './domain.ts';
import { type PlanLimits, planLimits } from './plans.ts';
import { UsageRepository } from './usage-repository.ts';

const DAY_MS = 86_400_000;
/** Most attempts to seed a counter that several requests find missing at once. */
const MAX_SEED_ATTEMPTS = 5;

/** One quota as a tenant sees it: `limit` and `remaining` are null where the plan has no limit. */
export interface QuotaView {
  readonly used: number;
  readonly limit: number | null;
  readonly remaining: number | null;
}

/** `GET /api/usage`: the plan, each quota with what is left, and what the plan allows at all. */
export interface PlanUsage {
  readonly plan: string;
  /** The UTC day the daily quotas count, and when they start again. */
  readonly day: string;
  readonly resetsAt: string;
  readonly runsToday: QuotaView;
  readonly skills: QuotaView;
  readonly schedules: QuotaView;
  /** Users kept, disabled ones too. */
  readonly users: QuotaView;
  readonly allows: {
    readonly httpAssets: boolean;
    readonly scriptBytes: number;
    readonly concurrentRuns: number;
    readonly scheduledFiresPerDay: number;
    readonly collections: number;
    /** Runs that may wait for approval at once (executions/pending-cap.ts). */
    readonly pendingApprovals: number;
  };
}

/** A place taken in a counted quota; `release` gives it back (a no-op where nothing was counted). */
export interface QuotaReservation {
  release(): Promise<void>;
}

const NOTHING_RESERVED: QuotaReservation = { release: async () => undefined };

function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

function nextUtcMidnight(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS);
}

function view(used: number, limit: number | null): QuotaView {
  return { used, limit, remaining: limit === null ? null : Math.max(0, limit - used) };
}

/**
 * The largest script a plan allows. Callers check the platform's own limit first (413); a script
 * within it but above the plan's is the plan's refusal (403).
 */
export function assertScriptSizeAllowed(plan: string, bytes: number): void {
  const limit = planLimits(plan).scriptBytes;
  if (bytes > limit) {
    throw new PlanLimitError(
      `The ${plan} plan allows scripts of at most ${limit} bytes; this one has ${bytes}`,
      { extra: { plan, limit, requested: bytes, quota: 'scriptBytes' } },
    );
  }
}

/** Whether a plan lets Skills use HTTP resources (bound to one, or calling one through `ctx.http`). */
export function assertHttpAssetsAllowed(plan: string, what: string): void {
  if (planLimits(plan).httpAssets) return;
  throw new PlanLimitError(`The ${plan} plan has no HTTP resources: ${what} is not available on it`, {
    extra: { plan, quota: 'httpAssets' },
  });
}

/** What a plan counts by the ids kept: Skills (not archived), schedules (paused ones too), users (disabled ones too). */
export type KeptCounter = 'skills' | 'schedules' | 'users';

/** The ids a tenant keeps of one counted kind, read from the items themselves. */
export type KeptIds = (domain: TenantContext) => Promise<readonly string[]>;

const KEPT_NAMES: Readonly<Record<KeptCounter, string>> = {
  skills: 'Skills',
  schedules: 'schedules',
  users: 'users',
};
const KEPT_HINTS: Readonly<Record<KeptCounter, string>> = {
  skills: 'archive one to make room',
  schedules: 'delete one to make room',
  users:
    'disabled users count too. For more, a free space is converted to a standard tenant: ask the platform team',
};

const KEPT_COUNTERS: readonly KeptCounter[] = ['skills', 'schedules', 'users'];

/**
 * Forgets the counters a tenant's move from plan `from` to plan `to` leaves stale: a counter is kept
 * only while a plan limits what it counts (a paid plan counts no Skills nor users), so one the new
 * plan limits and the old did not still holds the count of the tenant's earlier limited days, or of
 * none. Forgotten, it is seeded again from what the tenant keeps when next needed (`reserve`), and the
 * limit holds against the real count. Called before the plan is written: a change that then fails
 * only makes the next reservation count again.
 */
export async function forgetStaleKeptCounts(
  table: Table,
  tenantId: string,
  from: string,
  to: string,
): Promise<KeptCounter[]> {
  const before = planLimits(from);
  const after = planLimits(to);
  const stale = KEPT_COUNTERS.filter((counter) => before[counter] === null && after[counter] !== null);
  const usage = new UsageRepository(table);
  for (const counter of stale) await usage.forget(tenantUsageKey(tenantId, counter));
  return stale;
}

export interface KeptQuotaOptions<C extends KeptCounter> {
  readonly table: Table;
  readonly counter: C;
  /** Seeds the counter the first time it is needed, and answers the usage view where the plan counts nothing. */
  readonly keptIds: KeptIds;
  /**
   * Those of a full counter's ids that are kept no more *for good* (a removed user: never made
   * again), whose place a crash left taken: taken out when the counter is found full, and the
   * reservation tried again. Never an id that may still be written (a creation under way). @default none
   */
  readonly goneForGood?: (domain: TenantContext, ids: readonly string[]) => Promise<readonly string[]>;
  readonly now?: () => Date;
}

/**
 * One quota counted by the ids a tenant keeps (see the module comment). On its own so that what keeps
 * them can count them where it is built: the directory counts its users in the sign-in core, which
 * builds no Skills; PlanQuotas holds one of each for the rest and for the usage view.
 */
export class KeptQuota<C extends KeptCounter = KeptCounter> {
  readonly counter: C;
  readonly #usage: UsageRepository;
  readonly #now: () => Date;
  readonly #keptIds: KeptIds;
  readonly #goneForGood: NonNullable<KeptQuotaOptions<C>['goneForGood']>;

  constructor(options: KeptQuotaOptions<C>) {
    this.counter = options.counter;
    this.#goneForGood = options.goneForGood ?? (async () => []);
    this.#usage = new UsageRepository(options.table);
    this.#now = options.now ?? (() => new Date());
    this.#keptIds = options.keptIds;
  }

  /**
   * Takes a place among those the plan lets a tenant keep, for `id` (a no-op when it already holds
   * one). Refused with 403 when every place is taken.
   */
  async reserve(domain: TenantContext, id: string): Promise<QuotaReservation> {
    const counter = this.counter;
    const limit = planLimits(domain.tenant.plan)[counter];
    if (limit === null) return NOTHING_RESERVED;
    const key = usageKey(domain, counter);
    let mended = false;
    for (let attempt = 1; attempt <= MAX_SEED_ATTEMPTS; attempt++) {
      if (await this.#usage.reserveSeeded(key, id, limit))
        return { release: () => this.#usage.remove(key, id) };
      const count = await this.#usage.held(key);
      // Seeded by another request since this one tried, with room left: try again.
      if (count?.seeded === true && count.size < limit) continue;
      if (count?.seeded === true && !mended) {
        // Full: places a crash left taken by what is gone for good are given back, once, then again.
        mended = true;
        const gone = await this.#goneForGood(domain, count.ids.slice(0, 100));
        if (gone.length > 0) {
          await this.#usage.removeAll(key, gone);
          continue;
        }
      }
      if (count?.seeded === true) {
        throw new PlanLimitError(
          `The ${domain.tenant.plan} plan keeps at most ${limit} ${KEPT_NAMES[counter]}; ${KEPT_HINTS[counter]}`,
          { extra: { plan: domain.tenant.plan, quota: counter, limit, remaining: 0 } },
        );
      }
      await this.#seed(domain, key);
    }
    throw new QuotaExceededError(`The count of ${KEPT_NAMES[counter]} kept changing; retry`);
  }

  /** Gives a place back (a Skill archived, a schedule deleted, a creation that failed). */
  async release(domain: TenantContext, id: string): Promise<void> {
    if (planLimits(domain.tenant.plan)[this.counter] === null) return;
    await this.#usage.remove(usageKey(domain, this.counter), id);
  }

  /** How many the tenant keeps: the counter where the plan counts them, else the items themselves. */
  async used(domain: TenantContext): Promise<number> {
    const counted =
      planLimits(domain.tenant.plan)[this.counter] === null
        ? null
        : await this.#usage.counter(usageKey(domain, this.counter));
    return counted?.size ?? (await this.#keptIds(domain)).length;
  }

  /**
   * The first count of what a tenant keeps (a tenant that kept Skills, schedules or users before its
   * plan counted them): written only if no one wrote it meanwhile, from what it keeps now. Every
   * creation after it goes through the counter.
   */
  async #seed(domain: TenantContext, key: Key): Promise<void> {
    // Seeded by another request meanwhile: its count holds.
    await this.#usage.seed(key, await this.#keptIds(domain), this.#now().toISOString());
  }
}

export interface PlanQuotasOptions {
  readonly table: Table;
  readonly now?: () => Date;
  /**
   * The ids a tenant keeps of each counted kind, read from the items themselves: seeds a counter
   * the first time it is needed, and answers the usage view where the plan counts nothing.
   */
  readonly keptIds: Readonly<Record<KeptCounter, KeptIds>>;
}

export class PlanQuotas {
  readonly #usage: UsageRepository;
  readonly #now: () => Date;
  readonly #kept: { readonly [C in KeptCounter]: KeptQuota<C> };

  constructor(options: PlanQuotasOptions) {
    const { table, keptIds } = options;
    this.#usage = new UsageRepository(table);
    this.#now = options.now ?? (() => new Date());
    const now = this.#now;
    this.#kept = {
      skills: new KeptQuota({ table, now, counter: 'skills', keptIds: keptIds.skills }),
      schedules: new KeptQuota({ table, now, counter: 'schedules', keptIds: keptIds.schedules }),
      users: new KeptQuota({ table, now, counter: 'users', keptIds: keptIds.users }),
    };
  }

  /**
   * Takes one of the day's runs for `executionId` (again, harmlessly, for a replay of the same run).
   * Refused with 429 once the plan's runs of this UTC day are all taken.
   */
  async reserveRun(domain: TenantContext, executionId: string): Promise<QuotaReservation> {
    const limits = planLimits(domain.tenant.plan);
    if (limits.runsPerDay === null) return NOTHING_RESERVED;
    const now = this.#now();
    const key = usageKey(domain, 'runs', utcDay(now));
    const resetsAt = nextUtcMidnight(now);
    const expiresAtEpoch = Math.floor(resetsAt.getTime() / 1000) + 2 * 86_400;
    if (!(await this.#usage.reservePeriod(key, executionId, limits.runsPerDay, expiresAtEpoch))) {
      const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
      throw new QuotaExceededError(
        `The ${domain.tenant.plan} plan allows ${limits.runsPerDay} runs a day and today's are used up; they start again at ${readableUtc(resetsAt.toISOString()) ?? resetsAt.toISOString()}`,
        {
          extra: {
            plan: domain.tenant.plan,
            quota: 'runsPerDay',
            limit: limits.runsPerDay,
            remaining: 0,
            resetsAt: resetsAt.toISOString(),
            retryAfterSeconds,
          },
        },
      );
    }
    return { release: () => this.#usage.remove(key, executionId) };
  }

  /** A place among the Skills the plan lets a tenant keep (see `reserveKept`). */
  reserveSkill(domain: TenantContext, skillId: string): Promise<QuotaReservation> {
    return this.reserveKept(domain, 'skills', skillId);
  }

  releaseSkill(domain: TenantContext, skillId: string): Promise<void> {
    return this.releaseKept(domain, 'skills', skillId);
  }

  /**
   * Takes a place among the Skills, schedules or users the plan lets a tenant keep, for `id` (a no-op
   * when it already holds one). Refused with 403 when every place is taken.
   */
  reserveKept(domain: TenantContext, counter: KeptCounter, id: string): Promise<QuotaReservation> {
    return this.#kept[counter].reserve(domain, id);
  }

  /** Gives a place back (a Skill archived, a schedule deleted, a creation that failed). */
  releaseKept(domain: TenantContext, counter: KeptCounter, id: string): Promise<void> {
    return this.#kept[counter].release(domain, id);
  }

  /** The plan, each quota with what is left, and what the plan allows. */
  async usage(domain: TenantContext): Promise<PlanUsage> {
    const limits: PlanLimits = planLimits(domain.tenant.plan);
    const now = this.#now();
    const [runs, skills, schedules, users] = await Promise.all([
      this.#counted(usageKey(domain, 'runs', utcDay(now))),
      this.#kept.skills.used(domain),
      this.#kept.schedules.used(domain),
      this.#kept.users.used(domain),
    ]);
    return {
      plan: domain.tenant.plan,
      day: utcDay(now),
      resetsAt: nextUtcMidnight(now).toISOString(),
      runsToday: limits.runsPerDay === null ? view(runs ?? 0, null) : view(runs ?? 0, limits.runsPerDay),
      skills: view(skills, limits.skills),
      schedules: view(schedules, limits.schedules),
      users: view(users, limits.users),
      allows: {
        httpAssets: limits.httpAssets,
        scriptBytes: limits.scriptBytes,
        concurrentRuns: limits.concurrentRuns,
        scheduledFiresPerDay: limits.firesPerDay,
        collections: limits.collections,
        pendingApprovals: limits.pendingApprovals,
      },
    };
  }

  /** The size of a counter's set, or null when the counter does not exist. */
  async #counted(key: Key): Promise<number | null> {
    return (await this.#usage.counter(key))?.size ?? null;
  }
}
