/**
 * A queued run held by its plan's limit on runs at once says so (executions/run-waits.ts): on the
 * free plan (1 script at a time), while one long run runs, a second run's answer, its place in the
 * listing name the limit and what frees a place; once the first ends, the
 * second runs — and says nothing more of waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../support/free.ts';
import { caller, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { waitForRun } from '../support/session.ts';

const PASSWORD = 'place-wait-suite-password';
// Long enough to read the second run's view while it runs, short enough to wait for it to end.
const LONG =
  'import time\n\ndef main(inputs, ctx):\n    time.sleep(float(inputs.get("seconds", 0)))\n    return {}\n';

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('a run held by the plan’s limit on runs at once', () => {
  it('says it waits for a free place, and runs once the running run ends', async () => {
    // A personal space of the free edition: its plan runs one script at a time.
    const signed = await signUp(
      t,
      { handle: 'waiter', email: 'waiter@example.com', password: PASSWORD, name: 'Waiter' },
      '127.0.0.40',
    );
    expect(signed.status, signed.text).toBe(201);
    const host = String(signed.body.host);
    const token = await t.login(host, 'waiter', PASSWORD);
    const owner = caller(t, host, token);
    const script = await owner('POST', '/api/assets/scripts', { name: 'long', source: LONG });
    expect(script.status, script.text).toBe(201);
    const skill = await owner('POST', '/api/skills', {
      name: 'long-run',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      limits: { timeoutSeconds: 60 },
    });
    expect(skill.status, skill.text).toBe(201);
    const as = { url: t.platform.url, host, token };

    const first = await owner('POST', `/api/skills/${skill.body.id}/executions`, { input: { seconds: 8 } });
    expect(first.status, first.text).toBe(202);
    await waitForRun(as, first.body.id, { until: ['running'], timeoutMs: 60_000 });
    const second = await owner('POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expect(second.status, second.text).toBe(202);

    const reason =
      'waiting for a free place: the free plan runs 1 script at a time and 1 is running now; this run starts as soon as it ends';
    const held = await owner('GET', `/api/executions/${second.body.id}`);
    expect(held.status, held.text).toBe(200);
    expect(held.body.status).toBe('queued');
    expect(held.body.waitingFor).toBe(reason);
    const listed = await owner('GET', '/api/executions');
    expect(listed.status, listed.text).toBe(200);
    const items = listed.body.items as { id: string; waitingFor?: string }[];
    expect(items.find((item) => item.id === second.body.id)?.waitingFor).toBe(reason);
    // The running run waits for nothing.
    expect(items.find((item) => item.id === first.body.id)?.waitingFor).toBeUndefined();

    const ended = await waitForRun(as, first.body.id, { timeoutMs: 60_000 });
    expect(ended.status).toBe('succeeded');
    const ran = await waitForRun(as, second.body.id, { timeoutMs: 60_000 });
    expect(ran.status, JSON.stringify(ran)).toBe('succeeded');
    expect(ran.waitingFor).toBeUndefined();
    // It started after the first ended: it was held, not run beside it.
    expect(Date.parse(ran.startedAt)).toBeGreaterThanOrEqual(Date.parse(ended.startedAt) + 8_000);
  }, 180_000);
});
