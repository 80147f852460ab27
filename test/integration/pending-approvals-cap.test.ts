/**
 * The per-tenant cap on runs waiting for approval, through the local platform: a user who may only
 * run Skills floods a Skill that needs approval and gets exactly the plan's `pendingApprovals` runs
 * waiting, even all at once; each request past it is a 429 problem that writes nothing; every way a
 * run stops waiting (rejected, approved, cancelled, expired, invalidated) gives its place back; a
 * place a crash left taken is found when the cap is full. The other tenant is not affected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionRepository } from '../../functions/core/executions/execution-repository.ts';
import { PENDING_APPROVALS_QUOTA, PENDING_RECHECK_MS } from '../../functions/core/executions/pending-cap.ts';
import { sweepStaleExecutions } from '../../functions/core/executions/sweep.ts';
import { usageKey } from '../../functions/core/keys.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { planLimits } from '../../functions/core/tenancy/plans.ts';
import { UsageRepository } from '../../functions/core/tenancy/usage-repository.ts';
import type { TestResponse } from '../support/http.ts';
import {
  caller,
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'pending-cap-password';
/** acme's plan (seeded `standard`). */
const CAP = planLimits('standard').pendingApprovals;
let t: TestPlatform;
const tokens = new Map<string, string>();
let skillId: string;
let scriptId: string;

function as(user: string, host: string = HOSTS.acme) {
  return caller(t, host, tokens.get(user) ?? '');
}

function ask(user = 'bob', skill = skillId, host: string = HOSTS.acme): Promise<TestResponse> {
  return as(user, host)('POST', `/api/skills/${skill}/executions`, { input: {} });
}

async function accepted(user = 'bob'): Promise<string> {
  const response = await ask(user);
  expect(response.status, response.text).toBe(202);
  expect(response.body.status).toBe('pending_approval');
  return String(response.body.id);
}

function expectCapped(response: TestResponse): void {
  expectProblem(response, 429, 'past the cap');
  expect(response.body.type).toBe(problemType('quota-exceeded'));
  expect(response.body).toMatchObject({ quota: 'pendingApprovals', limit: CAP, remaining: 0 });
}

/** The ids of every run of acme waiting for approval, through the paged inbox (as an admin). */
async function waiting(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = await as('alice')('GET', `/api/approvals?limit=100${query}`);
    expect(page.status, page.text).toBe(200);
    ids.push(...page.body.items.map((item: { id: string }) => item.id));
    cursor = page.body.cursor;
  } while (cursor !== undefined);
  return ids;
}

/** How many runs of acme exist (any status), through the paged run listing. */
async function runCount(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = await as('alice')('GET', `/api/executions?limit=100${query}`);
    expect(page.status, page.text).toBe(200);
    count += page.body.items.length;
    cursor = page.body.cursor;
  } while (cursor !== undefined);
  return count;
}

/** How many places acme's counter holds now (the count of runs waiting, as the cap keeps it). */
async function counted(): Promise<number> {
  const domain = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
  const counter = await new UsageRepository(t.core.table).counter(usageKey(domain, PENDING_APPROVALS_QUOTA));
  return counter?.size ?? 0;
}

/** Requests runs until acme is at the cap again. */
async function fill(): Promise<string[]> {
  const ids: string[] = [];
  for (let i = (await waiting()).length; i < CAP; i++) ids.push(await accepted());
  return ids;
}

/**
 * The oldest waiting run leaves `pending_approval` in the store alone, as if the process died
 * before giving its place back.
 */
async function loseAPlace(): Promise<void> {
  const [lost] = await waiting();
  const domain = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
  const moved = await new ExecutionRepository(t.core.table).move(domain, lost ?? '', {
    to: 'cancelled',
    from: ['pending_approval'],
    set: { finishedAt: new Date().toISOString() },
    leaves: 'all',
  });
  expect(moved?.status).toBe('cancelled');
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  tokens.set('alice', await t.login(HOSTS.acme, 'alice'));
  tokens.set('bob', await t.login(HOSTS.acme, 'bob'));
  tokens.set('gina', await t.login(HOSTS.globex, 'gina'));
  const created = await as('alice')('POST', '/api/users', {
    username: 'carol',
    password: PASSWORD,
    roles: ['operator'],
  });
  expect(created.status, created.text).toBe(201);
  tokens.set('carol', await t.login(HOSTS.acme, 'carol'));
  const made = await scriptSkill(
    (token, method, path, body) => t.send({ host: HOSTS.acme, token, method, path, body }),
    tokens.get('alice') ?? '',
    'def main(inputs, ctx):\n    return {}\n',
    { skill: { risk: 'medium', approval: 'one' } },
  );
  skillId = made.skillId;
  scriptId = made.scriptId;
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('the cap on runs waiting for approval', () => {
  it(`lets a flood of requests at once leave exactly ${CAP} runs waiting, and writes nothing for the rest`, async () => {
    expect(CAP).toBeGreaterThan(0);
    // The plan's usage says how many may wait.
    const usage = await as('bob')('GET', '/api/usage');
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body.allows.pendingApprovals).toBe(CAP);
    const answers = await Promise.all(Array.from({ length: CAP + 15 }, () => ask('bob')));
    const ok = answers.filter((answer) => answer.status === 202);
    const refused = answers.filter((answer) => answer.status !== 202);
    expect(ok).toHaveLength(CAP);
    expect(refused).toHaveLength(15);
    for (const answer of refused) expectCapped(answer);
    expect((await waiting()).sort()).toEqual(ok.map((answer) => String(answer.body.id)).sort());
    // A refused request left no run behind.
    expect(await runCount()).toBe(CAP);
    // Another tenant's runs are not capped by acme's.
    const globex = await scriptSkill(
      (token, method, path, body) => t.send({ host: HOSTS.globex, token, method, path, body }),
      tokens.get('gina') ?? '',
      'def main(inputs, ctx):\n    return {}\n',
    );
    const elsewhere = await ask('gina', globex.skillId, HOSTS.globex);
    expect(elsewhere.status, elsewhere.text).toBe(202);
  });

  it('gives a place back for each run decided or cancelled, and refuses again at the edge', async () => {
    await fill();
    expectCapped(await ask());
    const [first, second, third] = await waiting();

    const rejected = await as('carol')('POST', `/api/executions/${first}/reject`, { comment: 'no' });
    expect(rejected.status, rejected.text).toBe(200);
    // The place is given back as the run stops waiting, not only when the cap is next full.
    expect(await counted()).toBe(CAP - 1);
    await accepted();
    expectCapped(await ask());

    const approved = await as('carol')('POST', `/api/executions/${second}/approve`, {});
    expect(approved.status, approved.text).toBe(200);
    expect(await counted()).toBe(CAP - 1);
    await accepted();
    expectCapped(await ask());

    const cancelled = await as('bob')('POST', `/api/executions/${third}/cancel`, {});
    expect([200, 202], cancelled.text).toContain(cancelled.status);
    expect(await counted()).toBe(CAP - 1);
    const keyed = (key: string) =>
      t.send({
        host: HOSTS.acme,
        token: tokens.get('bob') ?? '',
        method: 'POST',
        path: `/api/skills/${skillId}/executions`,
        body: { input: {} },
        headers: { 'idempotency-key': key },
      });
    const last = await keyed('pending-cap-replay-1');
    expect(last.status, last.text).toBe(202);
    expectCapped(await ask());
    // At the cap, the replay of a run that waits is answered that run; a new request is refused.
    const replayed = await keyed('pending-cap-replay-1');
    expect(replayed.status, replayed.text).toBe(202);
    expect(replayed.body).toMatchObject({ id: last.body.id, replayed: true });
    expectCapped(await keyed('pending-cap-replay-2'));
  });

  it('gives every place back when the waiting runs expire or are invalidated', async () => {
    await fill();
    const later = new Date(Date.now() + 4 * 86_400_000);
    await sweepStaleExecutions({
      table: t.core.table,
      audit: t.core.audit,
      executions: t.core.executions,
      now: () => later,
    });
    expect(await waiting()).toEqual([]);
    expect(await counted()).toBe(0);
    await fill();
    expectCapped(await ask());

    // A new active script version changes what every waiting run would execute: all invalidated.
    const version = await as('alice')('POST', `/api/assets/scripts/${scriptId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"v": 2}\n',
      note: 'v2',
    });
    expect(version.status, version.text).toBe(201);
    const active = await as('alice')('PUT', `/api/assets/scripts/${scriptId}/active`, {
      version: version.body.version,
    });
    expect(active.status, active.text).toBe(200);
    expect(await waiting()).toEqual([]);
    expect(await counted()).toBe(0);
    await accepted();
  });

  it('finds a place a crash left taken once the cap is full', async () => {
    await fill();
    await loseAPlace();
    await accepted();
    expectCapped(await ask());
  });

  it('reads the waiting runs once for a flood refused at the cap, and still finds a lost place after', async () => {
    await fill();
    // Every refused request read the status of every waiting run (the whole cap, one batch read more
    // per request); once now while the set stays the same. A refused request reads one batch itself.
    const asks = 6;
    let batches = 0;
    const stop = t.platform.observeRequests((request) => {
      if (request.operation === 'BatchGetItem') batches++;
    });
    try {
      for (let i = 0; i < asks; i++) expectCapped(await ask());
    } finally {
      stop();
    }
    expect(batches).toBeLessThanOrEqual(asks + 1);
    // A place a crash left taken is found once the last fruitless look is PENDING_RECHECK_MS old.
    await loseAPlace();
    await new Promise((resolve) => setTimeout(resolve, PENDING_RECHECK_MS + 200));
    await accepted();
    expectCapped(await ask());
  });
});
