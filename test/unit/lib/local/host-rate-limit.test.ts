/**
 * The per-host API rate limit of the local edge (lib/local/host-rate-limit.ts, the rule in
 * lib/edge/rate-limit.ts): the count at its edge, the window's end, the bound on hosts counted; then
 * on a real HTTP server with the real viewer-request function, as a flooding tenant meets it: its
 * request past the limit is answered 429 problem+json with Retry-After and never reaches a
 * function, while another host, the static sites and the next window are served.
 */
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST_API_RATE } from '../../../../lib/edge/rate-limit.ts';
import { compileViewerRequest, viewerRequestSource } from '../../../../lib/edge/viewer-request.ts';
import { HostRateLimiter, MAX_COUNTED_HOSTS } from '../../../../lib/local/host-rate-limit.ts';
import { createLocalRouter, type LocalRouterOptions } from '../../../../lib/local/router.ts';

const MINUTE = { requests: 3, windowSeconds: 60 } as const;
/** A moment 10 s into a window. */
const T0 = 1_800_000_000_000 + 10_000;

describe('HostRateLimiter', () => {
  it('lets a host send exactly the rule’s requests in a window, then says when the window ends', () => {
    let now = T0;
    const limiter = new HostRateLimiter(MINUTE, () => now);
    for (let n = 0; n < MINUTE.requests; n += 1) expect(limiter.take('acme.example', '127.0.0.1')).toBeNull();
    expect(limiter.take('acme.example', '127.0.0.1')).toEqual({ retryAfterSeconds: 50, firstRefusal: true });
    now += 49_500;
    expect(limiter.take('acme.example', '127.0.0.1')).toEqual({ retryAfterSeconds: 1, firstRefusal: false });
    // Another host has its own count.
    expect(limiter.take('globex.example', '127.0.0.1')).toBeNull();
    // The next window starts every count again.
    now += 500;
    expect(limiter.take('acme.example', '127.0.0.1')).toBeNull();
  });

  it('counts a host’s requests per client address: no one spends another’s budget', () => {
    const limiter = new HostRateLimiter(MINUTE, () => T0);
    // An outsider sends the tenant's Host with no credential until it is refused…
    for (let n = 0; n < MINUTE.requests; n += 1)
      expect(limiter.take('acme.example', '203.0.113.9')).toBeNull();
    expect(limiter.take('acme.example', '203.0.113.9')).not.toBeNull();
    // …and the tenant's own users, elsewhere, are counted on their own.
    expect(limiter.take('acme.example', '198.51.100.20')).toBeNull();
    expect(limiter.take('acme.example', '2001:db8::20')).toBeNull();
  });

  it('counts at most MAX_COUNTED_HOSTS hosts in a window; a spray of made-up hosts refuses no one else', () => {
    let now = T0;
    let fills = 0;
    const limiter = new HostRateLimiter(
      MINUTE,
      () => now,
      () => fills++,
    );
    // A host counted before the table fills keeps its own count.
    for (let n = 0; n < MINUTE.requests; n += 1) expect(limiter.take('acme.example', '127.0.0.1')).toBeNull();
    for (let n = 1; n < MAX_COUNTED_HOSTS; n += 1)
      expect(limiter.take(`junk${n}.example`, '127.0.0.1')).toBeNull();
    expect(fills).toBe(0);
    expect(limiter.take('acme.example', '127.0.0.1')).not.toBeNull();
    // A host first seen after the table filled is not counted (before, all such hosts shared one
    // count, so the spray pushed every tenant first seen after it into 429); told once a window.
    for (let n = 0; n < 3 * MINUTE.requests; n += 1)
      expect(limiter.take('globex.example', '127.0.0.1')).toBeNull();
    expect(limiter.take('more-junk.example', '127.0.0.1')).toBeNull();
    expect(fills).toBe(1);
    // The next window counts every host again.
    now += 60_000;
    for (let n = 0; n < MINUTE.requests; n += 1)
      expect(limiter.take('globex.example', '127.0.0.1')).toBeNull();
    expect(limiter.take('globex.example', '127.0.0.1')).not.toBeNull();
  });

  it('holds the documented rule: 3,000 API requests a minute per host', () => {
    expect(HOST_API_RATE).toEqual({ requests: 3000, windowSeconds: 60 });
  });
});

const viewerRequest = compileViewerRequest(
  viewerRequestSource({ adminHosts: ['admin.localhost'], freeHosts: ['free.localhost'], docsHosts: [] }),
);

let server: Server | undefined;

afterEach(async () => {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** One request (on a new connection unless an agent is given), with the Host given (fetch sends its own). */
function send(
  port: number,
  options: { host: string; path: string; method?: string; body?: string },
  agent: Agent | false = false,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path,
        method: options.method ?? 'GET',
        agent,
        headers: {
          host: options.host,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** The local edge on a real port, with the real viewer function and these options; its port. */
async function edge(
  options: Omit<LocalRouterOptions, 'root' | 'viewerRequest' | 'originSecret'>,
): Promise<number> {
  server = createServer(
    createLocalRouter({
      root: fileURLToPath(new URL('../../../../', import.meta.url)),
      viewerRequest,
      originSecret: 'origin-secret',
      ...options,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('the local edge under a flooding host', () => {
  it('answers past the limit 429 with Retry-After, invokes nothing for it, and serves the others', async () => {
    let now = T0;
    const invoked: string[] = [];
    const lines: string[] = [];
    const port = await edge({
      invoke: () => async (event) => {
        const { headers } = event as { headers: Record<string, string> };
        invoked.push(headers['x-execfabric-host'] ?? '');
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
      },
      log: (line) => lines.push(line),
      hostRateLimit: MINUTE,
      now: () => now,
    });
    const get = (host: string, path = '/api/health') => send(port, { host, path });

    for (let n = 0; n < MINUTE.requests; n += 1) expect((await get('acme.localhost')).status).toBe(200);
    const refused = await get('ACME.localhost:8080');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.headers['retry-after']).toBe('50');
    expect(JSON.parse(refused.body)).toEqual({
      type: 'urn:execfabric:problem:rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: 'More than 3 API requests to this host from your address in 60 seconds; try again in 50 s',
      retryAfterSeconds: 50,
    });
    // A POST with a body is refused the same, unread; MCP counts as an API path.
    const post = await send(port, {
      host: 'acme.localhost',
      path: '/api/skills',
      method: 'POST',
      body: JSON.stringify({ name: 'x'.repeat(10_000) }),
    });
    expect(post.status).toBe(429);
    expect((await get('acme.localhost', '/mcp')).status).toBe(429);
    expect(invoked.filter((host) => host === 'acme.localhost')).toHaveLength(MINUTE.requests);
    // One log line per host and window, not one per refusal.
    expect(lines).toEqual([
      'local router: acme.localhost from 127.0.0.1 passed 3 API requests in 60 s; refusing until its window ends',
    ]);

    // Another tenant is served; the flooding host's pages are not API requests.
    expect((await get('globex.localhost')).status).toBe(200);
    expect((await get('acme.localhost', '/index.html')).status).not.toBe(429);

    // The next window serves the host again.
    now += 50_000;
    expect((await get('acme.localhost')).status).toBe(200);
  });

  it('holds the documented rule when none is given, as `npm start` runs it', async () => {
    const now = T0;
    const port = await edge({
      invoke: () => async () => ({ statusCode: 200, body: '{}' }),
      log: () => undefined,
      now: () => now,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = await Promise.all(
      Array.from({ length: HOST_API_RATE.requests + 1 }, () =>
        send(port, { host: 'acme.localhost', path: '/api/health' }, agent),
      ),
    );
    agent.destroy();
    expect(statuses.filter((answer) => answer.status === 200)).toHaveLength(HOST_API_RATE.requests);
    expect(statuses.filter((answer) => answer.status === 429)).toHaveLength(1);
  });

  it('counts nothing when the limit is off', async () => {
    const port = await edge({
      invoke: () => async () => ({ statusCode: 200, body: '{}' }),
      hostRateLimit: false,
    });
    for (let n = 0; n < 20; n += 1) {
      expect((await send(port, { host: 'acme.localhost', path: '/api/health' })).status).toBe(200);
    }
  });
});
