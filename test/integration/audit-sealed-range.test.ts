/**
 * Facts recorded after the time they happened never land inside a range of the audit chain that is
 * sealed already (attack pass: a backdated entry). A script's `ctx.http` call is audited in the
 * public chain when the run's result is recorded, seconds after the call; a run's start is audited
 * when the runtime's `started` report is recorded, after the runtime's own clock read it. Had either
 * entry been dated by the fact's time, a seal made in between would cover a range the entry then
 * lands in, and `/api/audit/verify` would answer `entries-altered` for good. Entries are dated when
 * written; the fact's time is in their details (`usedAt`, `startedAt`).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { caller, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'audit-sealed-range-password';
const SETTLE_MS = 2000;

/** A script that uses its egress once, then keeps running: its result comes seconds after the use. */
const LATE_RESULT_SCRIPT = `
import time

def main(inputs, ctx):
    answer = ctx.http(inputs["resource"], "GET", "/ping")
    time.sleep(inputs["sleep"])
    return {"status": answer.status}
`;

interface AuditEntryView {
  readonly id: string;
  readonly at: string;
  readonly action: string;
  readonly target: string;
  readonly details: Record<string, unknown>;
}

let test: TestPlatform;
let admin: string;
let alice: string;
let acme: Runner;

const sleepUntil = (instant: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now())));

/** An anonymous failed sign-in: an entry in the chain of the host's domain, written now. */
async function failedSignIn(host: string): Promise<void> {
  const answer = await test.send({
    host,
    method: 'POST',
    path: '/api/auth/login',
    body: { username: 'nobody-at-all', password: 'not-the-password' },
  });
  expect(answer.status, answer.text).toBe(401);
}

/** Seals what has settled, then verifies the chain of the host's domain. */
async function verify(host: string, token: string): Promise<Record<string, unknown>> {
  const answer = await test.send({ host, token, method: 'GET', path: '/api/audit/verify' });
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
}

async function entries(host: string, token: string, query: string): Promise<AuditEntryView[]> {
  const answer = await test.send({ host, token, method: 'GET', path: `/api/audit?${query}&limit=100` });
  expect(answer.status, answer.text).toBe(200);
  return answer.body.items;
}

beforeAll(async () => {
  test = await startTestPlatform(PASSWORD);
  admin = await test.login(HOSTS.admin, 'admin');
  alice = await test.login(HOSTS.acme, 'alice');
  acme = runner(test, HOSTS.acme, alice);
}, 120_000);

afterAll(async () => {
  await test?.stop();
});

describe('an audit fact recorded after a seal', { timeout: 120_000 }, () => {
  let upstream: Server;
  const calls: number[] = [];

  beforeAll(async () => {
    upstream = createServer((_request, response) => {
      calls.push(Date.now());
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"pong":true}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
  });

  afterAll(() => {
    upstream?.close();
  });

  it('a ctx.http use recorded with the result, after the public chain was sealed, keeps the chain valid', async () => {
    const governance = caller(test, HOSTS.admin, admin);
    const created = await governance('POST', '/api/http-resources', {
      name: 'pong',
      baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      methods: ['GET'],
      paths: ['/ping'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      localDevelopment: true,
    });
    expect(created.status, created.text).toBe(201);
    const resource = String(created.body.id);
    const credential = await governance('PUT', `/api/http-resources/${resource}/credential`, {
      value: 'sk-live-audit-sealed-range-0123',
    });
    expect(credential.status, credential.text).toBe(204);
    const granted = await governance('POST', `/api/http-resources/${resource}/grants`, {
      tenantIds: ['acme'],
    });
    expect(granted.status, granted.text).toBe(200);
    const skill = await acme.skill(LATE_RESULT_SCRIPT, { egress: [resource] });

    const id = await acme.request(skill, { resource, sleep: 9 });
    // T0: the script's call reached the upstream.
    const deadline = Date.now() + 60_000;
    while (calls.length === 0 && Date.now() < deadline) await sleepUntil(Date.now() + 50);
    const t0 = calls[0] ?? Number.NaN;
    expect(Number.isNaN(t0), 'the script never called the upstream').toBe(false);

    // A public entry after the call, then a seal once it has settled: the sealed range ends past T0.
    await sleepUntil(t0 + 2500);
    await failedSignIn(HOSTS.admin);
    await sleepUntil(t0 + 2500 + SETTLE_MS + 1000);
    expect(await verify(HOSTS.admin, admin)).toMatchObject({ valid: true, problems: [] });
    const run = await acme.wait(id);
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const [use] = run.egress as { at: string }[];
    expect(use).toBeDefined();
    expect(Date.parse(use?.at ?? '')).toBeLessThan(t0 + 2500);

    // The chain stays valid, now and once the use's entry is sealed too.
    expect(await verify(HOSTS.admin, admin)).toMatchObject({ valid: true, problems: [] });
    const uses = (await entries(HOSTS.admin, admin, 'action=http-resource.credential.used')).filter(
      (entry) => entry.details.executionId === id,
    );
    expect(uses).toHaveLength(1);
    const [entry] = uses;
    // Dated when written, after the failed sign-in the seal covered; the call's own time kept.
    expect(entry?.details).toMatchObject({ usedAt: use?.at, via: 'ctx.http', method: 'GET', path: '/ping' });
    const [signIn] = await entries(HOSTS.admin, admin, 'action=auth.login.failed&actor=nobody-at-all');
    expect(signIn).toBeDefined();
    expect((entry?.at ?? '') > (signIn?.at ?? '~')).toBe(true);
    await sleepUntil(Date.now() + SETTLE_MS + 500);
    expect(await verify(HOSTS.admin, admin)).toMatchObject({ valid: true, problems: [] });
  });

  it('a run’s start reported after the tenant’s chain was sealed keeps the chain valid', async () => {
    const tenant = (await test.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    // A local-agent Skill whose agent never polls: nothing but this test starts the run.
    const asAlice = caller(test, HOSTS.acme, alice);
    const agent = await asAlice('POST', '/api/agents', { name: 'idle' });
    expect(agent.status, agent.text).toBe(201);
    const script = await asAlice('POST', '/api/assets/scripts', {
      name: 'idle.py',
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    expect(script.status, script.text).toBe(201);
    const skill = await asAlice('POST', '/api/skills', {
      name: 'Idle',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: 'idle' },
      limits: { timeoutSeconds: 30 },
    });
    expect(skill.status, skill.text).toBe(201);
    const id = await acme.request(String(skill.body.id));

    // The runtime starts the job at T0; its report is recorded seconds later, after a seal.
    const t0 = Date.now();
    const startedAt = new Date(t0).toISOString();
    await sleepUntil(t0 + 500);
    await failedSignIn(HOSTS.acme);
    await sleepUntil(t0 + 500 + SETTLE_MS + 1000);
    expect(await verify(HOSTS.acme, alice)).toMatchObject({ valid: true, problems: [] });
    await test.core.executions.recordStarted(tenant, {
      kind: 'started',
      executionId: id,
      tenantId: tenant.tenant.id,
      startedAt,
    });
    expect((await asAlice('GET', `/api/executions/${id}`)).body).toMatchObject({
      status: 'running',
      startedAt,
    });

    expect(await verify(HOSTS.acme, alice)).toMatchObject({ valid: true, problems: [] });
    const [running] = await entries(HOSTS.acme, alice, `target=execution:${id}&action=execution.running`);
    expect(running?.details).toMatchObject({ startedAt });
    expect((running?.at ?? '') > startedAt).toBe(true);
    await sleepUntil(Date.now() + SETTLE_MS + 500);
    expect(await verify(HOSTS.acme, alice)).toMatchObject({ valid: true, problems: [] });
  });
});
