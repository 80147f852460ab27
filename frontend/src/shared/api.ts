/**
 * The fronts' one way to the API: same-origin `/api/…`, JSON in and out, the session's bearer
 * token, and every failure turned into an `ApiProblem` carrying the problem+json details (RFC 9457)
 * the API answers with — or an equivalent one for network failures and non-JSON answers.
 */

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];
}

export class ApiProblem extends Error implements ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];

  constructor(details: ProblemDetails) {
    super(details.detail || details.title);
    this.name = 'ApiProblem';
    this.type = details.type;
    this.title = details.title;
    this.status = details.status;
    this.detail = details.detail;
    this.errors = details.errors;
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

export interface SessionUser {
  readonly username: string;
  readonly roles: readonly string[];
  readonly superAdmin: boolean;
}

export interface Session {
  readonly token: string;
  readonly expiresAt: string;
  readonly user: SessionUser;
}

const SESSION_KEY = 'execfabric.session';
const endedListeners = new Set<(reason: string) => void>();

/** The signed-in session of this origin (sessionStorage is per host, as tokens are). */
export function loadSession(): Session | null {
  try {
    const raw = window.sessionStorage.getItem(SESSION_KEY);
    if (raw === null) return null;
    const session = JSON.parse(raw) as Session;
    if (typeof session.token !== 'string' || Date.parse(session.expiresAt) <= Date.now()) {
      window.sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  window.sessionStorage.removeItem(SESSION_KEY);
}

/** Called when the API refuses the session (expired, revoked): the app shows the sign-in page. */
export function onSessionEnded(listener: (reason: string) => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

// ── requests ─────────────────────────────────────────────────────────────────────────────────

export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Send the session's token. @default true */
  readonly auth?: boolean;
}

function problemFromBody(status: number, statusText: string, body: unknown): ApiProblem {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const errors = Array.isArray(record.errors)
    ? record.errors.map((entry) => {
        const item = (entry ?? {}) as Record<string, unknown>;
        return { path: String(item.path ?? ''), message: String(item.message ?? '') };
      })
    : [];
  return new ApiProblem({
    type: typeof record.type === 'string' ? record.type : 'about:blank',
    title: typeof record.title === 'string' ? record.title : statusText || `HTTP ${status}`,
    status,
    detail: typeof record.detail === 'string' ? record.detail : '',
    errors,
  });
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const session = options.auth === false ? null : loadSession();
  if (session !== null) headers.authorization = `Bearer ${session.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiProblem({
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      detail: 'The server could not be reached. Check your connection and try again.',
      errors: [],
    });
  }
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
    if (response.status === 401 && session !== null) {
      clearSession();
      for (const listener of endedListeners) listener(problem.detail || 'Your session has ended.');
    }
    throw problem;
  }
  return parsed as T;
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

/** Builds `/api/…?a=b` from a path and the query values that are set. */
export function withQuery(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, value);
  const search = params.toString();
  if (search === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${search}`;
}

export function segment(value: string): string {
  return encodeURIComponent(value);
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string;
}

// ── shapes shared by both consoles ───────────────────────────────────────────────────────────

export interface Health {
  readonly status: string;
  readonly domain: 'public' | 'tenant';
  readonly tenant?: { readonly id: string; readonly name: string; readonly status: string };
}

export interface Menu {
  readonly id: string;
  readonly label: string;
}

export interface Me {
  readonly username: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly superAdmin: boolean;
  readonly menus: readonly Menu[];
  readonly domain:
    | { readonly kind: 'public' }
    | {
        readonly kind: 'tenant';
        readonly tenant: {
          readonly id: string;
          readonly name: string;
          readonly status: string;
          readonly expiresAt: string;
        };
      };
}

export interface LoginAnswer {
  readonly token: string;
  readonly expiresAt: string;
  readonly user: SessionUser;
}

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: { readonly username: string; readonly via: string };
  readonly action: string;
  readonly target: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly hash: string;
}

export interface AuditVerification {
  readonly valid: boolean;
  readonly seals: number;
  readonly sealedEntries: number;
  readonly unsealedEntries: number;
  readonly head: string;
  readonly problems: readonly { readonly kind: string; readonly detail: string }[];
}

export interface User {
  readonly username: string;
  readonly roles: readonly string[];
  readonly superAdmin: boolean;
  readonly disabled: boolean;
  readonly consoleTenants?: readonly string[];
  readonly createdAt: string;
}

export interface Role {
  readonly name: string;
  readonly permissions: readonly string[];
  readonly builtIn: boolean;
  readonly description: string;
}

/** A fresh key for `Idempotency-Key`, so a retried submit never runs or posts twice. */
export function idempotencyKey(): string {
  return `ui-${crypto.randomUUID()}`;
}
