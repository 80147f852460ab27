/**
 * Fairness between tenants through the local platform (issue 12): one tenant's flood of slow runs
 * never holds more than its plan's slots, and another tenant's run starts while the flood is still
 * waiting — it is not queued behind it. Asserted on the runs' own recorded times (order and overlap),
 * not on wall-clock thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planLimits } from '../../functions/core/tenancy/plans.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call, type TestResponse } from '../support/http.ts';
import { HOSTS } from '../support/platform.ts';
import { signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'fairness-test-password';
const FLOOD = 8;
const SLOW = 'import time\n\ndef main(inputs, ctx):\n    time.sleep(2)\n    return {"slept": 2}\n';
const QUICK = 'def main(inputs, ctx):\n    return {"quick": True}\n';

let platform: LocalPlatform;

function login(host: string, username: string): Promise<string> {
  return signIn(platform.url, host, username, PASSWORD);
}

const api = (host: string, token: string, method: string, path: string, body?: unknown) =>
  call(platform.url, { host, token, method, path, ...(body === undefined ? {} : { body }) });

async function skill(host: string, token: string, source: string): Promise<string> {
  const script = await api(host, token, 'POST', '/api/assets/scripts', { name: 'fairness', source });
  expect(script.status, script.text).toBe(201);
  const created = await api(host, token, 'POST', '/api/skills', {
    name: `fair-${Math.random().toString(36).slice(2, 7)}`,
    inputSchema: { type: 'object' },
    outputSchema: {},
    risk: 'low',
    asset: { kind: 'python-script', id: script.body.id },
    limits: { timeoutSeconds: 30 },
  });
  expect(created.status, created.text).toBe(201);
  return created.body.id;
}

function finished(host: string, token: string, id: string): Promise<TestResponse['body']> {
  return waitForRun({ url: platform.url, host, token }, id, {
    until: ['succeeded', 'failed', 'timed_out'],
    timeoutMs: 120_000,
    intervalMs: 200,
  });
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword: PASSWORD,
    log: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('fairness between tenants', () => {
  it('caps a flooding tenant at its plan’s slots and starts another tenant’s run before the flood drains', async () => {
    const alice = await login(HOSTS.acme, 'alice');
    const gina = await login(HOSTS.globex, 'gina');
    const slow = await skill(HOSTS.acme, alice, SLOW);
    const quick = await skill(HOSTS.globex, gina, QUICK);
    // Warm globex's worker first, so the measured run is not a cold start.
    const warm = await api(HOSTS.globex, gina, 'POST', `/api/skills/${quick}/executions`, { input: {} });
    await finished(HOSTS.globex, gina, warm.body.id);

    const flood: string[] = [];
    for (let index = 0; index < FLOOD; index++) {
      const run = await api(HOSTS.acme, alice, 'POST', `/api/skills/${slow}/executions`, {
        input: { index },
      });
      expect(run.status, run.text).toBe(202);
      flood.push(run.body.id);
    }
    const other = await api(HOSTS.globex, gina, 'POST', `/api/skills/${quick}/executions`, { input: {} });
    const quickRun = await finished(HOSTS.globex, gina, other.body.id);
    const floodRuns = await Promise.all(flood.map((id) => finished(HOSTS.acme, alice, id)));
    expect(floodRuns.every((run) => run.status === 'succeeded')).toBe(true);
    expect(quickRun.status).toBe('succeeded');

    // Never more of the flooding tenant's runs at once than its plan allows.
    const cap = planLimits('standard').concurrentRuns;
    // The job's own span as the worker measured it. Not `finishedAt`: that is when the recorder stored
    // the end, after the dispatcher gave the slot back — under load the next run may start before it.
    const intervals = floodRuns.map((run) => {
      const start = Date.parse(run.startedAt);
      expect(run.metrics.durationMs, JSON.stringify(run.metrics)).toBeGreaterThan(0);
      return [start, start + run.metrics.durationMs] as const;
    });
    for (const [start] of intervals) {
      const overlapping = intervals.filter(([from, to]) => from <= start && start < to).length;
      expect(overlapping).toBeLessThanOrEqual(cap);
    }
    // The other tenant's run started before the flood's last runs did: it did not wait behind them.
    const starts = intervals.map(([start]) => start).sort((a, b) => a - b);
    const waitedBehind = starts.filter((start) => start < Date.parse(quickRun.startedAt)).length;
    expect(waitedBehind).toBeLessThanOrEqual(cap * 2);
    expect(Date.parse(quickRun.startedAt)).toBeLessThan(starts[starts.length - 1] as number);
  }, 180_000);
});
