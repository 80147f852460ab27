/** A tenant's lifecycle statuses: only trial, active and grace tenants run things. */
export const TENANT_STATUSES = ['trial', 'active', 'grace', 'suspended', 'archived'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/**
 * The plans a tenant may be on; each has its limits in `functions/core/tenancy/plans.ts`. Super-admins
 * set one of these on a tenant; orders and conversions name a paid one (`free` is the personal
 * edition's, given by sign-up). Any other name is refused (422), so a typo cannot give a tenant
 * limits nobody chose.
 */
export const PLANS = ['free', 'trial', 'standard', 'professional', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** The plan of a personal space made by self-serve sign-up on the free entry. */
export const FREE_PLAN = 'free' satisfies Plan;

/** The plans an order (a renewal or a free space's conversion) may name: every plan but `free`. */
export const PAID_PLANS = [
  'trial',
  'standard',
  'professional',
  'enterprise',
] as const satisfies readonly Plan[];
export type PaidPlan = (typeof PAID_PLANS)[number];

/** Whether `name` is one of `names` (a plan list), typed as one. */
function oneOf<const T extends string>(names: readonly T[], name: string): name is T {
  return (names as readonly string[]).includes(name);
}

export function isPlan(name: string): name is Plan {
  return oneOf(PLANS, name);
}

export function isPaidPlan(name: string): name is PaidPlan {
  return oneOf(PAID_PLANS, name);
}

/**
 * The `expiresAt` of a free personal space: it has no paid period and never expires (no lifecycle
 * scan is ever due for it). Clients show it as "never", not as a date.
 */
export const PERSONAL_SPACE_EXPIRY = '9999-12-31T00:00:00.000Z';

/** The public domain's surfaces: the governance console, the free entry, the docs site. */
export const PUBLIC_SURFACES = ['governance', 'free', 'docs'] as const;
export type PublicSurface = (typeof PUBLIC_SURFACES)[number];

/**
 * How far ahead of the platform's clock the "as of" instant of a lifecycle scan run by hand
 * (`POST /api/lifecycle/run {now}`) may be: the caller's clock may run a little fast, nothing more.
 */
export const SCAN_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * How far back that instant may be, in days: the reminders' catch-up window (an older reminder is
 * moot; the expiry shutdown catches up on every tenant due whatever the instant).
 */
export const SCAN_MAX_PAST_DAYS = 31;
