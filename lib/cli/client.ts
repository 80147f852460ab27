/**
 * The CLI's HTTP client for one platform host. Host names under `.localhost` are connected to on
 * 127.0.0.1 with the Host header set (browsers and curl resolve them to loopback themselves; Node's
 * resolver does not), which is how the local platform tells its domains apart. Every answer that is
 * not a success becomes an ApiError carrying the problem+json title, detail and field errors.
 *
 * A client given a RetryPolicy sends a request again when the platform said "not now" — 429 or 503
 * with Retry-After — and sending it twice cannot do a thing twice: GET, HEAD, PUT, DELETE, or a POST
 * carrying an Idempotency-Key. It waits what Retry-After asks, within the policy's caps, and says so
 * before each wait (docs/decisions/cli.md, "Retrying").
 */

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { IDEMPOTENCY_HEADER, RETRY_AFTER_HEADER } from '../../functions/contract/headers.ts';
import { ApiError, ConnectionError, RequestAbortedError, UsageError } from './errors.ts';

/** How long one request may take before the CLI gives up on it. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Largest answer the CLI reads (a page of runs with logs and outputs stays far below). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The answers that mean "not now" when they carry Retry-After: 429 (the host's API rate, a quota)
 * and 503 (a store or the edge busy for a moment; nothing was done). Without Retry-After the
 * platform did not say when, so the CLI does not guess.
 */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503]);
/** Attempts of one request, the first included. */
export const RETRY_MAX_ATTEMPTS = 3;
/**
 * The longest the CLI waits before one attempt; a Retry-After asking more is not waited for. One
 * window of the edge's per-host count (HOST_API_RATE): the most either edge asks a host to wait.
 */
export const RETRY_MAX_WAIT_SECONDS = 60;
/** The most the CLI waits for one request, all its waits together. */
export const RETRY_MAX_TOTAL_WAIT_SECONDS = 120;
/** Methods whose second sending changes nothing the first did not (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** A wait before the next attempt, as the user is told of it. */
export interface RetryNotice {
  /** 429 or 503. */
  readonly status: number;
  /** `acme.localhost:8080` */
  readonly host: string;
  readonly waitSeconds: number;
  /** The attempt the wait is for (2 for the first retry). */
  readonly attempt: number;
  readonly maxAttempts: number;
}

export interface RetryPolicy {
  /** @default RETRY_MAX_ATTEMPTS */
  readonly maxAttempts?: number;
  /** @default RETRY_MAX_WAIT_SECONDS */
  readonly maxWaitSeconds?: number;
  /** @default RETRY_MAX_TOTAL_WAIT_SECONDS */
  readonly maxTotalWaitSeconds?: number;
  /** Told before each wait (the CLI prints it on stderr). */
  readonly onWait: (notice: RetryNotice) => void;
  /** The clock an HTTP-date Retry-After is read against when the answer has no Date. @default Date.now */
  readonly now?: () => number;
  /** Waits `ms`, or less when `signal` fires. @default a timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What the CLI tells the user before waiting: "rate limited by acme.localhost:8080; retrying in 2 s (attempt 2 of 3)". */
export function describeRetry(notice: RetryNotice): string {
  const why =
    notice.status === 429
      ? `rate limited by ${notice.host}`
      : `${notice.host} is unavailable for a moment (${notice.status})`;
  return `${why}; retrying in ${notice.waitSeconds} s (attempt ${notice.attempt} of ${notice.maxAttempts})`;
}

/**
 * Retry-After in whole seconds from the answer's own time (RFC 9110 §10.2.3): delta-seconds, or an
 * HTTP-date (read against the answer's Date when it has one, so the two clocks need not agree).
 * Null when absent or unreadable; a date already past is 0.
 */
export function retryAfterSeconds(
  headers: Readonly<Record<string, string>>,
  now: () => number = Date.now,
): number | null {
  const value = headers[RETRY_AFTER_HEADER]?.trim();
  if (value === undefined || value === '') return null;
  if (/^\d+$/.test(value)) return Number(value);
  // An HTTP-date is always GMT; Date.parse would read a zone-less string as local time.
  if (!/ GMT$/.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  const answered = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
  const from = Number.isNaN(answered) ? now() : answered;
  return Math.max(0, Math.ceil((at - from) / 1000));
}

/** Whether sending the request again cannot do a thing twice. */
export function isSafeToRepeat(method: string, headers: Readonly<Record<string, string>> = {}): boolean {
  const upper = method.toUpperCase();
  if (IDEMPOTENT_METHODS.has(upper)) return true;
  if (upper !== 'POST') return false;
  return Object.entries(headers).some(
    ([name, value]) => name.toLowerCase() === IDEMPOTENCY_HEADER && value.trim() !== '',
  );
}

/** The next step after an answer the CLI may retry: wait this long, or give up saying why. */
export type RetryStep = { readonly waitSeconds: number } | { readonly gaveUp: string };

/**
 * Whether to send again a safe request answered 429/503 with Retry-After (`retryAfter`, seconds)
 * after `attempt` attempts and `waitedSeconds` of waiting; null when it is not a retryable answer.
 */
export function nextRetry(
  status: number,
  retryAfter: number | null,
  attempt: number,
  waitedSeconds: number,
  policy: RetryPolicy,
): RetryStep | null {
  if (!RETRY_STATUSES.has(status) || retryAfter === null) return null;
  const maxAttempts = policy.maxAttempts ?? RETRY_MAX_ATTEMPTS;
  const maxWait = policy.maxWaitSeconds ?? RETRY_MAX_WAIT_SECONDS;
  const maxTotal = policy.maxTotalWaitSeconds ?? RETRY_MAX_TOTAL_WAIT_SECONDS;
  if (attempt >= maxAttempts) {
    return {
      gaveUp: `Gave up after ${attempt} attempt${attempt === 1 ? '' : 's'} (${waitedSeconds} s of waiting); try again in ${retryAfter} s.`,
    };
  }
  if (retryAfter > maxWait) {
    return {
      gaveUp: `Gave up: the platform asks to wait ${retryAfter} s, longer than the CLI waits (${maxWait} s); try again then.`,
    };
  }
  if (waitedSeconds + retryAfter > maxTotal) {
    return {
      gaveUp: `Gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}: waiting ${retryAfter} s more would pass the ${maxTotal} s the CLI waits for one request.`,
    };
  }
  return { waitSeconds: retryAfter };
}

/** Waits `ms`, or less when `signal` fires: then it resolves, as the wait simply ended. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
}

/**
 * A host as the user typed it (`acme.localhost:8080`, `https://acme.example.com`) as an origin URL.
 * Without a scheme, loopback names get `http` and every other name `https`.
 */
export function parseHost(input: string): URL {
  const trimmed = input.trim();
  if (trimmed === '') throw new UsageError('The host is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)
    ? trimmed
    : `${isLoopbackName(trimmed.replace(/[:/].*$/, '')) ? 'http' : 'https'}://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`Not a host or URL: ${input}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`The host must be an http or https URL, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '')
    throw new UsageError('The host URL must not hold credentials');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new UsageError(`The host is an origin without a path: ${url.origin}`);
  }
  return new URL(url.origin);
}

function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || name === '127.0.0.1' || name === '[::1]';
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON read by typed accessors in the commands
  readonly body: any;
}

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses returned rather than thrown. */
  readonly accept?: readonly number[];
  readonly timeoutMs?: number;
  /** Aborts the request in flight; it then rejects with a RequestAbortedError. */
  readonly signal?: AbortSignal;
  /**
   * The caller knows this request may be sent again whatever its method: a POST the platform keys
   * itself (the agent's calls, each bound to its agent and lease). @default by method and
   * Idempotency-Key (`isSafeToRepeat`)
   */
  readonly repeatable?: boolean;
}

export class ApiClient {
  readonly origin: URL;
  readonly #token: string | undefined;
  readonly #retry: RetryPolicy | undefined;

  /** Without `retry`, a 429 or 503 fails at once, as every other refusal does. */
  constructor(origin: URL, token?: string, retry?: RetryPolicy) {
    this.origin = origin;
    this.#token = token;
    this.#retry = retry;
  }

  /** `acme.localhost:8080` — how messages name the host. */
  get host(): string {
    return this.origin.host;
  }

  withToken(token: string): ApiClient {
    return new ApiClient(this.origin, token, this.#retry);
  }

  get(path: string, options?: RequestOptions): Promise<ApiResponse> {
    return this.send('GET', path, undefined, options);
  }

  post(path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse> {
    return this.send('POST', path, body ?? {}, options);
  }

  put(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse> {
    return this.send('PUT', path, body, options);
  }

  delete(path: string, options?: RequestOptions): Promise<ApiResponse> {
    return this.send('DELETE', path, undefined, options);
  }

  async send(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse> {
    const retry =
      this.#retry !== undefined && (options.repeatable === true || isSafeToRepeat(method, options.headers))
        ? this.#retry
        : null;
    let waited = 0;
    for (let attempt = 1; ; attempt += 1) {
      const response = await this.#raw(method, path, body, options);
      if ((response.status >= 200 && response.status < 300) || options.accept?.includes(response.status)) {
        return response;
      }
      if (retry === null) throw this.#problem(method, path, response, []);
      const retryAfter = retryAfterSeconds(response.headers, retry.now);
      const step = nextRetry(response.status, retryAfter, attempt, waited, retry);
      if (step === null) throw this.#problem(method, path, response, []);
      if ('gaveUp' in step) throw this.#problem(method, path, response, [step.gaveUp]);
      retry.onWait({
        status: response.status,
        host: this.host,
        waitSeconds: step.waitSeconds,
        attempt: attempt + 1,
        maxAttempts: retry.maxAttempts ?? RETRY_MAX_ATTEMPTS,
      });
      await (retry.sleep ?? sleep)(step.waitSeconds * 1000, options.signal);
      if (options.signal?.aborted === true) {
        throw new RequestAbortedError(`${method} ${path} was abandoned while waiting to retry it`);
      }
      waited += step.waitSeconds;
    }
  }

  #problem(method: string, path: string, response: ApiResponse, notes: readonly string[]): ApiError {
    const body = response.body as Record<string, unknown> | string;
    const retryAfter = retryAfterSeconds(response.headers, this.#retry?.now);
    if (typeof body !== 'object' || body === null) {
      return new ApiError(`${method} ${path} on ${this.host} answered ${response.status}`, {
        status: response.status,
        problem: '',
        origin: this.origin.origin,
        retryAfterSeconds: retryAfter,
        details: [...(typeof body === 'string' && body !== '' ? [body.slice(0, 300)] : []), ...notes],
      });
    }
    const slug = String(body.type ?? '').replace(/^urn:execfabric:problem:/, '');
    const fields = Array.isArray(body.errors)
      ? (body.errors as { path?: unknown; message?: unknown }[]).map((issue) => ({
          path: String(issue.path ?? ''),
          message: String(issue.message ?? ''),
        }))
      : [];
    const title = String(body.title ?? `HTTP ${response.status}`);
    const detail = typeof body.detail === 'string' && body.detail !== title ? body.detail : '';
    const message =
      slug === 'unknown-host'
        ? `No ExecFabric domain is bound to ${this.host}`
        : detail === ''
          ? title
          : `${title}: ${detail}`;
    return new ApiError(message, {
      status: response.status,
      problem: slug,
      origin: this.origin.origin,
      retryAfterSeconds: retryAfter,
      fields,
      detail: typeof body.detail === 'string' ? body.detail : '',
      permission: typeof body.permission === 'string' ? body.permission : null,
      details: [
        ...fields.map((field) => `${field.path === '' ? '(body)' : field.path}: ${field.message}`),
        ...notes,
      ],
    });
  }

  #raw(method: string, path: string, body: unknown, options: RequestOptions): Promise<ApiResponse> {
    const url = new URL(path, this.origin);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {
      host: this.origin.host,
      accept: 'application/json, application/problem+json',
      'user-agent': 'execfabric-cli',
      ...options.headers,
    };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const connectTo = hostname === 'localhost' || hostname.endsWith('.localhost') ? '127.0.0.1' : hostname;
    const where = `${this.origin.origin}`;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = send(
        {
          hostname: connectTo,
          port: url.port === '' ? undefined : Number(url.port),
          servername: url.protocol === 'https:' ? hostname : undefined,
          path: url.pathname + url.search,
          method,
          headers,
          timeout: options.timeoutMs ?? REQUEST_TIMEOUT_MS,
          signal: options.signal,
        },
        (res) =>
          readResponse(res).then(resolve, (error: unknown) =>
            reject(options.signal?.aborted === true ? abandoned(error) : error),
          ),
      );
      const abandoned = (cause: unknown) =>
        new RequestAbortedError(`${method} ${url.pathname} was abandoned`, { cause });
      req.on('timeout', () => {
        req.destroy(new ConnectionError(`${where} did not answer ${method} ${url.pathname} in time`));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof ConnectionError) return reject(error);
        if (options.signal?.aborted === true) return reject(abandoned(error));
        reject(
          new ConnectionError(`Cannot reach ${where}: ${describeNetworkError(error)}`, {
            cause: error,
            localPlatformDown: error.code === 'ECONNREFUSED' && connectTo === '127.0.0.1',
          }),
        );
      });
      req.end(payload);
    });
  }
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host name';
    case 'ECONNRESET':
      return 'the connection was reset';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    default:
      return error.message;
  }
}

function readResponse(res: IncomingMessage): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy(new ConnectionError(`The answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      if (/json/.test(headers['content-type'] ?? '') && text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      resolve({ status: res.statusCode ?? 0, headers, body });
    });
  });
}
