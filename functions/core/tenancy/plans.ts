/**
 * What each plan allows a tenant, in one place. Plans are free-form names on a tenant (set by
 * super-admins and by orders); a plan not listed here gets the `standard` limits.
 *
 * `concurrentRuns`: script jobs of one tenant running at once. The dispatcher holds every other job
 * of that tenant back (it waits on the queue), so one tenant's flood never takes more than its share
 * of the workers and another tenant's run waits for at most one job slot.
 */
export interface PlanLimits {
  readonly concurrentRuns: number;
}

export const PLAN_LIMITS: Readonly<Record<string, PlanLimits>> = {
  free: { concurrentRuns: 1 },
  trial: { concurrentRuns: 2 },
  standard: { concurrentRuns: 2 },
  professional: { concurrentRuns: 4 },
  enterprise: { concurrentRuns: 8 },
};

export const DEFAULT_PLAN = 'standard';

export function planLimits(plan: string): PlanLimits {
  return PLAN_LIMITS[plan] ?? (PLAN_LIMITS[DEFAULT_PLAN] as PlanLimits);
}
