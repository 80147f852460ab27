/**
 * The edge's connection limits (lib/local/connection-limits.ts), each at its edge, on a real HTTP
 * server with a stand-in for the router and small limits: a request head or body that arrives just
 * inside its limit is served, one that would arrive just after it is cut there (408, problem+json,
 * nothing passed on, logged); an answer may take longer than the request limit; a kept-alive
 * connection is reused just inside its idle limit and closed after it; a connection at the cap is
 * served, the one past it is answered 503 with Retry-After, those far past it are closed unanswered,
 * and the edge serves again once the holders go; one client past its share of the cap is answered
 * 503 while another client is served. On Node's defaults (the edge before) every cut case
 * fails: Node waits 60 s for a head and 300 s for a request, checked every 30 s, with no cap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_RUN_WAIT_SECONDS } from '../../../../functions/contract/headers.ts';
import { MAX_POLL_WAIT_SECONDS } from '../../../../functions/core/agents/agents.ts';
import { MAX_WAIT_SECONDS as MAX_MCP_WAIT_SECONDS } from '../../../../functions/core/mcp/clients.ts';
import {
  type ConnectionLimits,
  clientOf,
  connectionLimits,
  EDGE_LIMITS,
  type EdgeServer,
  OVERFLOW_CONNECTIONS,
} from '../../../../lib/local/connection-limits.ts';
import { functions, routes } from '../../../../lib/topology.ts';
import { edgeStands, expectRetryLater, type Raw, raw, trickle } from '../../../support/raw-socket.ts';

const standOn = edgeStands();

interface Stand {
  readonly port: number;
  readonly lines: string[];
  /** Bodies the stand-in router received whole. */
  readonly received: string[];
  readonly edge: EdgeServer;
}

/**
 * An edge with `limits` over the defaults, around a stand-in router: it reads the body, then answers
 * 200 with it; after `delay` ms when the path is `/slow?ms=N`; never when it is `/never`.
 */
async function start(limits: Partial<ConnectionLimits>): Promise<Stand> {
  const received: string[] = [];
  const router = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
    } catch {
      return; // cut mid-body: nothing is passed on
    }
    const body = Buffer.concat(chunks).toString();
    received.push(body);
    const url = new URL(request.url ?? '/', 'http://edge');
    if (url.pathname === '/never') return;
    if (url.pathname === '/slow') await sleep(Number(url.searchParams.get('ms')));
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(`got ${body.length}`);
  };
  return { ...(await standOn(router, limits)), received };
}

/** A whole exchange on a fresh connection: the status line of the answer, or '' when closed without one. */
async function status(port: number, request: string): Promise<string> {
  const client = await raw(port);
  client.socket.write(request);
  await client.closed.catch(() => undefined);
  return client.text().split('\r\n')[0] ?? '';
}

const HEAD = 'GET /x HTTP/1.1\r\nHost: acme.localhost\r\nX-Padding: slowloris-padding-padding\r\n\r\n';
const head = (path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: acme.localhost\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

describe('the request-head limit (slowloris)', () => {
  const limits = { headersTimeoutMs: 600, requestTimeoutMs: 1_200 };

  it('serves a head that arrives in pieces just inside it', async () => {
    const { port } = await start(limits);
    const client = await raw(port);
    await trickle(client.socket, HEAD, 10, 350);
    await expect.poll(() => client.text()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('cuts a head still arriving byte by byte at it: 408 problem+json, closed, logged; another client is served meanwhile', async () => {
    const { port, lines, received } = await start(limits);
    const attacker = await raw(port);
    // The whole head would take 1.5 × the limit.
    void trickle(attacker.socket, HEAD, HEAD.length, 900);
    await sleep(200);
    expect(await status(port, 'GET /x HTTP/1.1\r\nHost: globex.localhost\r\nConnection: close\r\n\r\n')).toBe(
      'HTTP/1.1 200 OK',
    );
    const closedAt = await attacker.closed;
    expect(closedAt).toBeGreaterThanOrEqual(550);
    expect(closedAt).toBeLessThan(1_200);
    expect(attacker.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(attacker.text()).toContain('Content-Type: application/problem+json');
    expect(attacker.text()).toContain('urn:execfabric:problem:request-timeout');
    expect(received).toEqual(['']); // the other client's request only
    expect(lines).toEqual([expect.stringMatching(/no complete request head within 600 ms: answered 408/)]);
  });

  it('cuts a connection that sends nothing at it', async () => {
    const { port } = await start(limits);
    const silent = await raw(port);
    const closedAt = await silent.closed;
    expect(closedAt).toBeGreaterThanOrEqual(550);
    expect(closedAt).toBeLessThan(1_200);
    expect(silent.text()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('the whole-request limit (a trickled body)', () => {
  const limits = { headersTimeoutMs: 400, requestTimeoutMs: 1_000, idleTimeoutMs: 3_000 };
  const body = 'x'.repeat(20);

  it('passes a body that arrives just inside it on whole', async () => {
    const { port, received } = await start(limits);
    const client = await raw(port);
    client.socket.write(head('/upload', body.length));
    await trickle(client.socket, body, 10, 600);
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toEqual([body]);
  });

  it('cuts a body still trickling at it: 408, closed, logged with its path, and nothing of it passed on', async () => {
    const { port, lines, received } = await start(limits);
    const client = await raw(port);
    client.socket.write(head('/upload?tenant=acme', body.length));
    void trickle(client.socket, body, body.length, 1_500);
    const closedAt = await client.closed;
    expect(closedAt).toBeGreaterThanOrEqual(950);
    expect(closedAt).toBeLessThan(1_700);
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(client.text()).toContain('urn:execfabric:problem:request-timeout');
    expect(received).toEqual([]);
    expect(lines).toEqual([
      expect.stringMatching(
        /POST \/upload: the request did not arrive within 1000 ms: answered 408, closed; nothing of it was passed on$/,
      ),
    ]);
  });

  it('does not hold an answer to it: an answer slower than the request limit still arrives (Prefer: wait)', async () => {
    const { port } = await start(limits);
    expect(
      await status(port, 'GET /slow?ms=1500 HTTP/1.1\r\nHost: acme.localhost\r\nConnection: close\r\n\r\n'),
    ).toBe('HTTP/1.1 200 OK');
  });
});

describe('the idle limit while a request is in hand', () => {
  const limits = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 1_200 };

  it('waits for an answer that comes just inside it', async () => {
    const { port } = await start(limits);
    expect(
      await status(port, 'GET /slow?ms=900 HTTP/1.1\r\nHost: acme.localhost\r\nConnection: close\r\n\r\n'),
    ).toBe('HTTP/1.1 200 OK');
  });

  it('answers 504 for one that never comes, at it, and logs it', async () => {
    const { port, lines } = await start(limits);
    const client = await raw(port);
    client.socket.write('GET /never HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    const closedAt = await client.closed;
    expect(closedAt).toBeGreaterThanOrEqual(1_150);
    expect(closedAt).toBeLessThan(2_200);
    expect(client.text()).toMatch(/^HTTP\/1\.1 504 /);
    expect(client.text()).toContain('urn:execfabric:problem:gateway-timeout');
    expect(lines).toEqual([expect.stringMatching(/GET \/never: no answer within 1200 ms: answered 504/)]);
  });

  it('closes a connection whose client stops reading its answer', async () => {
    const { port, lines, edge } = await standOn((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(Buffer.alloc(16 * 1024 * 1024));
    }, limits);
    const client = await raw(port);
    client.socket.pause();
    const started = Date.now();
    client.socket.write('GET /big HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    // The client, not reading, cannot see the close: the edge's side is what is looked at.
    await expect.poll(() => edge.connections(), { timeout: 5_000 }).toBe(0);
    // Node re-arms the timer once when a write was still moving at its first expiry: the cut comes
    // one to two idle periods after the answer stalls.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_150);
    expect(Date.now() - started).toBeLessThan(3_200);
    expect(lines).toEqual([expect.stringMatching(/GET \/big: idle for 1200 ms mid-exchange: closed/)]);
    client.socket.destroy();
  });
});

describe('the keep-alive limit', () => {
  const limits = { keepAliveTimeoutMs: 1_000 };

  it('reuses a kept-alive connection just inside it, and closes it after, without a log line', async () => {
    const { port, lines } = await start(limits);
    const client = await raw(port);
    client.socket.write('GET /x HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    await expect.poll(() => client.text()).toContain('got 0');
    expect(client.text()).toContain('Keep-Alive: timeout=1\r\n');
    await sleep(800);
    client.socket.write('GET /y HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    await expect.poll(() => client.text().match(/HTTP\/1\.1 200 /g)?.length).toBe(2);
    const answered = Date.now();
    await client.closed;
    // Node closes it a little after the advertised time (up to a second), so the client closes first.
    expect(Date.now() - answered).toBeGreaterThanOrEqual(950);
    expect(Date.now() - answered).toBeLessThan(2_300);
    expect(lines).toEqual([]);
  });
});

describe('the connection cap', () => {
  // Long time limits: the holders must keep their slots while the test looks.
  const limits = { maxConnections: 3, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 };

  it('serves the connection at the cap, answers the one past it 503 with Retry-After, and serves again once the holders go', async () => {
    const { port, lines, edge } = await start(limits);
    const holders = [await raw(port), await raw(port)];
    await expect.poll(() => edge.connections()).toBe(2);
    // The third is at the cap: served.
    const third = await raw(port);
    third.socket.write('GET /x HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    await expect.poll(() => third.text()).toMatch(/^HTTP\/1\.1 200 /);
    // The fourth is past it: answered at once, and closed.
    const started = Date.now();
    const fourth = await raw(port);
    fourth.socket.write('GET /x HTTP/1.1\r\nHost: globex.localhost\r\n\r\n');
    await fourth.closed;
    expect(Date.now() - started).toBeLessThan(900);
    expectRetryLater(fourth.text());
    expect(lines).toEqual([
      expect.stringMatching(/4 connections open, past the cap of 3: answered 503 \(Retry-After: 1\)$/),
    ]);
    // One past the cap that sends nothing is closed after a second's grace.
    const silent = await raw(port);
    expect(await silent.closed).toBeLessThan(1_500);
    // The holders go: the edge serves again.
    for (const holder of [...holders, third]) holder.socket.destroy();
    await expect.poll(() => edge.connections()).toBe(0);
    expect(await status(port, 'GET /x HTTP/1.1\r\nHost: globex.localhost\r\nConnection: close\r\n\r\n')).toBe(
      'HTTP/1.1 200 OK',
    );
  });

  it(`closes connections unanswered past the cap and ${OVERFLOW_CONNECTIONS} more, at once`, async () => {
    const { port, lines, edge } = await start(limits);
    const held: Raw[] = [];
    for (let i = 0; i < 3 + OVERFLOW_CONNECTIONS; i += 1) held.push(await raw(port));
    await expect.poll(() => edge.connections()).toBe(3 + OVERFLOW_CONNECTIONS);
    const dropped = await raw(port);
    expect(await dropped.closed).toBeLessThan(500);
    expect(dropped.text()).toBe('');
    expect(lines).toContainEqual(expect.stringMatching(/67 connections open: closed unanswered$/));
    for (const holder of held) holder.socket.destroy();
    await expect.poll(() => edge.connections()).toBe(0);
    expect(await status(port, 'GET /x HTTP/1.1\r\nHost: globex.localhost\r\nConnection: close\r\n\r\n')).toBe(
      'HTTP/1.1 200 OK',
    );
  });
});

describe('one client’s share of the cap', () => {
  const limits = {
    maxConnections: 10,
    maxConnectionsPerClient: 2,
    headersTimeoutMs: 5_000,
    requestTimeoutMs: 10_000,
  };

  it('answers the connection past a client’s share 503, serves another client meanwhile, and the first again once it closes one', async () => {
    const { port, lines, edge } = await start(limits);
    const holders = [await raw(port), await raw(port)];
    await expect.poll(() => edge.connections()).toBe(2);
    // The attacker's third: past its share, with eight slots of the cap still free.
    const third = await raw(port);
    third.socket.write('GET /x HTTP/1.1\r\nHost: acme.localhost\r\n\r\n');
    await third.closed;
    expectRetryLater(third.text());
    expect(third.text()).toContain('At most 2 connections at once from one client');
    expect(lines).toEqual([
      expect.stringMatching(
        /3 connections open from 127\.0\.0\.1, past one client's cap of 2: answered 503 \(Retry-After: 1\)$/,
      ),
    ]);
    // Another client (another address) is served while the attacker holds its share.
    const other = await raw(port, '127.0.0.2');
    other.socket.write('GET /x HTTP/1.1\r\nHost: globex.localhost\r\nConnection: close\r\n\r\n');
    await other.closed;
    expect(other.text()).toMatch(/^HTTP\/1\.1 200 /);
    // The attacker closes one: it is served again.
    holders[0]?.socket.destroy();
    await expect.poll(() => edge.connections()).toBe(1);
    expect(await status(port, 'GET /x HTTP/1.1\r\nHost: acme.localhost\r\nConnection: close\r\n\r\n')).toBe(
      'HTTP/1.1 200 OK',
    );
  });

  it('counts an IPv4 client by its address, however written, and an IPv6 one by its /64', () => {
    expect(clientOf('203.0.113.5')).toBe('203.0.113.5');
    expect(clientOf('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(clientOf('::FFFF:203.0.113.5')).toBe('203.0.113.5');
    expect(clientOf('203.0.113.6')).not.toBe(clientOf('203.0.113.5'));
    // One host's addresses in its /64 are one client; the next /64 is another.
    const host = clientOf('2001:db8:1:2:3:4:5:6');
    expect(host).toBe('2001:db8:1:2::/64');
    for (const address of ['2001:db8:1:2::9', '2001:0db8:0001:0002:ffff::', '2001:db8:1:2::192.0.2.1'])
      expect(clientOf(address)).toBe(host);
    expect(clientOf('2001:db8:1:3::1')).not.toBe(host);
    expect(clientOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
    expect(clientOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientOf(undefined)).toBe('unknown');
  });
});

describe('the limits themselves', () => {
  it('default to the documented values', () => {
    expect(connectionLimits()).toEqual(EDGE_LIMITS);
    expect(EDGE_LIMITS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 60_000,
      maxConnections: 1_024,
      maxConnectionsPerClient: 256,
    });
  });

  it('let every answer the API holds open arrive: the idle limit outlasts the API functions and the longest waits', () => {
    const holds = [
      ...routes.map((route) => functions[route.function].timeoutSeconds),
      MAX_RUN_WAIT_SECONDS,
      MAX_POLL_WAIT_SECONDS,
      MAX_MCP_WAIT_SECONDS,
    ];
    expect(EDGE_LIMITS.idleTimeoutMs).toBeGreaterThan(Math.max(...holds) * 1000);
  });

  it('refuse values that make no sense', () => {
    expect(() => connectionLimits({ maxConnections: 0 })).toThrow(/maxConnections must be a whole number/);
    expect(() => connectionLimits({ maxConnectionsPerClient: 0 })).toThrow(
      /maxConnectionsPerClient must be a whole number/,
    );
    expect(() => connectionLimits({ idleTimeoutMs: 1.5 })).toThrow(/idleTimeoutMs/);
    expect(() => connectionLimits({ headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 })).toThrow(
      /headersTimeoutMs \(2000\) must not pass requestTimeoutMs \(1000\)/,
    );
  });
});
