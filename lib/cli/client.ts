/**
 * The CLI's HTTP client for one platform host. Host names under `.localhost` are connected to on
 * 127.0.0.1 with the Host header set (browsers and curl resolve them to loopback themselves; Node's
 * resolver does not), which is how the local platform tells its domains apart. Every answer that is
 * not a success becomes an ApiError carrying the problem+json title, detail and field errors.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ApiError, ConnectionError, RequestAbortedError, UsageError } from './errors.ts';

/** How long one request may take before the CLI gives up on it. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Largest answer the CLI reads (a page of runs with logs and outputs stays far below). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

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
}

export class ApiClient {
  readonly origin: URL;
  readonly #token: string | undefined;

  constructor(origin: URL, token?: string) {
    this.origin = origin;
    this.#token = token;
  }

  /** `acme.localhost:8080` — how messages name the host. */
  get host(): string {
    return this.origin.host;
  }

  withToken(token: string): ApiClient {
    return new ApiClient(this.origin, token);
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
    const response = await this.#raw(method, path, body, options);
    if ((response.status >= 200 && response.status < 300) || options.accept?.includes(response.status)) {
      return response;
    }
    throw this.#problem(method, path, response);
  }

  #problem(method: string, path: string, response: ApiResponse): ApiError {
    const body = response.body as Record<string, unknown> | string;
    if (typeof body !== 'object' || body === null) {
      return new ApiError(`${method} ${path} on ${this.host} answered ${response.status}`, {
        status: response.status,
        problem: '',
        origin: this.origin.origin,
        details: typeof body === 'string' && body !== '' ? [body.slice(0, 300)] : [],
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
      fields,
      details: fields.map((field) => `${field.path === '' ? '(body)' : field.path}: ${field.message}`),
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
