/**
 * What a tenant's plan allows of the resources that grow with use: extension data (collections,
 * records, bytes) and schedules (how many, how often, how many fires a day). Plans are named on the
 * tenant record by the governance domain; a name this table does not know gets the `standard` limits,
 * so a new plan name never locks a tenant out. Every limit is enforced at its edge and documented in
 * docs/ctx.md and docs/decisions/schedules.md.
 */

export interface PlanLimits {
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

export const PLAN_LIMITS: Readonly<Record<string, PlanLimits>> = {
  free: {
    collections: 3,
    records: 1_000,
    dataBytes: 5 * MIB,
    recordBytes: 16 * KIB,
    schedules: 3,
    minScheduleMinutes: 15,
    firesPerDay: 100,
  },
  standard: {
    collections: 25,
    records: 100_000,
    dataBytes: 200 * MIB,
    recordBytes: 64 * KIB,
    schedules: 50,
    minScheduleMinutes: 1,
    firesPerDay: 5_000,
  },
  enterprise: {
    collections: 100,
    records: 1_000_000,
    dataBytes: 2048 * MIB,
    recordBytes: 256 * KIB,
    schedules: 500,
    minScheduleMinutes: 1,
    firesPerDay: 50_000,
  },
};

export const DEFAULT_PLAN = 'standard';

export function planLimits(plan: string): PlanLimits {
  return PLAN_LIMITS[plan] ?? (PLAN_LIMITS[DEFAULT_PLAN] as PlanLimits);
}
