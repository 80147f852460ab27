/**
 * The rules a Skill definition is held to (risks, approval counts, limit bounds) and the availability
 * states of what runs, as plain data: the platform enforces them, the CLI checks a manifest against
 * them before it pushes anything, and the fronts offer only what they allow.
 */
export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISKS)[number];
export const APPROVALS = ['none', 'one', 'two'] as const;
export type ApprovalRule = (typeof APPROVALS)[number];

/** Fewest approvals a risk allows; a Skill may demand more, never fewer. */
export const MIN_APPROVALS: Readonly<Record<Risk, number>> = { low: 0, medium: 1, high: 2, critical: 2 };
export const APPROVAL_COUNT: Readonly<Record<ApprovalRule, number>> = { none: 0, one: 1, two: 2 };

export const LIMIT_BOUNDS = {
  timeoutSeconds: { min: 1, max: 240, default: 30 },
  memoryMb: { min: 64, max: 1024, default: 256 },
} as const;

/** The approval rule a Skill gets when its definition names none: the least its risk allows. */
export function defaultApproval(risk: Risk): ApprovalRule {
  return APPROVALS[MIN_APPROVALS[risk]] ?? 'two';
}

/**
 * Whether a Skill, a script or an HTTP resource may be used: `active`, `disabled` (a pause: kept in
 * sight, runs refused) or `archived` (out of the default lists, runs refused).
 */
export const AVAILABILITY_STATES = ['active', 'disabled', 'archived'] as const;
export type AvailabilityState = (typeof AVAILABILITY_STATES)[number];

/** How urgent an announcement is. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
