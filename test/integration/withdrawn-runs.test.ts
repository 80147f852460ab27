/**
 * A Skill taken out of use stops what it still has waiting (an attack pass: eight runs were
 * requested, the Skill and its script were disabled, and the seven queued behind the tenant's slots
 * all started 3–11 s later). Runnability is checked when a run is requested and approved; disabling
 * or archiving now also withdraws the runs not started yet, each closed `cancelled` with why. A run
 * a worker already holds is starting, and runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planLimits } from '../../functions/core/tenancy/plans.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'withdrawn-runs-test-password';

let t: TestPlatform;
let alice: string;
let acme: Runner;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

const api = (method: string, path: string, body?: unknown) =>
  t.send({ host: HOSTS.acme, token: alice, method, path, ...(body === undefined ? {} : { body }) });

describe('a Skill disabled while its runs wait', () => {
  // acme is on the standard plan: two runs at once, the rest wait for a slot.
  it('withdraws the runs not started, and lets the started ones finish', async () => {
    const skillId = await acme.skill(
      'import time\n\ndef main(inputs, ctx):\n    time.sleep(3)\n    return {}\n',
    );
    // More runs than the tenant has slots: the rest wait in its queue.
    const ids: string[] = [];
    for (let index = 0; index < 12; index++) ids.push(await acme.request(skillId));
    const status = async (id: string) => (await api('GET', `/api/executions/${id}`)).body;
    await expect
      .poll(async () => (await Promise.all(ids.map(status))).some((run) => run.status === 'running'), {
        timeout: 30_000,
      })
      .toBe(true);

    const disabled = await api('PUT', `/api/skills/${skillId}/state`, {
      state: 'disabled',
      reason: 'broken',
    });
    expect(disabled.status, disabled.text).toBe(200);
    const after = await Promise.all(ids.map(status));
    const withdrawn = after.filter((run) => run.status === 'cancelled');
    expect(withdrawn.length).toBeGreaterThan(0);
    for (const run of withdrawn) {
      expect(run.error).toEqual({
        type: 'NotRunnable',
        message: `The Skill "${run.skillName}" was disabled by alice before the run started`,
      });
      expect(run.startedAt).toBeUndefined();
    }
    // What was not withdrawn had started, or was starting (a worker held its job: a run of the
    // tenant's slots, `queued` until its start is recorded); it ends as it would have.
    const kept = after.filter((run) => run.status !== 'cancelled').map((run) => String(run.id));
    expect(kept.length).toBeLessThanOrEqual(planLimits('standard').concurrentRuns);
    for (const id of kept) {
      const run = await acme.wait(id);
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    }
    expect(withdrawn.length + kept.length).toBe(ids.length);
    // Each withdrawal is audited as the run's end, by who disabled the Skill.
    const audit = await api('GET', `/api/audit?action=execution.cancelled&actor=alice`);
    const audited = new Set(audit.body.items.map((entry: { target: string }) => entry.target));
    for (const run of withdrawn) expect(audited.has(`execution:${run.id}`)).toBe(true);
  }, 120_000);
});
