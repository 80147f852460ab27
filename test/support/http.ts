/**
 * A tiny HTTP client for tests that must choose the Host header (fetch forbids setting it).
 * Speaks to the local platform's edge router over real HTTP on loopback.
 */
import { request as httpRequest } from 'node:http';

export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  readonly body: any;
}

export interface TestRequest {
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  readonly token?: string;
  /** The loopback address to connect from (any of 127.0.0.0/8): a distinct viewer address. */
  readonly localAddress?: string;
}

export function call(baseUrl: string, options: TestRequest): Promise<TestResponse> {
  const url = new URL(options.path, baseUrl);
  const headers: Record<string, string> = { host: options.host, ...options.headers };
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) {
      payload = Buffer.from(options.body);
    } else {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(payload.length);
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'GET',
        headers,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          let body: unknown = text;
          if (/^application\/([a-z.-]+\+)?json\b/.test(responseHeaders['content-type'] ?? '') && text !== '')
            body = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
