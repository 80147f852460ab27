/**
 * The HTTP edge of the error taxonomy: one place maps core errors to status codes and
 * application/problem+json bodies (RFC 9457). Unknown errors become a 500 that says nothing of
 * their cause; the caller logs them.
 */

import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from '../contract/headers.ts';
import {
  AuthenticationError,
  ExecFabricError as BaseError,
  ConflictError,
  type ExecFabricError,
  ForbiddenError,
  isTimeoutFault,
  isTransientFault,
  MalformedRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  QuotaExceededError,
  RateLimitedError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  UpstreamError,
  ValidationError,
} from '../core/errors.ts';

export { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX };

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const statusByClass: ReadonlyArray<readonly [abstract new (...args: never[]) => ExecFabricError, number]> = [
  [ValidationError, 422],
  [MalformedRequestError, 400],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [MethodNotAllowedError, 405],
  [NotFoundError, 404],
  [ConflictError, 409],
  [AuthenticationError, 401],
  [ForbiddenError, 403],
  [RateLimitedError, 429],
  [QuotaExceededError, 429],
  [ServiceUnavailableError, 503],
  [UpstreamError, 502],
];

const titles: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function statusOf(error: ExecFabricError): number {
  for (const [type, status] of statusByClass) if (error instanceof type) return status;
  return 500;
}

/** Members RFC 9457 defines; an error's extension members never replace them. */
const RESERVED_MEMBERS: ReadonlySet<string> = new Set(['type', 'title', 'status', 'detail']);

export function problem(
  status: number,
  code: string,
  detail: string,
  members: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  const extensions = Object.entries(members).filter(([name]) => !RESERVED_MEMBERS.has(name));
  return {
    statusCode: status,
    headers: {
      'content-type': PROBLEM_CONTENT_TYPE,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE_PREFIX}${code}`,
      title: titles[status] ?? 'Error',
      status,
      detail,
      ...Object.fromEntries(extensions),
    }),
  };
}

/** JSON-RPC's code for an implementation-defined server error: what an HTTP-level refusal is to it. */
const RPC_SERVER_ERROR = -32000;

/** Extension members a problem gets from its own detail, where its endpoint speaks another protocol too. */
export type ProblemExtension = (detail: string) => Record<string, unknown>;

/**
 * A problem answered on the MCP endpoint carries the JSON-RPC error response (no id) as extension
 * members beside the problem's own, so an MCP client and an HTTP client can both read it — for the
 * refusals the pipeline answers before the MCP transport sees the message (401, 403, 405, 413, 429…).
 */
export const jsonRpcError: ProblemExtension = (detail) => ({
  jsonrpc: '2.0',
  id: null,
  error: { code: RPC_SERVER_ERROR, message: detail },
});

/**
 * Maps any thrown value to a problem response; `unexpected` is true for errors outside the taxonomy.
 * `extend` adds members from the problem's detail (`jsonRpcError` on the MCP endpoint). @default none
 */
export function problemFromError(
  error: unknown,
  instance?: string,
  extend?: ProblemExtension,
): { response: HttpResponse; unexpected: boolean } {
  // Every answer below, with the endpoint's extension members.
  const answer = (
    status: number,
    code: string,
    detail: string,
    members: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => problem(status, code, detail, { ...members, ...extend?.(detail) }, headers);
  /** A 503 the client may try again in a second (`Retry-After: 1`). */
  const retryLater = (code: string, detail: string, members: Record<string, unknown> = {}) =>
    answer(
      503,
      code,
      detail,
      { ...(instance ? { instance } : {}), ...members, retryAfterSeconds: 1 },
      {
        'retry-after': '1',
      },
    );
  if (!(error instanceof BaseError) && isTimeoutFault(error)) {
    // The request ran out of time (the function's, or a call's): what it had written stays written,
    // a run it created runs. A client told "retry" made a second run; it is told to look first, or
    // to retry with the same Idempotency-Key, which answers the first.
    return {
      response: retryLater(
        'timed-out',
        'The request took too long to answer; it may have taken effect. Check before retrying, or retry with the same Idempotency-Key',
        { outcome: 'unknown' },
      ),
      unexpected: true,
    };
  }
  if (!(error instanceof BaseError) && isTransientFault(error)) {
    // A store or queue that failed for a moment: nothing was decided, the client may retry as is.
    return {
      response: retryLater(
        'service-unavailable',
        'A service the platform depends on failed for a moment; retry the request',
      ),
      unexpected: true,
    };
  }
  if (!(error instanceof BaseError)) {
    return {
      response: answer(500, 'internal', 'An unexpected error occurred', instance ? { instance } : {}),
      unexpected: true,
    };
  }
  const status = statusOf(error);
  const members: Record<string, unknown> = { ...error.extra };
  if (instance !== undefined) members.instance = instance;
  if (error instanceof ValidationError && error.issues.length > 0) members.errors = error.issues;
  const headers: Record<string, string> = {};
  if (error instanceof RateLimitedError) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error instanceof QuotaExceededError && typeof error.extra.retryAfterSeconds === 'number') {
    headers['retry-after'] = String(error.extra.retryAfterSeconds);
  }
  if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
  if (error instanceof AuthenticationError) headers['www-authenticate'] = error.challenge;
  return {
    response: answer(status, error.code, error.message, members, headers),
    unexpected: status === 500,
  };
}
