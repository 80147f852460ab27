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

/**
 * What a Skill's script may reach, as it declares it: HTTP resources (`egress`, resource ids) it may
 * call through `ctx.http`, collections of the tenant's extension data (`ctx.data`) and tenant
 * parameters (`ctx.params`). Each entry is at most MAX_DECLARED_NAME_LENGTH characters.
 */
export const MAX_EGRESS = 16;
export const MAX_SKILL_COLLECTIONS = 16;
export const MAX_SKILL_PARAMETERS = 32;
export const MAX_DECLARED_NAME_LENGTH = 64;
/** A tenant parameter's key: a letter, then letters, digits, `_`, `.` and `-` (at most 64). */
export const PARAMETER_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Tags group Skills (an AI client may be given every Skill with a tag): lowercase slugs. */
export const SKILL_TAG_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const MAX_SKILL_TAGS = 20;

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
