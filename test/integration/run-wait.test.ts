/**
 * `Prefer: wait=N` (RFC 7240) on a run request: the answer waits for the run to end and is then 200
 * with the run; a run still going after N seconds, or waiting for approval, is the usual 202. The
 * wait is capped, named in `Preference-Applied`, and a preference the server cannot read is ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RUN_WAIT_SECONDS } from '../../functions/contract/headers.ts';
import type { Execution } from '../../functions/core/executions/executions.ts';
import { processRunEnds } from '../../functions/core/executions/run-ends.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { readTenantSummary } from '../../functions/core/tenancy/hosts.ts';
import { ANSWER_MARGIN_MS, preferredWait, waitWithin } from '../../functions/http/routes/catalog.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'run-wait-password';
let platform: TestPlatform;
let alice: string;

const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  platform.send({
    host: HOSTS.acme,
    token: alice,
    method,
    path,
    body,
    ...(headers === undefined ? {} : { headers }),
  });

async function skill(name: string, source: string, risk = 'low'): Promise<string> {
  const made = await scriptSkill(
    (token, method, path, body) => platform.send({ host: HOSTS.acme, token, method, path, body }),
    alice,
    source,
    {
      scriptName: `${name}.py`,
      skill: { name, outputSchema: true, risk },
    },
  );
  return made.skillId;
}

let quick: string;
let slow: string;
let failing: string;
let brief: string;

async function acme(): Promise<TenantContext> {
  const tenant = await readTenantSummary(platform.core.table, 'acme', true);
  if (tenant === null) throw new Error('acme missing');
  return { kind: 'tenant', host: HOSTS.acme, tenant };
}

/** A run requested through the API (202), as the platform's own core reads it. */
async function requested(skillId: string): Promise<{ domain: TenantContext; execution: Execution }> {
  const started = await api('POST', `/api/skills/${skillId}/executions`, { input: {} });
  expect(started.status, started.text).toBe(202);
  const domain = await acme();
  const execution = await platform.core.executions.find(domain, String(started.body.id));
  if (execution === null) throw new Error('the run was not stored');
  return { domain, execution };
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  alice = await platform.login(HOSTS.acme, 'alice');
  quick = await skill('Quick', "def main(input, ctx):\n    return {'answer': 42}\n");
  slow = await skill('Slow', 'import time\n\ndef main(input, ctx):\n    time.sleep(4)\n    return {}\n');
  failing = await skill('Failing', "def main(input, ctx):\n    raise ValueError('no')\n");
  brief = await skill('Brief', 'import time\n\ndef main(input, ctx):\n    time.sleep(0.5)\n    return {}\n');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('Prefer: wait on a run request', () => {
  it('answers 200 with the ended run, its output and the wait applied', async () => {
    const answer = await api('POST', `/api/skills/${quick}/executions`, { input: {} }, { prefer: 'wait=10' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers['preference-applied']).toBe('wait=10');
    expect(answer.headers.location).toBe(`/api/executions/${answer.body.id}`);
    expect(answer.body).toMatchObject({ status: 'succeeded', output: { answer: 42 }, replayed: false });
    // The same run as the run's own page shows it.
    const shown = await api('GET', `/api/executions/${answer.body.id}`);
    expect(shown.body).toMatchObject({ id: answer.body.id, status: 'succeeded', output: { answer: 42 } });
  });

  it('answers a failed run as 200 with its error, and a replay as the first run', async () => {
    const answer = await api(
      'POST',
      `/api/skills/${failing}/executions`,
      { input: {} },
      { prefer: 'respond-async, wait=10', 'idempotency-key': 'wait-replay-1' },
    );
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.status).toBe('failed');
    expect(answer.body.error.type).toBe('ValueError');
    const replay = await api(
      'POST',
      `/api/skills/${failing}/executions`,
      { input: {} },
      { prefer: 'wait=10', 'idempotency-key': 'wait-replay-1' },
    );
    expect(replay.status, replay.text).toBe(200);
    expect(replay.body).toMatchObject({ id: answer.body.id, status: 'failed', replayed: true });
  });

  it('answers 202 once the wait is over while the run goes on', async () => {
    const began = Date.now();
    const answer = await api('POST', `/api/skills/${slow}/executions`, { input: {} }, { prefer: 'wait=1' });
    const waited = Date.now() - began;
    expect(answer.status, answer.text).toBe(202);
    expect(answer.headers['preference-applied']).toBe('wait=1');
    expect(['queued', 'running']).toContain(answer.body.status);
    expect(waited).toBeGreaterThanOrEqual(950);
    await api('POST', `/api/executions/${answer.body.id}/cancel`, { reason: 'test over' });
  });

  it('does not hold a run that waits for approval', async () => {
    const gated = await skill('Gated', 'def main(input, ctx):\n    return {}\n', 'medium');
    const began = Date.now();
    const answer = await api('POST', `/api/skills/${gated}/executions`, { input: {} }, { prefer: 'wait=15' });
    expect(answer.status, answer.text).toBe(202);
    expect(answer.body.status).toBe('pending_approval');
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it('caps a longer wait, and ignores a preference it cannot read', async () => {
    const capped = await api(
      'POST',
      `/api/skills/${quick}/executions`,
      { input: {} },
      { prefer: 'wait=99999' },
    );
    expect(capped.status, capped.text).toBe(200);
    expect(capped.headers['preference-applied']).toBe(`wait=${MAX_RUN_WAIT_SECONDS}`);
    for (const prefer of ['wait=abc', 'wait=-1', 'wait', 'return=minimal']) {
      const ignored = await api('POST', `/api/skills/${quick}/executions`, { input: {} }, { prefer });
      expect(ignored.status, `${prefer}: ${ignored.text}`).toBe(202);
      expect(ignored.headers['preference-applied'], prefer).toBeUndefined();
    }
  });
});

describe('a waiting request is woken by its run’s end (run-ends.ts)', () => {
  it('returns the ended run when the recorder stores its end, with no pause of its own ever over', async () => {
    const { domain, execution } = await requested(brief);
    expect(['requested', 'queued', 'running']).toContain(execution.status);
    // Pauses that never end: only the wake-up that follows the recorder's verified write can answer.
    const never = () => new Promise<void>(() => undefined);
    const ended = await platform.core.executions.settle(domain, execution, 60, never);
    expect(ended).toMatchObject({ id: execution.id, status: 'succeeded' });
    expect(processRunEnds.waiting()).toBe(0);
  }, 30_000);

  it('is only told to read: a wake-up for a run that has not ended answers the run as stored, and does not make it read again and again', async () => {
    const { domain, execution } = await requested(slow);
    let reads = 0;
    const stopObserving = platform.platform.observeRequests((request) => {
      if (request.operation === 'GetItem' && request.resource === platform.platform.services.tableName)
        reads++;
    });
    const waiting = platform.core.executions.settle(domain, execution, 1.5);
    // Forged wake-ups (as a bug elsewhere in the process could send): this run, and another tenant's.
    processRunEnds.ended('acme', execution.id);
    processRunEnds.ended('globex', execution.id);
    const answer = await waiting;
    stopObserving();
    expect(['queued', 'running']).toContain(answer.status);
    expect(answer.finishedAt).toBeUndefined();
    // One read for the wake-up, then the backstop's reads 500 ms apart: never a loop of reads.
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(6);
    await api('POST', `/api/executions/${execution.id}/cancel`, { reason: 'test over' });
  }, 30_000);
});

describe('a wake-up that carries the ended run (run-ends.ts)', () => {
  it('answers with the run its end stored, and reads it no more', async () => {
    const { domain, execution } = await requested(brief);
    // The waiter's own reads: those of this test's core (the recorder and the API read with theirs).
    let reads = 0;
    const counter = 'countWaiterReads';
    platform.core.table.client.middlewareStack.add(
      (next) => (args) => {
        reads++;
        return next(args);
      },
      { step: 'initialize', name: counter },
    );
    const never = () => new Promise<void>(() => undefined);
    const ended = await platform.core.executions.settle(domain, execution, 60, never);
    platform.core.table.client.middlewareStack.remove(counter);
    expect(ended).toMatchObject({ id: execution.id, tenantId: 'acme', status: 'succeeded' });
    expect(reads).toBe(0);
    // What it answered is what the store holds.
    expect(await platform.core.executions.find(domain, execution.id)).toEqual(ended);
  }, 30_000);

  it('is not believed unless it is that tenant’s run, of that id, and ended: the waiter reads the run instead', async () => {
    const long = await skill(
      'Long',
      'import time\n\ndef main(input, ctx):\n    time.sleep(30)\n    return {}\n',
    );
    const { domain, execution } = await requested(long);
    const forged = { ...execution, status: 'succeeded', finishedAt: new Date().toISOString() } as Execution;
    for (const carried of [
      { ...forged, tenantId: 'globex' },
      { ...forged, id: 'ex-0000000002abcdef0123' },
      { ...forged, status: 'running' },
    ] as Execution[]) {
      const waiting = platform.core.executions.settle(domain, execution, 1);
      await new Promise((resolve) => setImmediate(resolve));
      // It wakes the waiter (the key is right) with a run that is not its own ended run.
      processRunEnds.ended('acme', execution.id, carried);
      const early = await Promise.race([
        waiting,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 250)),
      ]);
      // Not answered with it: the waiter read the run as stored (still going) and paused again.
      expect(early, JSON.stringify(carried).slice(0, 120)).toBeNull();
      const stored = await waiting;
      expect(['queued', 'running']).toContain(stored.status);
      expect(stored.finishedAt).toBeUndefined();
    }
    await api('POST', `/api/executions/${execution.id}/cancel`, { reason: 'test over' });
  }, 30_000);
});

describe('preferredWait', () => {
  it('reads wait=N among other preferences, quoted or with parameters, and caps it', () => {
    expect(preferredWait(undefined)).toBeNull();
    expect(preferredWait('wait=5')).toBe(5);
    expect(preferredWait('respond-async, wait=7')).toBe(7);
    expect(preferredWait('WAIT = "3"')).toBe(3);
    expect(preferredWait('wait=0')).toBe(0);
    expect(preferredWait('wait=4;foo=bar')).toBe(4);
    expect(preferredWait(`wait=${MAX_RUN_WAIT_SECONDS + 1}`)).toBe(MAX_RUN_WAIT_SECONDS);
    expect(preferredWait('wait=1e3')).toBeNull();
    expect(preferredWait('wait=12345678901')).toBeNull();
    expect(preferredWait('handling=strict')).toBeNull();
  });
});

describe('waitWithin', () => {
  it('cuts a wait to the invocation’s time left, less the margin to answer', () => {
    expect(waitWithin(null, 5_000)).toBeNull();
    expect(waitWithin(20, undefined)).toBe(20);
    expect(waitWithin(20, 20_000 + ANSWER_MARGIN_MS)).toBe(20);
    expect(waitWithin(20, 20_000 + ANSWER_MARGIN_MS - 1)).toBe(19);
    expect(waitWithin(20, ANSWER_MARGIN_MS + 999)).toBe(0);
    expect(waitWithin(20, 0)).toBe(0);
  });
});
