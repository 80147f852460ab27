/**
 * The outbound client against a real HTTP server on loopback: the credential header, redaction of
 * echoed credentials, allowance checks before any connection, one resolution per hop pinned to the
 * connection, same-origin redirects only, the size cap and the timeout.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HttpRequestRefusedError,
  LocalDevelopmentDisabledError,
  OutboundAddressRefusedError,
  RedirectRefusedError,
  ResponseTooLargeError,
  UpstreamTimeoutError,
} from '../../../../functions/core/http-resources/errors.ts';
import type { HttpResourceConfig } from '../../../../functions/core/http-resources/model.ts';
import {
  checkedAddresses,
  type OutboundOptions,
  REDACTED,
  type Resolver,
  sendToResource,
} from '../../../../functions/core/http-resources/outbound.ts';

const SECRET = 'tok-outbound-unit-7f3a9c2e51';

let server: Server;
let port: number;
let connections = 0;
const seen: { method: string; url: string; authorization: string | undefined; body: string }[] = [];

function handle(request: IncomingMessage, response: ServerResponse, body: string): void {
  const url = new URL(request.url ?? '/', 'http://x');
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(value));
  };
  const redirect = (status: number, location: string) => {
    response.writeHead(status, { location });
    response.end();
  };
  const responders: Record<string, () => void> = {
    '/api/items/1': () =>
      json(200, { id: 1, method: request.method, body: body === '' ? null : JSON.parse(body) }),
    // A careless upstream that echoes the credential back.
    '/api/echo': () =>
      json(200, { youSent: request.headers.authorization, raw: SECRET }, { 'x-echo': SECRET }),
    '/api/old': () => redirect(302, '/api/items/1'),
    '/api/post-old': () => redirect(303, `http://127.0.0.1:${port}/api/items/1`),
    '/api/away': () => redirect(302, `http://localhost:${port}/api/items/1`),
    '/api/out-of-allowance': () => redirect(301, '/api/admin/secret'),
    '/api/loop': () => redirect(307, '/api/loop'),
    // An upstream that redirects where the request's query says (a careless one).
    '/api/bounce': () => redirect(307, url.searchParams.get('to') ?? '/api/items/1'),
    '/api/big': () => json(200, { data: 'x'.repeat(5000) }),
    '/api/slow': () => {
      setTimeout(() => json(200, { late: true }), 1500);
    },
  };
  (responders[url.pathname] ?? (() => json(404, { error: 'nope' })))();
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        body,
      });
      handle(request, response, body);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  connections = 0;
  seen.length = 0;
});

function resource(overrides: Partial<HttpResourceConfig> = {}): HttpResourceConfig {
  return {
    name: 'Loopback API',
    description: '',
    baseUrl: `http://127.0.0.1:${port}/api`,
    methods: ['GET', 'POST'],
    paths: [
      '/items/*',
      '/echo',
      '/old',
      '/post-old',
      '/away',
      '/out-of-allowance',
      '/loop',
      '/bounce',
      '/big',
      '/slow',
    ],
    writeAllowed: true,
    auth: { scheme: 'bearer' },
    timeoutSeconds: 5,
    maxResponseBytes: 4096,
    localDevelopment: true,
    ...overrides,
  };
}

function options(overrides: Partial<OutboundOptions> = {}): OutboundOptions {
  return {
    resource: resource(),
    credential: SECRET,
    allowLocalDevelopment: true,
    timeoutMs: 5000,
    oversize: 'fail',
    ...overrides,
  };
}

describe('sendToResource', () => {
  it('sends the credential in the scheme’s header and returns the answer', async () => {
    const response = await sendToResource({ method: 'POST', path: '/items/1', body: { a: 1 } }, options());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ id: 1, method: 'POST', body: { a: 1 } });
    expect(seen[0]?.authorization).toBe(`Bearer ${SECRET}`);
    expect(seen[0]?.url).toBe('/api/items/1');

    await sendToResource(
      { method: 'GET', path: '/items/1' },
      options({ resource: resource({ auth: { scheme: 'basic' } }), credential: `user:${SECRET}` }),
    );
    expect(seen[1]?.authorization).toBe(`Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`);
  });

  it('redacts every echoed form of the credential from body and headers', async () => {
    const response = await sendToResource({ method: 'GET', path: '/echo' }, options());
    expect(response.body).not.toContain(SECRET);
    expect(JSON.parse(response.body)).toEqual({ youSent: `Bearer ${REDACTED}`, raw: REDACTED });
    expect(response.headers['x-echo']).toBe(REDACTED);
  });

  it('refuses methods, writes and paths outside the allowance before connecting', async () => {
    const readOnly = resource({ methods: ['GET'], writeAllowed: false });
    await expect(
      sendToResource({ method: 'POST', path: '/items/1' }, options({ resource: readOnly })),
    ).rejects.toThrow(HttpRequestRefusedError);
    await expect(sendToResource({ method: 'DELETE', path: '/items/1' }, options())).rejects.toThrow(
      /not among/,
    );
    await expect(sendToResource({ method: 'GET', path: '/admin/1' }, options())).rejects.toThrow(/outside/);
    await expect(sendToResource({ method: 'GET', path: '/items/../admin' }, options())).rejects.toThrow(
      HttpRequestRefusedError,
    );
    expect(connections).toBe(0);
  });

  it('refuses headers that proxies and frameworks trust as their own, and sends ordinary x- headers', async () => {
    for (const name of [
      'x-middleware-subrequest',
      'X-Middleware-Subrequest',
      'x-cluster-client-ip',
      'x-originating-ip',
      'x-remote-addr',
      'x-remote-ip',
      'x-client-ip',
      'x-real-ip',
      'x-host',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-original-url',
      'x-envoy-original-path',
      'x-envoy-internal',
      'x-rewrite-url',
      'x-http-method-override',
      'x-http-method',
      'x-nextjs-data',
    ]) {
      await expect(
        sendToResource({ method: 'GET', path: '/items/1', headers: { [name]: '127.0.0.1' } }, options()),
        name,
      ).rejects.toThrow(/not a header a script may set/);
    }
    expect(connections).toBe(0);
    const sent = await sendToResource(
      { method: 'GET', path: '/items/1', headers: { 'x-request-id': 'r-1', 'x-api-version': '2' } },
      options(),
    );
    expect(sent.status).toBe(200);
  });

  it('refuses a _method override in the query or a JSON body before connecting, whatever its value', async () => {
    const refused: { query?: Record<string, string>; body?: unknown }[] = [
      { query: { _method: 'DELETE' } },
      { query: { _method: 'POST' } },
      { query: { _METHOD: 'DELETE' } },
      // PHP turns `.`, a space and `[` starting a name into `_`.
      { query: { '.method': 'DELETE' } },
      { query: { ' method': 'DELETE' } },
      { query: { '[method': 'DELETE' } },
      { query: { '_method[]': 'DELETE' } },
      { body: { _method: 'DELETE', name: 'x' } },
      { body: { _Method: 'PUT' } },
    ];
    for (const parts of refused) {
      await expect(
        sendToResource({ method: 'POST', path: '/items/1', ...parts }, options()),
        JSON.stringify(parts),
      ).rejects.toThrow(/another method/);
    }
    expect(connections).toBe(0);
    // Names that merely hold the word, a nested field, and a body that is not an object are sent.
    const sent = await sendToResource(
      {
        method: 'POST',
        path: '/items/1',
        query: { method: 'card', payment_method: 'card', _methods: 'x' },
        body: { method: 'card', nested: { _method: 'DELETE' } },
      },
      options(),
    );
    expect(sent.status).toBe(200);
    expect(seen.at(-1)?.method).toBe('POST');
    // Nor through a redirect the upstream was led to make (307 keeps the method and body).
    const before = seen.length;
    await expect(
      sendToResource(
        { method: 'POST', path: '/bounce', query: { to: '/api/items/1?_method=DELETE' }, body: {} },
        options(),
      ),
    ).rejects.toThrow(/"_method".*another method/);
    expect(seen.slice(before).map((request) => request.url)).toEqual([
      `/api/bounce?to=${encodeURIComponent('/api/items/1?_method=DELETE')}`,
    ]);
    await expect(
      sendToResource({ method: 'POST', path: '/items/1', body: ['_method'] }, options()),
    ).resolves.toMatchObject({ status: 200 });
  });

  it('refuses loopback without localDevelopment, and localDevelopment where the platform does not allow it', async () => {
    const publicOne = resource({ localDevelopment: false, baseUrl: `https://127.0.0.1:${port}/api` });
    await expect(
      sendToResource({ method: 'GET', path: '/items/1' }, options({ resource: publicOne })),
    ).rejects.toThrow(OutboundAddressRefusedError);
    await expect(
      sendToResource({ method: 'GET', path: '/items/1' }, options({ allowLocalDevelopment: false })),
    ).rejects.toThrow(LocalDevelopmentDisabledError);
    const plainHttp = resource({ localDevelopment: false });
    await expect(
      sendToResource({ method: 'GET', path: '/items/1' }, options({ resource: plainHttp })),
    ).rejects.toThrow(/Plain http/);
    expect(connections).toBe(0);
  });

  it('resolves a name once per hop and connects to exactly the checked address', async () => {
    const calls: string[] = [];
    // A rebinding resolver: the first answer is what gets checked; any later answer would differ.
    const rebinding: Resolver = async (hostname) => {
      calls.push(hostname);
      return calls.length === 1
        ? [{ address: '127.0.0.1', family: 4 }]
        : [{ address: '10.9.9.9', family: 4 }];
    };
    const named = resource({ baseUrl: `http://api.loopback.test:${port}/api` });
    const response = await sendToResource(
      { method: 'GET', path: '/items/1' },
      options({ resource: named, resolver: rebinding }),
    );
    expect(response.status).toBe(200);
    expect(calls).toEqual(['api.loopback.test']);
    expect(connections).toBe(1);
  });

  it('refuses a name that resolves to a blocked address, or to a mix of addresses', async () => {
    const named = resource({ baseUrl: `https://api.example.test:${port}/api`, localDevelopment: false });
    const toMetadata: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    const mixed: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:127.0.0.1', family: 6 },
    ];
    // Checked without sending anything: these never reach a connection attempt.
    await expect(checkedAddresses('api.example.test', false, toMetadata)).rejects.toThrow(
      /resolves to a metadata address/,
    );
    await expect(checkedAddresses('api.example.test', false, mixed)).rejects.toThrow(
      /loopback address \(IPv4-mapped IPv6\)/,
    );
    await expect(checkedAddresses('[::1]', true, mixed)).resolves.toEqual([{ address: '::1', family: 6 }]);
    await expect(checkedAddresses('[::1]', false, mixed)).rejects.toThrow(/is a loopback address/);
    await expect(
      sendToResource({ method: 'GET', path: '/items/1' }, options({ resource: named, resolver: toMetadata })),
    ).rejects.toThrow(OutboundAddressRefusedError);
    // The system resolver: `localhost` is loopback.
    const localhost = resource({ baseUrl: `https://localhost:${port}/api`, localDevelopment: false });
    await expect(
      sendToResource({ method: 'GET', path: '/items/1' }, options({ resource: localhost })),
    ).rejects.toThrow(OutboundAddressRefusedError);
    expect(connections).toBe(0);
  });

  it('follows redirects on the resource itself, checking each hop', async () => {
    const followed = await sendToResource({ method: 'GET', path: '/old' }, options());
    expect(followed).toMatchObject({ status: 200, redirects: 1, path: '/items/1', method: 'GET' });
    const seeOther = await sendToResource({ method: 'POST', path: '/post-old', body: { a: 1 } }, options());
    expect(seeOther).toMatchObject({ status: 200, method: 'GET' });
    expect(JSON.parse(seeOther.body)).toMatchObject({ method: 'GET', body: null });
  });

  it('refuses redirects to another host, outside the allowance, or without end', async () => {
    await expect(sendToResource({ method: 'GET', path: '/away' }, options())).rejects.toThrow(
      RedirectRefusedError,
    );
    expect(seen.map((request) => request.url)).toEqual(['/api/away']);
    await expect(sendToResource({ method: 'GET', path: '/out-of-allowance' }, options())).rejects.toThrow(
      HttpRequestRefusedError,
    );
    await expect(sendToResource({ method: 'GET', path: '/loop' }, options())).rejects.toThrow(/More than 3/);
    // Off the base path is off the resource.
    const narrower = resource({ baseUrl: `http://127.0.0.1:${port}/api/items`, paths: ['/*'] });
    await expect(
      sendToResource({ method: 'GET', path: '/1' }, options({ resource: narrower })),
    ).resolves.toMatchObject({
      status: 200,
    });
    expect(seen.filter((request) => request.url.startsWith('/api/admin'))).toEqual([]);
  });

  it('caps the response: fails past the cap, or keeps the first bytes', async () => {
    await expect(sendToResource({ method: 'GET', path: '/big' }, options())).rejects.toThrow(
      ResponseTooLargeError,
    );
    const kept = await sendToResource({ method: 'GET', path: '/big' }, options({ oversize: 'truncate' }));
    expect(kept.truncated).toBe(true);
    expect(kept.bytes).toBe(4096);
  });

  it('enforces the timeout', async () => {
    const started = Date.now();
    await expect(
      sendToResource({ method: 'GET', path: '/slow' }, options({ timeoutMs: 300 })),
    ).rejects.toThrow(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(1400);
  });
});
