/**
 * A third attacker's pass, at what the last sessions added: the edge's per-host API count
 * (docs/decisions/host-rate-limit.md), its connection limits (edge-connections.md) and the agent
 * channel's leases and long polls (agents.md). One platform for the file, counting API requests per
 * host under a rule small enough to reach; as a hostile tenant with its own credentials, and as an
 * anonymous outsider. Every case checks what the attack got and that another tenant is still served.
 *
 * - HTTP/1.1 pipelining: one connection sent 20,000 API requests for made-up hosts in 1 MiB; the
 *   edge passed every one to its function at once (20,000 invocations, ~1.2 GiB of heap within two
 *   seconds), so the connection cap bounded nothing. The edge now passes a connection's requests on
 *   one at a time and closes one with more than MAX_REQUESTS_IN_HAND in hand; the case fails without
 *   it (its table requests are counted). A short pipeline is still answered, in order.
 * - Host names that are none: each Host was its own count, whatever its length (Node takes 16 KiB
 *   of head), so the count table could hold 100,000 keys of 16 KiB for a window. A Host that is no
 *   host name is now counted under one shared key; the case fails without it (every long host got
 *   its own count, so none was refused).
 * - Agent polls: one agent's token held as many 10 s polls as it sent, each reading the table every
 *   500 ms; 400 kept another tenant's waited run from answering for 18 s (3 s into the flood). An agent now holds at
 *   most MAX_POLLS_PER_AGENT polls waiting, and a tenant's agents at most
 *   MAX_READING_POLLS_PER_TENANT reading; the case fails without the bounds.
 * - Agent leases: a lapsed lease, once its job went to another poll, writes no log and no result.
 * - The count was the Host's alone, and anyone may send any Host: without a credential, an outsider
 *   spent a tenant's whole budget (under case and port variants of its host too, which all count as
 *   one), and the tenant's own signed-in requests were refused until the window ended. The count is
 *   now per host and client address (locally and in WAF's key); the last case fails without it.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_CONFIRM_SECONDS, MAX_POLLS_PER_AGENT } from '../../functions/core/agents/agents.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { tenantContext } from '../../functions/core/tenancy/hosts.ts';
import { EDGE_LIMITS, MAX_REQUESTS_IN_HAND } from '../../lib/local/connection-limits.ts';
import { call } from '../support/http.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { type Bystander, bystander, type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-third-pass-password';
/** Enough for every case's own requests on acme; reached on purpose by the outsider on globex. */
const RULE = { requests: 600, windowSeconds: 600 } as const;

/** The count's clock, held a second into a window: the whole file is counted in one window. */
const CLOCK = (Math.floor(Date.now() / (RULE.windowSeconds * 1000)) + 1) * RULE.windowSeconds * 1000 + 1000;
/** Where the outsider connects from (Linux routes all of 127/8 to the loopback). */
const OUTSIDER = '127.0.0.2';

const lines: string[] = [];
const t = await startTestPlatform(PASSWORD, {
  hostRateLimit: RULE,
  hostRateClock: () => CLOCK,
  log: (line) => lines.push(line),
});
let alice: string;
let acme: Runner;
let globex: Bystander;
let acmeDomain: TenantContext;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  globex = await bystander(t);
  acmeDomain = (await tenantContext(t.core.table, 'acme')) as TenantContext;
}, 200_000);

afterAll(async () => {
  await t.stop();
});

/** globex's waited run of its quick Skill: the answer and how long it took, in ms. */
async function globexWaitedRun(): Promise<{ status: number; ms: number; output: unknown }> {
  const started = performance.now();
  const answer = await t.send({
    host: HOSTS.globex,
    token: globex.token,
    method: 'POST',
    path: `/api/skills/${globex.skillId}/executions`,
    body: { input: {} },
    headers: { prefer: 'wait=20' },
  });
  return { status: answer.status, ms: performance.now() - started, output: answer.body?.output };
}

function rawSocket(): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = connect(t.platform.port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('connect', () => resolve({ socket, text: () => text, closed }));
  });
}

describe('HTTP/1.1 pipelining on one connection', () => {
  it('passes a connection’s requests on one at a time, and closes one that piles them up', async () => {
    const operations: string[] = [];
    const stop = t.platform.observeRequests((request) => operations.push(request.operation));
    const { socket, closed } = await rawSocket();
    // The attacker never reads: 2,000 API requests, each for a host of its own (each its own count).
    socket.pause();
    let pipeline = '';
    for (let n = 0; n < 2_000; n += 1) {
      pipeline += `GET /api/health HTTP/1.1\r\nHost: ${unique('made-up')}.invalid\r\n\r\n`;
    }
    socket.write(pipeline);
    await Promise.race([closed, sleep(3_000)]);
    stop();
    const lookups = operations.filter((operation) => operation !== 'ReceiveMessage').length;
    // Before: every request reached the API at once, each looking its host up (~2,000 reads here).
    expect(lookups, `${lookups} table requests for one connection`).toBeLessThanOrEqual(
      4 * MAX_REQUESTS_IN_HAND,
    );
    expect(socket.destroyed || (await Promise.race([closed.then(() => true), sleep(2_000)]))).toBe(true);
    expect(lines.join('\n')).toContain(`more than ${MAX_REQUESTS_IN_HAND} requests pipelined`);
    socket.destroy();
    await globex.stillServed();
  });

  it('still answers a short pipeline, in order', async () => {
    const { socket, text, closed } = await rawSocket();
    const hosts = [HOSTS.acme, HOSTS.globex, HOSTS.acme];
    socket.write(
      hosts
        .map(
          (host, n) =>
            `GET /api/health HTTP/1.1\r\nHost: ${host}\r\n${n === hosts.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
        )
        .join(''),
    );
    await closed;
    const statuses = [...text().matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([200, 200, 200]);
    const tenants = [...text().matchAll(/"id":"(acme|globex)"/g)].map((match) => match[1]);
    expect(tenants).toEqual(['acme', 'globex', 'acme']);
  });
});

describe('Host headers that are no host name', () => {
  it('share one count, so a spray of long ones cannot grow the count table', async () => {
    const long = (n: number) => `${'x'.repeat(300)}${n}.invalid`;
    const answers: number[] = [];
    // In batches, on one connection pool: the edge's own requests, not a parallel flood.
    for (let n = 0; n <= RULE.requests; n += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, RULE.requests + 1 - n) }, (_, k) =>
          call(t.platform.url, { host: long(n + k), path: '/api/health' }).then((answer) => answer.status),
        ),
      );
      answers.push(...batch);
    }
    // Before: each was a count of its own (and a key of its whole length); all were looked up, 404.
    expect(answers.slice(0, RULE.requests).every((status) => status === 404)).toBe(true);
    expect(answers[RULE.requests]).toBe(429);
    // Nobody real is hurt: tenants' hosts are names, each its own count.
    await globex.stillServed();
    expect((await call(t.platform.url, { host: HOSTS.acme, path: '/api/health' })).status).toBe(200);
  }, 120_000);
});

describe('an agent’s long polls, sent by the hundred', () => {
  it('are held a few at a time, and do not hold another tenant’s waited run', {
    timeout: 90_000,
  }, async () => {
    const created = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/agents',
      body: { name: 'poll-flood' },
    });
    expect(created.status, created.text).toBe(201);
    const token = String(created.body.token);
    const before = await globexWaitedRun();
    expect(before.status).toBe(200);

    const floodStarted = performance.now();
    const flood = Array.from({ length: 300 }, () =>
      t
        .send({
          host: HOSTS.acme,
          token,
          method: 'POST',
          path: '/api/agent/poll',
          body: { name: 'poll-flood', version: '1', waitSeconds: 10 },
          // The agent's machine: another client than globex's (the suite's, 127.0.0.1).
          localAddress: '127.0.0.6',
        })
        .then((answer) => ({
          status: answer.status,
          retryAfter: answer.headers['retry-after'],
          ms: performance.now() - floodStarted,
        })),
    );
    // Once the burst is in, and while any held poll still waits, another tenant's waited run.
    await sleep(5_000);
    const during = await globexWaitedRun();
    expect(during.status).toBe(200);
    expect(during.output).toEqual({ tenant: 'globex' });
    // A loose bound (a shared machine): what fails without the bounds is the count of held polls.
    expect(during.ms, `globex's waited run took ${Math.round(during.ms)} ms`).toBeLessThan(10_000);

    const answers = await Promise.all(flood);
    // 300 at once from one address is past one client's share of the edge's connections
    // (maxConnectionsPerClient, 256): those past it are answered 503 by the edge, and never reach the
    // API. Of those that do, the agent's two held polls are answered 204 at the end of their wait;
    // the others at once, 429 with `Retry-After` (no job to hand over, and no wait for them).
    const pastShare = answers.filter(({ status }) => status === 503).length;
    expect(pastShare).toBeLessThanOrEqual(300 - EDGE_LIMITS.maxConnectionsPerClient);
    expect(answers.every(({ status }) => status === 204 || status === 429 || status === 503)).toBe(true);
    const turnedAway = answers.filter(({ status }) => status === 429);
    expect(turnedAway.length).toBeGreaterThanOrEqual(300 - pastShare - MAX_POLLS_PER_AGENT);
    expect(turnedAway.every(({ retryAfter }) => retryAfter === '1')).toBe(true);
    // Only the polls an agent may hold lasted their 10 s; the others were answered as they came.
    const held = answers.filter(({ ms }) => ms > 9_000).length;
    expect(held, `${held} polls were held`).toBeLessThanOrEqual(MAX_POLLS_PER_AGENT);
    expect(t.core.agents.pollsHeld(acmeDomain, 'poll-flood')).toEqual({ agent: 0, reading: 0 });
    await globex.stillServed();
  });
});

describe('an agent’s lapsed lease', () => {
  it('writes no log and no result once its job went to another poll', { timeout: 60_000 }, async () => {
    const created = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/agents',
      body: { name: 'lapsing' },
    });
    const token = String(created.body.token);
    const channel = (path: string, body: unknown) =>
      t.send({ host: HOSTS.acme, token, method: 'POST', path, body });
    const script = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/assets/scripts',
      body: { name: unique('lapsing'), source: 'def main(inputs, ctx):\n    return {}\n' },
    });
    const skill = await t.send({
      host: HOSTS.acme,
      token: alice,
      method: 'POST',
      path: '/api/skills',
      body: {
        name: unique('lapsing'),
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        risk: 'low',
        asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: 'lapsing' },
        limits: { timeoutSeconds: 20 },
      },
    });
    expect(skill.status, skill.text).toBe(201);
    const id = String((await acme.request(String(skill.body.id))) as string);
    const poll = () => channel('/api/agent/poll', { name: 'lapsing', version: '1', waitSeconds: 0 });
    const first = await poll();
    expect(first.status, first.text).toBe(200);
    await sleep((LEASE_CONFIRM_SECONDS + 1) * 1000);
    const second = await poll();
    expect(second.body.job.executionId).toBe(id);
    const old = String(first.body.lease);
    const logs = await channel(`/api/agent/runs/${id}/logs`, {
      lease: old,
      chunks: [{ seq: 1, stream: 'stdout', text: 'from the lapsed lease' }],
    });
    expect(logs.status).toBe(409);
    const result = await channel(`/api/agent/runs/${id}/result`, {
      lease: old,
      status: 'succeeded',
      output: { forged: true },
    });
    expect(result.status).toBe(409);
    expect(
      (await t.send({ host: HOSTS.acme, token: alice, path: `/api/executions/${id}/logs` })).body.chunks,
    ).toEqual([]);
    // The holder of the current lease runs and reports it, once.
    const lease = String(second.body.lease);
    expect((await channel(`/api/agent/runs/${id}/started`, { lease })).status).toBe(204);
    const own = await channel(`/api/agent/runs/${id}/result`, {
      lease,
      status: 'succeeded',
      output: { real: true },
    });
    expect(own.body).toEqual({ id, status: 'succeeded' });
    const run = (await t.send({ host: HOSTS.acme, token: alice, path: `/api/executions/${id}` })).body;
    expect(run.output).toEqual({ real: true });
  });
});

describe('the per-host count, and an outsider who sends a tenant’s Host', () => {
  it('is one count for every spelling of a host, and the outsider spends only its own', {
    timeout: 120_000,
  }, async () => {
    // Variants of globex's host that reach globex: each is counted as globex, so no one multiplies
    // a budget by spelling the host another way.
    const spellings = [
      'GLOBEX.localhost',
      'globex.localhost:1',
      'Globex.LocalHost:65535',
      'globex.localhost',
    ];
    let refusedAt = -1;
    for (let n = 0; n < RULE.requests + 10 && refusedAt < 0; n += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          // An outsider: no credential at all, from an address of its own.
          call(t.platform.url, {
            host: spellings[(n + k) % spellings.length] as string,
            path: '/api/health',
            localAddress: OUTSIDER,
          }),
        ),
      );
      const refused = batch.findIndex((answer) => answer.status === 429);
      if (refused >= 0) refusedAt = n + refused;
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(refusedAt).toBeLessThanOrEqual(RULE.requests);
    const again = await call(t.platform.url, { host: HOSTS.globex, path: '/api/me', localAddress: OUTSIDER });
    expect(again.status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    // The tenant's own signed-in admin, from her own address, is served all the same: the count is
    // the host's and the client's (before, counted by Host alone, she was refused until the window
    // ended, by requests that carried no credential).
    const own = await t.send({ host: HOSTS.globex, token: globex.token, path: '/api/me' });
    expect(own.status, own.text).toBe(200);
    expect(lines.some((line) => line.includes(`globex.localhost from ${OUTSIDER} passed`))).toBe(true);
    // A lookalike name reaches no tenant.
    expect((await call(t.platform.url, { host: 'www.globex.localhost', path: '/api/health' })).status).toBe(
      404,
    );
    // Another tenant is served meanwhile.
    const health = await call(t.platform.url, { host: HOSTS.acme, path: '/api/health' });
    expect(health.status).toBe(200);
    const run = await acme.run(await acme.skill('def main(inputs, ctx):\n    return {"tenant": "acme"}\n'));
    expect(run.status).toBe('succeeded');
  });
});
