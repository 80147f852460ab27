/**
 * What each plan allows a tenant, in one place. Plans are free-form names on a tenant (set by
 * super-admins and by orders); a plan not listed here gets the `standard` limits, so a new plan name
 * never locks a tenant out. Every limit is enforced at its edge and documented (docs/ctx.md,
 * docs/decisions/schedules.md).
 *
 * `concurrentRuns`: script jobs of one tenant running at once. The dispatcher holds every other job
 * of that tenant back (it waits on the queue), so one tenant's flood never takes more than its share
 * of the workers and another tenant's run waits for at most one job slot.
 *
 * Extension data (`ctx.data`): collections, records and bytes per tenant, bytes per record.
 * Schedules: how many, how often one may fire, how many fires a tenant may request per UTC day.
 */
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

export const PLAN_LIMITS: Readonly<Record<string, PlanLimits>> = {
  free: { concurrentRuns: 1, ...FREE_DATA },
  trial: { concurrentRuns: 2, ...STANDARD_DATA },
  standard: { concurrentRuns: 2, ...STANDARD_DATA },
  professional: { concurrentRuns: 4, ...STANDARD_DATA },
  enterprise: { concurrentRuns: 8, ...ENTERPRISE_DATA },
};

export const DEFAULT_PLAN = 'standard';

export function planLimits(plan: string): PlanLimits {
  return PLAN_LIMITS[plan] ?? (PLAN_LIMITS[DEFAULT_PLAN] as PlanLimits);
}
