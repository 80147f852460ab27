/**
 * What each plan allows a tenant, in one place. The plans are the contract's `PLANS`: the APIs refuse
 * any other name (super-admins set a plan, orders and conversions name a paid one). A tenant stored
 * with a name from before that check gets the `standard` limits, so it is never locked out. Every
 * limit is enforced at its edge and documented (docs/ctx.md, docs/decisions/schedules.md).
 *
 * `concurrentRuns`: script jobs of one tenant running at once. The dispatcher holds every other job
 * of that tenant back (it waits on the queue), so one tenant's flood never takes more than its share
 * of the workers and another tenant's run waits for at most one job slot.
 *
 * Extension data (`ctx.data`): collections, records and bytes per tenant, bytes per record.
 * Schedules: how many, how often one may fire, how many fires a tenant may request per UTC day.
 *
 * `pendingApprovals`: runs waiting for approval at once (10 free, 50 trial and standard, 100
 * professional, 200 enterprise), counted by run id as they start and stop waiting; the approvals
 * inbox is read a page at a time, and this keeps what it pages through bounded too.
 *
 * The free personal edition's own quotas (docs/decisions/free-edition.md), `null` where a plan has
 * none: runs requested per UTC day (counted atomically when requested, refused with 429 past it),
 * Skills kept (archived ones give their place back), users kept (disabled ones count), the largest
 * script version, and whether Skills may use HTTP resources at all (refused with 403 when not).
 * Enforced by `quotas.ts`.
 *
 * `users`: 3 on the free plan — a personal space is for one person (its owner, the first user), with
 * room for a second account of their own (an operator-only login for an agent, a test user) and a
 * guest; a team is what a paid plan is for, and converting the space lifts the limit.
 */
import { isPlan, type Plan } from '../../contract/tenancy.ts';

export interface PlanLimits {
  readonly concurrentRuns: number;
  /** Collections a tenant may define. */
  readonly collections: number;
  /** Records across all collections. */
  readonly records: number;
  /** Bytes of record JSON across all collections. */
  readonly dataBytes: number;
  /** Bytes of one record's JSON. */
  readonly recordBytes: number;
  /** Schedules a tenant may keep (paused ones count). */
  readonly schedules: number;
  /** Shortest interval between two fires of one schedule, in minutes. */
  readonly minScheduleMinutes: number;
  /** Scheduled fires a tenant may request per UTC day; later fires are skipped as over quota. */
  readonly firesPerDay: number;
  /** Runs a tenant may request per UTC day (every way of asking counts: API, MCP, schedules); null: no daily limit. */
  readonly runsPerDay: number | null;
  /** Skills a tenant may keep (archived ones do not count); null: no limit. */
  readonly skills: number | null;
  /** Users a tenant may keep (disabled ones count, as paused schedules do); null: no limit. */
  readonly users: number | null;
  /** Largest script version, in UTF-8 bytes (never above the platform's own MAX_SCRIPT_BYTES). */
  readonly scriptBytes: number;
  /** Whether Skills may be bound to HTTP resources or call them (`egress`). */
  readonly httpAssets: boolean;
  /**
   * Runs that may wait for approval in a tenant at once (executions/pending-cap.ts): a request past
   * it is refused with 429 until one is decided, cancelled, expired or invalidated.
   */
  readonly pendingApprovals: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;

const FREE_DATA = {
  collections: 3,
  records: 1_000,
  dataBytes: 5 * MIB,
  recordBytes: 16 * KIB,
  schedules: 3,
  minScheduleMinutes: 15,
  firesPerDay: 100,
} as const;

/** The free plan's own quotas: a personal space, kept small so the edition stays free. */
const FREE_QUOTAS = {
  runsPerDay: 100,
  skills: 10,
  users: 3,
  scriptBytes: 32 * KIB,
  httpAssets: false,
} as const;

/** Paid plans: no daily run limit, no Skill or user limit, the platform's largest script, HTTP resources. */
const PAID_QUOTAS = {
  runsPerDay: null,
  skills: null,
  users: null,
  scriptBytes: 256 * KIB,
  httpAssets: true,
} as const;

const STANDARD_DATA = {
  collections: 25,
  records: 100_000,
  dataBytes: 200 * MIB,
  recordBytes: 64 * KIB,
  schedules: 50,
  minScheduleMinutes: 1,
  firesPerDay: 5_000,
} as const;

const ENTERPRISE_DATA = {
  collections: 100,
  records: 1_000_000,
  dataBytes: 2048 * MIB,
  recordBytes: 256 * KIB,
  schedules: 500,
  minScheduleMinutes: 1,
  firesPerDay: 50_000,
} as const;

export const PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = {
  free: { concurrentRuns: 1, ...FREE_DATA, ...FREE_QUOTAS, pendingApprovals: 10 },
  trial: { concurrentRuns: 2, ...STANDARD_DATA, ...PAID_QUOTAS, pendingApprovals: 50 },
  standard: { concurrentRuns: 2, ...STANDARD_DATA, ...PAID_QUOTAS, pendingApprovals: 50 },
  professional: { concurrentRuns: 4, ...STANDARD_DATA, ...PAID_QUOTAS, pendingApprovals: 100 },
  enterprise: { concurrentRuns: 8, ...ENTERPRISE_DATA, ...PAID_QUOTAS, pendingApprovals: 200 },
};

export const DEFAULT_PLAN: Plan = 'standard';

export { FREE_PLAN } from '../../contract/tenancy.ts';

export function planLimits(plan: string): PlanLimits {
  return isPlan(plan) ? PLAN_LIMITS[plan] : PLAN_LIMITS[DEFAULT_PLAN];
}
