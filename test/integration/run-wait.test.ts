/**
 * `Prefer: wait=N` (RFC 7240) on a run request: the answer waits for the run to end and is then 200
 * with the run; a run still going after N seconds, or waiting for approval, is the usual 202. The
 * wait is capped, named in `Preference-Applied`, and a preference the server cannot read is ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RUN_WAIT_SECONDS } from '../../functions/contract/headers.ts';
import { preferredWait } from '../../functions/http/routes/catalog.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

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
  const script = await api('POST', '/api/assets/scripts', { name: `${name}.py`, source });
  expect(script.status, script.text).toBe(201);
  const created = await api('POST', '/api/skills', {
    name,
    inputSchema: { type: 'object' },
    outputSchema: true,
    risk,
    asset: { kind: 'python-script', id: script.body.id, version: 'active' },
  });
  expect(created.status, created.text).toBe(201);
  return String(created.body.id);
}

let quick: string;
let slow: string;
let failing: string;

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  alice = await platform.login(HOSTS.acme, 'alice');
  quick = await skill('Quick', "def main(input, ctx):\n    return {'answer': 42}\n");
  slow = await skill('Slow', 'import time\n\ndef main(input, ctx):\n    time.sleep(4)\n    return {}\n');
  failing = await skill('Failing', "def main(input, ctx):\n    raise ValueError('no')\n");
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
