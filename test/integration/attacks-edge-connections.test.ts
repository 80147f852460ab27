/**
 * An attacker's pass at the local edge's connections (lib/local/connection-limits.ts), on the whole
 * platform started with small limits through its start options: every tenant reaches the edge by
 * its host name on one port, so whoever holds its connections holds everyone's.
 *
 * - Slow headers (slowloris): a head sent one byte at a time is cut at the head limit (408), while
 *   another tenant is served; one that completes just inside it is served.
 * - A trickled body: a run request whose body would arrive after the request limit is cut there
 *   (408) and no run of it exists; the same request just inside the limit is accepted.
 * - Answers held open are not requests: a `Prefer: wait` run request is answered after longer than
 *   the request limit, and the run's log page read after it.
 * - Connections up to the cap, then one more: the extra one is answered 503 with Retry-After at once;
 *   once the attacker's sockets close, the edge serves again.
 * - One client's connections up to its share of the cap, then one more: the extra one is answered 503,
 *   and another tenant, from another address, is served end to end while the attacker holds them.
 * - An idle kept-alive connection is reused just inside the keep-alive limit and closed after it.
 * - The loopback servers behind the edge (the Lambda endpoint, dynalite, fauxqs), which anything on
 *   the machine can reach and which read a request's head before they can refuse its signature:
 *   a head that never completes is cut at their head limit (INTERNAL_LIMITS, the edge's default
 *   10 s; the one case here on a default, so it takes that long), not Node's 60 s.
 *
 * Each cut is logged by the platform. On the edge before (Node's defaults: 60 s for a head, 300 s for
 * a request, checked every 30 s, no cap; the limits option did not exist) every cut case fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/env.ts';
import { INTERNAL_LIMITS } from '../../lib/local/connection-limits.ts';
import { call } from '../support/http.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { expectRetryLater, type Raw, raw as rawTo, trickle } from '../support/raw-socket.ts';
import { type Bystander, bystander, type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-edge-connections-password';
const LIMITS = {
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  keepAliveTimeoutMs: 1_000,
  idleTimeoutMs: 10_000,
  maxConnections: 24,
  maxConnectionsPerClient: 12,
};

const lines: string[] = [];
const t = await startTestPlatform(PASSWORD, { edgeLimits: LIMITS, log: (line) => lines.push(line) });
let alice: string;
let acme: Runner;
let globex: Bystander;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  globex = await bystander(t);
});

afterAll(async () => {
  await t.stop();
});

/** A raw connection to the platform's edge (or another port of it), from `from` when given. */
function raw(port = t.platform.port, from?: string): Promise<Raw> {
  return rawTo(port, from);
}

/** The attacker's addresses (the suite's own clients, globex's above all, come from 127.0.0.1). */
const ATTACKER = ['127.0.0.3', '127.0.0.4'] as const;

/** The edge holds no connection (the suite's kept-alive ones closed): a known start for a count. */
async function edgeIdle(): Promise<void> {
  await expect.poll(() => t.platform.edgeConnections(), { timeout: 5_000 }).toBe(0);
}

describe('slow headers (slowloris)', () => {
  const head = `GET /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nUser-Agent: slowloris/1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n`;

  it('serves a head sent in pieces that completes just inside the head limit', async () => {
    const client = await raw();
    await trickle(client.socket, head, 15, 500);
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('cuts a head still arriving byte by byte at the head limit (408), while another tenant is served', async () => {
    const attacker = await raw();
    void trickle(attacker.socket, head, head.length, 3_000);
    await globex.stillServed();
    const closedAt = await attacker.closed;
    expect(closedAt).toBeGreaterThanOrEqual(950);
    expect(closedAt).toBeLessThan(1_800);
    expect(attacker.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(attacker.text()).toContain('urn:execfabric:problem:request-timeout');
    expect(lines).toContainEqual(
      expect.stringMatching(/^local edge: 127\.0\.0\.1:\d+: no complete request head within 1000 ms/),
    );
  });
});

describe('a trickled body', () => {
  let skill: string;
  beforeAll(async () => {
    skill = await acme.skill('def main(inputs, ctx):\n    return inputs\n');
  });

  /** The run request of `marker`, its body sent over `overMs`; resolves with the raw exchange. */
  async function trickledRun(marker: string, overMs: number): Promise<Raw> {
    const body = JSON.stringify({ input: { marker, padding: 'p'.repeat(40) } });
    const client = await raw();
    client.socket.write(
      `POST /api/skills/${skill}/executions HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nAuthorization: Bearer ${alice}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    await trickle(client.socket, body, 20, overMs);
    await client.closed;
    return client;
  }

  async function runsOf(marker: string): Promise<unknown[]> {
    const page = await t.send({ host: HOSTS.acme, token: alice, path: '/api/executions?limit=100' });
    expect(page.status, page.text).toBe(200);
    return (page.body.items as { input?: { marker?: string } }[]).filter(
      (run) => run.input?.marker === marker,
    );
  }

  it('accepts a run request whose body completes just inside the request limit', async () => {
    const marker = unique('inside');
    const client = await trickledRun(marker, 1_200);
    expect(client.text()).toMatch(/^HTTP\/1\.1 202 /);
    expect(await runsOf(marker)).toHaveLength(1);
  });

  it('cuts one still trickling at the request limit (408) and writes nothing of it', async () => {
    const marker = unique('cut');
    const started = Date.now();
    const client = await trickledRun(marker, 4_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_950);
    expect(Date.now() - started).toBeLessThan(3_200);
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(client.text()).toContain('urn:execfabric:problem:request-timeout');
    expect(await runsOf(marker)).toEqual([]);
    // Logged once, by the edge, as what it is (not also as an upload its client abandoned).
    expect(lines.filter((line) => line.includes('abandoned'))).toEqual([]);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /POST \/api\/skills\/[^/]+\/executions: the request did not arrive within 2000 ms: answered 408/,
      ),
    );
    await globex.stillServed();
  });
});

describe('answers held open', () => {
  it('answers a Prefer: wait run request after longer than the request limit, and serves its log page', async () => {
    const skill = await acme.skill(
      'import time\n\ndef main(inputs, ctx):\n    print("waited", flush=True)\n    time.sleep(3)\n    return {"slept": True}\n',
    );
    const started = Date.now();
    const answer = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: `/api/skills/${skill}/executions`,
      headers: { prefer: 'wait=9' },
      body: { input: {} },
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.status).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThan(LIMITS.requestTimeoutMs);
    const logs = await t.send({
      host: HOSTS.acme,
      token: alice,
      path: `/api/executions/${answer.body.id}/logs`,
    });
    expect(logs.status, logs.text).toBe(200);
    expect(JSON.stringify(logs.body.chunks)).toContain('waited');
  });
});

describe('the connection cap', () => {
  it('answers the connection past the cap 503 with Retry-After at once, and serves again once the attacker goes', async () => {
    await edgeIdle();
    // From two addresses, each within one client's share: together they fill the cap.
    const attacker = await Promise.all(
      Array.from({ length: LIMITS.maxConnections }, (_, n) => raw(undefined, ATTACKER[n % 2])),
    );
    await expect.poll(() => t.platform.edgeConnections()).toBe(LIMITS.maxConnections);
    const started = Date.now();
    const extra = await raw(undefined, '127.0.0.5');
    extra.socket.write(`GET /api/health HTTP/1.1\r\nHost: ${HOSTS.globex}\r\n\r\n`);
    await extra.closed;
    expect(Date.now() - started).toBeLessThan(900);
    expectRetryLater(extra.text());
    expect(lines).toContainEqual(
      expect.stringMatching(/past the cap of 24: answered 503 \(Retry-After: 1\)$/),
    );
    for (const socket of attacker) socket.socket.destroy();
    await edgeIdle();
    await globex.stillServed();
  });
});

describe('one client’s share of the cap', () => {
  it('answers one client past its share 503, while another tenant is served end to end', async () => {
    await edgeIdle();
    const attacker = await Promise.all(
      Array.from({ length: LIMITS.maxConnectionsPerClient }, () => raw(undefined, ATTACKER[0])),
    );
    await expect.poll(() => t.platform.edgeConnections()).toBe(LIMITS.maxConnectionsPerClient);
    const extra = await raw(undefined, ATTACKER[0]);
    extra.socket.write(`GET /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\n\r\n`);
    await extra.closed;
    expectRetryLater(extra.text());
    expect(lines).toContainEqual(
      expect.stringMatching(
        /from 127\.0\.0\.3, past one client's cap of 12: answered 503 \(Retry-After: 1\)$/,
      ),
    );
    // Half the cap is still free: another client is served while the attacker holds its share (the
    // attacker's sockets are cut at the head limit, 1 s after they opened: they are still open here).
    const health = await call(t.platform.url, { host: HOSTS.globex, path: '/api/health' });
    expect(health.status, health.text).toBe(200);
    expect(attacker.filter((socket) => socket.socket.destroyed)).toEqual([]);
    for (const socket of attacker) socket.socket.destroy();
    await edgeIdle();
    await globex.stillServed();
  });
});

describe('an idle kept-alive connection', () => {
  it('is reused just inside the keep-alive limit and closed after it', async () => {
    const client = await raw();
    const request = `GET /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\n\r\n`;
    client.socket.write(request);
    await expect.poll(() => client.text()).toMatch(/^HTTP\/1\.1 200 [\s\S]*Keep-Alive: timeout=1\r\n/);
    await sleep(800);
    client.socket.write(request);
    await expect.poll(() => client.text().match(/HTTP\/1\.1 200 /g)?.length).toBe(2);
    const answered = Date.now();
    await client.closed;
    expect(Date.now() - answered).toBeGreaterThanOrEqual(950);
    expect(Date.now() - answered).toBeLessThan(2_500);
  });
});

describe('the loopback servers behind the edge', () => {
  it('cut a head that never completes at their head limit', { timeout: 30_000 }, async () => {
    const ports: [string, number][] = [
      ['the Lambda endpoint', Number(new URL(t.platform.env[ENV.lambdaEndpoint] ?? '').port)],
      ['dynalite', Number(new URL(t.platform.services.dynamodbEndpoint).port)],
      ['fauxqs', Number(new URL(t.platform.services.sqsEndpoint).port)],
    ];
    const attackers = await Promise.all(
      ports.map(async ([name, port]) => {
        const client = await raw(port);
        client.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
        return { name, client };
      }),
    );
    for (const { name, client } of attackers) {
      const closedAt = await client.closed;
      expect(closedAt, name).toBeGreaterThanOrEqual(INTERNAL_LIMITS.headersTimeoutMs - 50);
      expect(closedAt, name).toBeLessThan(INTERNAL_LIMITS.headersTimeoutMs + 2_500);
      expect(client.text(), name).toMatch(/^HTTP\/1\.1 408 /);
    }
    await globex.stillServed();
  });
});
