/**
 * The fronts' one way to the API: same-origin `/api/…`, JSON in and out, the session cookie (with
 * the CSRF token on writes), and every failure turned into an `ApiProblem` carrying the
 * problem+json details (RFC 9457) the API answers with — or an equivalent one for network failures
 * and non-JSON answers.
 *
 * Reads say how old an answer they accept from the API's own caches (`Cache-Control`, RFC 9111):
 * `max-age=5` ordinarily, `no-cache` on an explicit refresh and for every read within those seconds
 * after a write of this page, so its user sees their own change whichever API container answers.
 */
import {
  CACHE_CONTROL_HEADER,
  CACHED_READ_MAX_AGE_SECONDS,
  CSRF_HEADER,
  type FieldError,
  IDEMPOTENCY_HEADER,
  type LoginAnswer,
  NEXT_CURSOR_HEADER,
  type PlatformHostLink,
  PROBLEM_TYPE_PREFIX,
  type ProblemDetails,
  SESSION_END_DETAIL,
  SESSION_ENDED_PROBLEM,
  type SessionEndReason,
} from '../../../functions/contract/index.ts';

// The API's answers are declared once, in the contract; the fronts read them from here.
export type {
  Appearance,
  AuditEntry,
  AuditVerification,
  Branding,
  FieldError,
  Health,
  LoginAnswer,
  Me,
  Menu,
  Page,
  PlatformHostLink,
  ProblemDetails,
  Role,
  Session,
  SessionUser,
  User,
} from '../../../functions/contract/index.ts';

export class ApiProblem extends Error implements ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];
  readonly platformHosts?: readonly PlatformHostLink[];
  readonly reason?: SessionEndReason;

  constructor(details: ProblemDetails) {
    super(details.detail || details.title);
    this.name = 'ApiProblem';
    this.type = details.type;
    this.title = details.title;
    this.status = details.status;
    this.detail = details.detail;
    this.errors = details.errors;
    if (details.platformHosts !== undefined) this.platformHosts = details.platformHosts;
    if (details.reason !== undefined) this.reason = details.reason;
  }

  /**
   * What the sign-in page says of a session the API ended for a reason it tells (a password change),
   * in the house's words; null for any other refusal.
   */
  get sessionEndMessage(): string | null {
    return this.status === 401 &&
      this.type === `${PROBLEM_TYPE_PREFIX}${SESSION_ENDED_PROBLEM}` &&
      this.reason !== undefined
      ? SESSION_END_DETAIL[this.reason]
      : null;
  }

  /** The route is not deployed on this platform (yet): a feature to show as unavailable. */
  get routeMissing(): boolean {
    return this.type.endsWith(':route-not-found') || this.status === 405;
  }
}

/** Wraps anything thrown into an `ApiProblem` so pages render one kind of error. */
export function asProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ApiProblem({
    type: 'about:blank',
    title: 'Something went wrong',
    status: 0,
    detail: message,
    errors: [],
  });
}

// ── the session ──────────────────────────────────────────────────────────────────────────────
//
// The session token lives in an HttpOnly cookie this script never sees (bound to this host, sent with
// every same-origin request). What the page keeps, in memory only, is the session's CSRF token, which
// every write echoes in `x-csrf-token`; it comes with the sign-in answer and with `GET /api/me`, so a
// reload or a new tab picks it up again. Signing out in one tab tells the others (BroadcastChannel).

let csrfToken: string | null = null;
const endedListeners = new Set<(reason: string) => void>();
const channel: BroadcastChannel | null =
  typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('execfabric-session');

channel?.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (event.data === 'signed-out') endSession('You signed out in another tab.', false);
});

// Whether this browser may hold a session on this host: a hint in localStorage, set with a session's
// CSRF token and removed when it ends, so a signed-out load shows the sign-in page without asking
// `GET /api/me` (whose 401 the browser logs as an error). The hint is never trusted: with it, the
// API still decides. Without storage, every load asks.
const SESSION_HINT = 'execfabric:session';

function noteSession(held: boolean): void {
  try {
    if (held) window.localStorage.setItem(SESSION_HINT, '1');
    else window.localStorage.removeItem(SESSION_HINT);
  } catch {
    // No storage here (disabled by the user): `mayHoldSession` answers true, and the API is asked.
  }
}

/** False when this browser holds no session on this host as far as the page knows (nothing to ask). */
export function mayHoldSession(): boolean {
  try {
    return window.localStorage.getItem(SESSION_HINT) !== null;
  } catch {
    return true;
  }
}

/** Keeps the CSRF token of the signed-in session (from sign-in or `GET /api/me`); none: signed out. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token ?? null;
  noteSession(csrfToken !== null);
}

function endSession(reason: string, tellOthers: boolean): void {
  csrfToken = null;
  noteSession(false);
  if (tellOthers) channel?.postMessage('signed-out');
  for (const listener of endedListeners) listener(reason);
}

/** Called when the session ends (refused by the API, or signed out in another tab). */
export function onSessionEnded(listener: (reason: string) => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

/** Ends the session on the server (here, or on every device) and in every tab of this host. */
export async function signOut(everywhere = false): Promise<void> {
  try {
    await request('POST', everywhere ? '/api/auth/logout-everywhere' : '/api/auth/logout', {});
  } finally {
    endSession(everywhere ? 'You signed out on every device.' : 'You signed out.', true);
  }
}

/**
 * A one-time sign-in handoff carried in the URL fragment (`#handoff=…`, from the free entry's
 * sign-up), traded for this host's cookie session. The fragment is removed first, so neither a
 * reload nor the history replays it. True when a session was started.
 */
export async function redeemHandoff(): Promise<boolean> {
  const match = /^#handoff=([^&]+)$/.exec(window.location.hash);
  if (match === null) return false;
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  const answer = await request<LoginAnswer>('POST', '/api/auth/handoff', {
    body: { token: decodeURIComponent(match[1] ?? '') },
    auth: false,
  });
  setCsrfToken(answer.csrfToken);
  return true;
}

// ── requests ─────────────────────────────────────────────────────────────────────────────────

export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Whether a 401 answer ends the session (not for the sign-in form itself). @default true */
  readonly auth?: boolean;
  /** A read that must not be answered from the API's caches (an explicit refresh). @default false */
  readonly revalidate?: boolean;
}

/** When this page last sent a write (`performance.now()`): reads revalidate for a while after it. */
let lastWriteAt = Number.NEGATIVE_INFINITY;

/**
 * What a read asks of the API's caches. Stated on every read: a `cache: 'no-store'` fetch would
 * otherwise send `Cache-Control: no-cache` of its own (Fetch standard), and no read would be cached.
 */
function cacheControl(options: RequestOptions): string {
  const sinceWrite = performance.now() - lastWriteAt;
  return options.revalidate === true || sinceWrite <= CACHED_READ_MAX_AGE_SECONDS * 1000
    ? 'no-cache'
    : `max-age=${CACHED_READ_MAX_AGE_SECONDS}`;
}

export { humanTitle, unsaidFields } from './problem-titles.ts';

/** A 1-based line or column in a field's text, as a problem's field error may place itself. */
function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function problemFromBody(status: number, statusText: string, body: unknown): ApiProblem {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const errors = Array.isArray(record.errors)
    ? record.errors.map((entry) => {
        const item = (entry ?? {}) as Record<string, unknown>;
        return {
          path: String(item.path ?? ''),
          message: String(item.message ?? ''),
          ...(isPosition(item.line) ? { line: item.line } : {}),
          ...(isPosition(item.column) ? { column: item.column } : {}),
        };
      })
    : [];
  return new ApiProblem({
    type: typeof record.type === 'string' ? record.type : 'about:blank',
    title: typeof record.title === 'string' ? record.title : statusText || `HTTP ${status}`,
    status,
    detail: typeof record.detail === 'string' ? record.detail : '',
    errors,
    ...(Array.isArray(record.platformHosts)
      ? { platformHosts: record.platformHosts.filter(isPlatformHostLink) }
      : {}),
    ...(isSessionEndReason(record.reason) ? { reason: record.reason } : {}),
  });
}

function isSessionEndReason(value: unknown): value is SessionEndReason {
  return typeof value === 'string' && Object.hasOwn(SESSION_END_DETAIL, value);
}

function isPlatformHostLink(value: unknown): value is PlatformHostLink {
  const link = (value ?? {}) as Record<string, unknown>;
  return typeof link.host === 'string' && typeof link.url === 'string' && /^https?:\/\//.test(link.url);
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const write = method !== 'GET' && method !== 'HEAD';
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...(write ? {} : { [CACHE_CONTROL_HEADER]: cacheControl(options) }),
    ...options.headers,
  };
  if (write && csrfToken !== null) headers[CSRF_HEADER] = csrfToken;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  try {
    const response = await fetch(path, {
      method,
      headers,
      body,
      signal: options.signal,
      // The session cookie goes to this origin only.
      credentials: 'same-origin',
      cache: 'no-store',
    });
    // Whatever its answer: a write refused or failed may still have changed something.
    if (write) lastWriteAt = performance.now();
    return response;
  } catch (error) {
    if (write) lastWriteAt = performance.now();
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiProblem({
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      detail: 'The server could not be reached. Check your connection and try again.',
      errors: [],
    });
  }
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  const text = await response.text();
  let parsed: unknown;
  if (text !== '' && /json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const problem = problemFromBody(response.status, response.statusText, parsed);
    if (response.status === 401 && options.auth !== false && csrfToken !== null) {
      endSession(problem.sessionEndMessage ?? (problem.detail || 'Your session has ended.'), false);
    }
    throw problem;
  }
  return parsed as T;
}

/** A text answer (an export), for a download. */
export async function requestText(path: string): Promise<string> {
  return (await requestTextPage(path)).text;
}

/** One page of a text answer (an NDJSON export) and the cursor of its next page, if any. */
export async function requestTextPage(path: string): Promise<{ text: string; next: string | undefined }> {
  const response = await send('GET', path, {});
  const text = await response.text();
  if (!response.ok) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw problemFromBody(response.status, response.statusText, parsed);
  }
  return { text, next: response.headers.get(NEXT_CURSOR_HEADER) ?? undefined };
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('POST', path, { ...options, body: body ?? {} }),
  put: <T>(path: string, body: unknown, options?: RequestOptions) =>
    request<T>('PUT', path, { ...options, body }),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) =>
    request<T>('PATCH', path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
};

/** Builds `/api/…?a=b` from a path (which may carry a query already) and the query values that are set. */
export function withQuery(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const [base = '', existing = ''] = path.split('?', 2);
  const params = new URLSearchParams(existing);
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, value);
  const search = params.toString();
  return search === '' ? base : `${base}?${search}`;
}

export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** A fresh `Idempotency-Key` header for a write, so a retried submit never runs or posts twice. */
export function idempotencyHeaders(): Record<string, string> {
  return { [IDEMPOTENCY_HEADER]: `ui-${crypto.randomUUID()}` };
}
