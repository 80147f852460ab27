/**
 * The error taxonomy of the governance core. Every failure the core reports is one of these; the
 * HTTP edge (functions/http/problem.ts) maps each `code` to a status and an application/problem+json
 * body. Nothing in the core knows about HTTP status codes.
 */

import { SESSION_END_DETAIL, SESSION_ENDED_PROBLEM, type SessionEndReason } from '../contract/identity.ts';

export interface FieldIssue {
  /** JSON pointer-ish path of the offending field, `''` for the whole body. */
  readonly path: string;
  readonly message: string;
  /** Where in the field's text the problem is (1-based), when the field is source code. */
  readonly line?: number;
  readonly column?: number;
}

export abstract class ExecFabricError extends Error {
  /** Stable machine-readable slug; becomes the problem `type`. */
  abstract readonly code: string;
  /** Extra members copied into the problem body (never secrets). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(message: string, options: { cause?: unknown; extra?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.extra = options.extra ?? {};
  }
}

/** The request body or parameters are well-formed but break a rule. */
export class ValidationError extends ExecFabricError {
  readonly code = 'validation-failed';
  readonly issues: readonly FieldIssue[];
  constructor(message: string, issues: readonly FieldIssue[] = [], options: { cause?: unknown } = {}) {
    super(message, options);
    this.issues = issues;
  }
}

/** The request could not be parsed at all (malformed JSON, wrong framing). */
export class MalformedRequestError extends ExecFabricError {
  readonly code = 'malformed-request';
}

export class PayloadTooLargeError extends ExecFabricError {
  readonly code = 'payload-too-large';
  constructor(what: string, limitBytes: number) {
    super(`${what} exceeds the limit of ${limitBytes} bytes`, { extra: { limitBytes } });
  }
}

export class UnsupportedMediaTypeError extends ExecFabricError {
  readonly code = 'unsupported-media-type';
}

export class NotFoundError extends ExecFabricError {
  readonly code: string = 'not-found';
}

/** No domain is bound to the request's host. Touches no tenant data by construction. */
export class UnknownHostError extends NotFoundError {
  override readonly code = 'unknown-host';
  constructor() {
    super('No ExecFabric domain is bound to this host');
  }
}

export class RouteNotFoundError extends NotFoundError {
  override readonly code = 'route-not-found';
}

export class MethodNotAllowedError extends ExecFabricError {
  readonly code = 'method-not-allowed';
  readonly allow: readonly string[];
  constructor(allow: readonly string[]) {
    super(`Method not allowed; allowed: ${allow.join(', ')}`, { extra: { allow } });
    this.allow = allow;
  }
}

export class ConflictError extends ExecFabricError {
  readonly code: string = 'conflict';
}

/**
 * A Skill, script or HTTP resource is disabled or archived, so runs of it are refused until someone
 * restores it. `extra` names what (`subject`), its `state` and its `id`.
 */
export class NotRunnableError extends ConflictError {
  override readonly code = 'not-runnable';
}

/**
 * A run needs more distinct approvers than the tenant has: fewer active users other than the
 * requester hold `approval:decide` and may see the Skill (or, for a critical run, none of them is
 * an admin). Such a run could only wait and expire, so it is refused before anything is written;
 * `extra` says how many approvals it needs and how many approvers there are.
 */
export class ApproversUnavailableError extends ConflictError {
  override readonly code = 'approvers-unavailable';
}

/**
 * Removing this user would leave the domain with no active user who may manage users (`user:manage`):
 * nobody could then make, restore or remove users there over the API.
 */
export class LastUserAdminError extends ConflictError {
  override readonly code = 'last-user-admin';
}

export class AuthenticationError extends ExecFabricError {
  readonly code: string = 'unauthenticated';
  /** The answer's `WWW-Authenticate` challenge (RFC 6750; RFC 9728 adds `resource_metadata`). */
  readonly challenge: string;
  constructor(
    message: string,
    options: { cause?: unknown; challenge?: string; extra?: Record<string, unknown> } = {},
  ) {
    super(message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.extra === undefined ? {} : { extra: options.extra }),
    });
    this.challenge = options.challenge ?? 'Bearer';
  }
}

/**
 * A session that was good ended because its user's password changed since it began (their own change
 * or an admin's reset), so the sign-in page can say why (`reason: "password-changed"`). Told only to
 * whoever presents that session's own signed token, and nothing beyond that one fact
 * (docs/decisions/sessions.md).
 */
export class SessionEndedError extends AuthenticationError {
  override readonly code = SESSION_ENDED_PROBLEM;
  constructor(reason: SessionEndReason) {
    super(SESSION_END_DETAIL[reason], { extra: { reason } });
  }
}

export class ForbiddenError extends ExecFabricError {
  readonly code: string = 'forbidden';
}

/**
 * A password given to prove who the caller is (the current one, to change it) is wrong: a 403, not
 * a 401, since the caller's session itself is good. Names the field the way a validation failure does.
 */
export class WrongPasswordError extends ForbiddenError {
  override readonly code = 'wrong-password';
  constructor(message: string, path: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, extra: { errors: [{ path, message: 'is not your current password' }] } });
  }
}

/** The request did not come through the platform's edge (missing or wrong origin proof). */
export class OriginRejectedError extends ForbiddenError {
  override readonly code = 'origin-rejected';
  constructor() {
    super('Requests must come through the ExecFabric edge');
  }
}

/**
 * A write authenticated by the session cookie did not prove it came from the platform's own page
 * (no or a wrong CSRF token, or another origin): refused before the route runs.
 */
export class CsrfRejectedError extends ForbiddenError {
  override readonly code = 'csrf-rejected';
}

export class TenantSuspendedError extends ForbiddenError {
  override readonly code = 'tenant-suspended';
}

/**
 * The tenant's plan does not include this (HTTP resources on the free plan, more Skills than it
 * keeps, a script larger than it allows): 403, with `plan`, `limit` and what was asked in `extra`.
 * Not an attack and not a passing state: the answer is another plan.
 */
export class PlanLimitError extends ForbiddenError {
  override readonly code = 'plan-limit';
}

export class RateLimitedError extends ExecFabricError {
  readonly code = 'rate-limited';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { extra: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A quota of a period is used up (429); `extra.retryAfterSeconds`, when given, says when it refills. */
export class QuotaExceededError extends ExecFabricError {
  readonly code = 'quota-exceeded';
}

/** A dependency the request needs (a runtime, a queue) cannot be reached right now; retry later. */
export class ServiceUnavailableError extends ExecFabricError {
  readonly code: string = 'service-unavailable';
}

/**
 * `promise`'s value, or null when it failed with a definite NotFoundError. Any other failure — a
 * throttled or unreachable store above all — propagates: it must never be read as "not found"
 * (a transient fault once cancelled pending approvals for good).
 */
export async function unlessNotFound<T>(promise: Promise<T>): Promise<T | null> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/** A time limit's errors: middy's early timeout, an SDK call's, a socket's (all transient too). */
const TIMEOUT_NAMES: readonly string[] = ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'];
const TIMEOUT_CODES: readonly string[] = ['ETIMEDOUT'];
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  ...TIMEOUT_NAMES,
  'TransactionConflictException',
]);
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  ...TIMEOUT_CODES,
  'EPIPE',
  'EAI_AGAIN',
]);

/**
 * Whether an error is a time limit's: what the request had written may stand (a run it created
 * runs), so its outcome is unknown, unlike a fault that decided nothing.
 */
export function isTimeoutFault(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return (
    (typeof name === 'string' && TIMEOUT_NAMES.includes(name)) ||
    (typeof code === 'string' && TIMEOUT_CODES.includes(code))
  );
}

/** Whether an error from an AWS client (or the network under it) is worth retrying as it is. */
export function isTransientFault(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const fault = error as {
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (typeof fault.name === 'string' && TRANSIENT_NAMES.has(fault.name)) return true;
  if (typeof fault.code === 'string' && TRANSIENT_CODES.has(fault.code)) return true;
  if (fault.$retryable !== undefined && fault.$retryable !== null) return true;
  const status = fault.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/** A service the platform called (CloudFront, an upstream API) failed or answered unusably. */
export class UpstreamError extends ExecFabricError {
  readonly code: string = 'upstream-failed';
}
