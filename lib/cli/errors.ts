/**
 * The CLI's error taxonomy. Every failure a command reports is one of these; `main` prints its
 * message and exits with its code. Exit codes: 0 success, 1 a failure (the platform refused, could
 * not be reached, or a run did not succeed), 2 bad usage or bad local input (arguments, manifest,
 * `--input`), 3 not signed in.
 */

export const EXIT = { ok: 0, failure: 1, usage: 2, signedOut: 3 } as const;

export class CliError extends Error {
  readonly exitCode: number;
  /** Lines printed after the message (field problems, hints). */
  readonly details: readonly string[];

  constructor(
    message: string,
    options: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.details = options.details ?? [];
  }
}

/** Arguments or local input the command cannot use. */
export class UsageError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, { exitCode: EXIT.usage, details });
  }
}

/** No host or no token to act with. */
export class NotSignedInError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, { exitCode: EXIT.signedOut, details });
  }
}

/** The platform could not be reached at all (connection refused, DNS, TLS, timeout). */
export class ConnectionError extends CliError {
  /** Nothing listens on this machine for a loopback host: worth the hint to start the platform. */
  readonly localPlatformDown: boolean;

  constructor(
    message: string,
    options: { details?: readonly string[]; cause?: unknown; localPlatformDown?: boolean } = {},
  ) {
    super(message, options);
    this.localPlatformDown = options.localPlatformDown ?? false;
  }
}

/** A request the CLI gave up on itself (its AbortSignal fired), e.g. the agent's poll on Ctrl-C. */
export class RequestAbortedError extends CliError {}

export interface ProblemField {
  readonly path: string;
  readonly message: string;
}

/** The platform answered with an error (application/problem+json, or something unexpected). */
export class ApiError extends CliError {
  readonly status: number;
  /** The problem's stable slug (`unknown-host`, `validation-failed`…), or `''`. */
  readonly problem: string;
  readonly fields: readonly ProblemField[];
  /** The problem's `detail`, what it says of this case (its title is the status's phrase), or `''`. */
  readonly detail: string;
  /** The origin that answered, e.g. `http://acme.localhost:8080`. */
  readonly origin: string;
  /** The answer's `Retry-After`, in seconds, when it had one (a 429 or 503 says when to come back). */
  readonly retryAfterSeconds: number | null;
  /** The permission a `forbidden` answer names as missing; null when the refusal is a rule, not a role. */
  readonly permission: string | null;

  constructor(
    message: string,
    options: {
      status: number;
      problem: string;
      origin: string;
      fields?: readonly ProblemField[];
      detail?: string;
      details?: readonly string[];
      retryAfterSeconds?: number | null;
      permission?: string | null;
    },
  ) {
    super(message, { details: options.details ?? [] });
    this.status = options.status;
    this.problem = options.problem;
    this.origin = options.origin;
    this.fields = options.fields ?? [];
    this.detail = options.detail ?? '';
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
    this.permission = options.permission ?? null;
  }
}

/** A run ended in a state other than `succeeded`. */
export class RunUnsuccessfulError extends CliError {}
