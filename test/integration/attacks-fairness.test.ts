/**
 * An attacker's pass at starving other tenants on the local platform. A tenant whose plan allows as
 * many concurrent runs as the script queue's poller hands out at once (professional: 4, enterprise: 8;
 * the poller: one per worker host, 4) floods with slow runs. Its jobs then hold every consumer of the
 * queue while they run, none of them waits on the dispatcher's wait list, and the rest of the flood
 * sits in the poller's buffer. The poller serves that buffer round-robin by message group (the
 * tenant) — but fauxqs keeps a MessageGroupId only on FIFO queues, so every message came back without
 * one, the buffer was one group in arrival order, and another tenant's run waited behind the whole
 * flood: it started after 19 of 20 flooding runs. DESIGN §6: one tenant's flood never holds another's
 * run for more than one job slot.
 *
 * Asserted on the runs' own recorded start times (order), not on wall-clock thresholds: after the
 * other tenant's run is requested, at most two rounds of hosts' worth of the flood's runs may start
 * before it does (the round whose hosts were starting, and the one that starts while the other
 * tenant's fresh host starts). Without the group fallback in the poller (pollers.ts `groupOf`), the
 * whole flood starts first and the case fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOCAL_HOSTS } from '../../lib/local/python-function.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { runner } from '../support/runs.ts';

const PASSWORD = 'attacks-fairness-password';
const FLOOD = 20;
const SLOW = 'import time\n\ndef main(inputs, ctx):\n    time.sleep(3)\n    return {"slept": True}\n';
const QUICK = 'def main(inputs, ctx):\n    return {"quick": True}\n';

const t = await startTestPlatform(PASSWORD);

afterAll(async () => {
  await t.stop();
});

let admin: string;
let alice: string;
let gina: string;

beforeAll(async () => {
  [admin, alice, gina] = await Promise.all([
    t.login(HOSTS.admin, 'admin'),
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.globex, 'gina'),
  ]);
  // The flooding tenant's plan allows more runs at once than the worker has hosts.
  const patched = await t.send({
    host: HOSTS.admin,
    token: admin,
    method: 'PATCH',
    path: '/api/tenants/acme',
    body: { plan: 'enterprise' },
  });
  expect(patched.status, patched.text).toBe(200);
});

describe('a flood of slow runs from a tenant whose plan outnumbers the worker’s hosts', () => {
  it('does not hold another tenant’s run behind the whole flood', async () => {
    const acme = runner(t, HOSTS.acme, alice);
    const globex = runner(t, HOSTS.globex, gina);
    const slow = await acme.skill(SLOW);
    const quick = await globex.skill(QUICK);
    // Warm globex's worker first, so the measured run is not its first ever.
    expect((await globex.run(quick)).status).toBe('succeeded');

    const flood = await Promise.all(
      Array.from({ length: FLOOD }, (_, index) => acme.request(slow, { index })),
    );
    // The flood holds every host, with jobs of its own waiting for one.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const other = await globex.request(quick);
    const otherRun = await globex.wait(other);
    const floodRuns = await Promise.all(flood.map((id) => acme.wait(id)));
    expect(otherRun.status, JSON.stringify(otherRun)).toBe('succeeded');
    expect(floodRuns.every((run) => run.status === 'succeeded')).toBe(true);

    const requestedAt = Date.parse(otherRun.createdAt);
    const startedAt = Date.parse(otherRun.startedAt);
    const startedBetween = floodRuns
      .map((run) => Date.parse(run.startedAt))
      .filter((start) => start > requestedAt && start < startedAt).length;
    // Two rounds of hosts at most: the one under way as the request arrived, and the one that starts
    // on the other hosts while the freed host is started again for the other tenant.
    expect(startedBetween, `flood runs started while the other tenant's run waited`).toBeLessThanOrEqual(
      2 * MAX_LOCAL_HOSTS,
    );
    // And the flood was still going when it started: it was not simply served last.
    const lastFloodStart = Math.max(...floodRuns.map((run) => Date.parse(run.startedAt)));
    expect(startedAt).toBeLessThan(lastFloodStart);
  }, 240_000);
});
