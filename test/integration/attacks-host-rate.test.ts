/**
 * A tenant flooding its own API, on the whole platform (the edge's per-host count,
 * docs/decisions/host-rate-limit.md): its requests past the rule are answered 429 problem+json with
 * Retry-After before any function runs — no run is made for them — while another tenant, signing in
 * and running a Skill at the same moment, is served. The rule here is small (the default, 3,000 a
 * minute, is checked in the unit test); the count is the edge's own, with the real viewer function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionStatusOf, TERMINAL } from '../../functions/core/executions/executions.ts';
import type { SdkRequest } from '../../functions/core/sdk-requests.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { tenantContext } from '../../functions/core/tenancy/hosts.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'attacks-host-rate-password';
const RULE = { requests: 40, windowSeconds: 600 } as const;
const FLOOD = 60;

const t = await startTestPlatform(PASSWORD, { hostRateLimit: RULE });
let alice: string;
let acme: Runner;
let noop: string;
let acmeDomain: TenantContext;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** acme's run request of its no-op Skill, as alice. */
const runRequest = () =>
  t.send({
    host: HOSTS.acme,
    method: 'POST',
    path: `/api/skills/${noop}/executions`,
    token: alice,
    body: { input: {} },
  });

/** The pollers' own receives and deletes go on whatever the edge does. */
const isWork = (request: SdkRequest) =>
  !['ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch'].includes(request.operation);

/** Waits until the platform has sent no request but the pollers' for half a second (at most 20 s). */
async function quiet(): Promise<void> {
  let last = Date.now();
  const stop = t.platform.observeRequests((request) => {
    if (isWork(request)) last = Date.now();
  });
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() - last < 500 && Date.now() < deadline) await sleep(100);
  } finally {
    stop();
  }
}

beforeAll(async () => {
  // Start in a fresh window, far from its end, so the whole test is counted in one.
  const windowMs = RULE.windowSeconds * 1000;
  const intoWindow = Date.now() % windowMs;
  if (windowMs - intoWindow < 30_000) await sleep(windowMs - intoWindow + 100);
  alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  noop = await acme.skill('def main(inputs, ctx):\n    return {}\n');
  acmeDomain = (await tenantContext(t.core.table, 'acme')) as TenantContext;
});

afterAll(async () => {
  await t.stop();
});

describe('a tenant past its hosts’ API rate', () => {
  it('is answered 429 before anything runs, while another tenant is served', async () => {
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => runRequest()));
    const accepted = flood.filter((answer) => answer.status === 202);
    const refused = flood.filter((answer) => answer.status === 429);
    expect(accepted.length + refused.length, flood.map((answer) => answer.status).join(',')).toBe(FLOOD);
    // The sign-in and the Skill's set-up were counted too: fewer than the rule got through.
    expect(accepted.length).toBeLessThan(RULE.requests);
    expect(refused.length).toBeGreaterThanOrEqual(FLOOD - RULE.requests);
    for (const answer of refused) {
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body).toMatchObject({ type: 'urn:execfabric:problem:rate-limited', status: 429 });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The accepted runs end as runs do.
    for (const { body } of accepted) {
      await expect
        .poll(
          async () =>
            TERMINAL.has((await executionStatusOf(t.core.table, acmeDomain, body.id)) ?? 'requested'),
          {
            timeout: 30_000,
          },
        )
        .toBe(true);
    }

    // A refused request costs the platform nothing past the edge: no table request, no message.
    // The accepted runs' last bookkeeping (a slot given back once a run is recorded) may still be on
    // its way on a loaded machine: the count starts once half a second passed with no such request.
    await quiet();
    const seen: SdkRequest[] = [];
    const stop = t.platform.observeRequests((request) => seen.push(request));
    const more = await Promise.all(Array.from({ length: 20 }, () => runRequest()));
    stop();
    expect(more.map((answer) => answer.status)).toEqual(Array(20).fill(429));
    const work = seen.filter(isWork);
    expect(work, JSON.stringify(work)).toEqual([]);

    // Another tenant signs in and runs a Skill at once; the flooding host stays refused.
    const gina = await t.login(HOSTS.globex, 'gina');
    const globex = runner(t, HOSTS.globex, gina);
    const quick = await globex.skill('def main(inputs, ctx):\n    return {"tenant": "globex"}\n');
    const ran = await t.send({
      host: HOSTS.globex,
      method: 'POST',
      path: `/api/skills/${quick}/executions`,
      token: gina,
      body: { input: {} },
      headers: { prefer: 'wait=10' },
    });
    expect(ran.status, ran.text).toBe(200);
    expect(ran.body.output).toEqual({ tenant: 'globex' });
    expect((await t.send({ host: HOSTS.acme, path: '/api/health' })).status).toBe(429);
  });
});
