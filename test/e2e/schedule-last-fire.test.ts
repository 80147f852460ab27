/**
 * The Schedules list in a real browser shows what came of each schedule's last fire as it is now: the
 * status its run ended in, linked to the run ("ran · succeeded", "ran · failed"), or why the fire was
 * skipped ("skipped: its owner is disabled"), never only that it ran.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite } from './support.ts';

const PASSWORD = 'e2e-schedule-last-fire-password';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let alice: string;

const { page, api, signedIn, finished } = browserSuite(PASSWORD, async (suite) => {
  ({ platform } = suite);
  alice = await platform.login(ACME, 'alice');
});

/** A Skill of acme bound to a new script, created through the API. */
async function skill(name: string, source: string): Promise<string> {
  const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);
  const made = await scriptSkill(send, alice, source, {
    scriptName: `${name}.py`,
    skill: { name, outputSchema: true },
  });
  return made.skillId;
}

/** A paused schedule of `skillId`, created as `token`; paused, so only a fire by hand runs it. */
async function schedule(token: string, name: string, skillId: string): Promise<string> {
  const created = await api(ACME, token, 'POST', '/api/schedules', {
    name,
    skillId,
    input: {},
    timing: { kind: 'rate', every: 1, unit: 'hours' },
    enabled: false,
  });
  expect(created.status, created.text).toBe(201);
  return String(created.body.id);
}

/** Fires a schedule by hand as alice; the fire's log entry. */
async function fireNow(id: string): Promise<Record<string, unknown>> {
  const fired = await api(ACME, alice, 'POST', `/api/schedules/${id}/fire`);
  expect(fired.status, fired.text).toBe(200);
  return fired.body;
}

describe('the last fire on the Schedules list', () => {
  it("shows each schedule's last run as it ended, linked to it, or why its last fire was skipped", async () => {
    const greet = await skill('Greet', 'def main(inputs, ctx):\n    return {"hello": "world"}\n');
    const broken = await skill(
      'Break',
      'def main(inputs, ctx):\n    raise RuntimeError("broken on purpose")\n',
    );
    const good = await schedule(alice, 'Greets', greet);
    const bad = await schedule(alice, 'Breaks', broken);
    const idle = await skill('Idle', 'def main(inputs, ctx):\n    return {}\n');
    const orphan = await schedule(alice, 'Idled', idle);

    const goodFire = await fireNow(good);
    const badFire = await fireNow(bad);
    expect(goodFire).toMatchObject({ outcome: 'ran' });
    expect(badFire).toMatchObject({ outcome: 'ran' });
    const goodRun = String(goodFire.executionId);
    await expect(finished(ACME, alice, goodRun)).resolves.toMatchObject({ status: 'succeeded' });
    await expect(finished(ACME, alice, String(badFire.executionId))).resolves.toMatchObject({
      status: 'failed',
    });
    // Its Skill disabled, a schedule's fire is skipped.
    const disabled = await api(ACME, alice, 'PUT', `/api/skills/${idle}/state`, { state: 'disabled' });
    expect(disabled.status, disabled.text).toBe(200);
    expect(await fireNow(orphan)).toMatchObject({ outcome: 'skipped', reason: 'skill-not-runnable' });

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/schedules', 'alice');
    await tab.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    const list = tab.getByRole('region', { name: 'All schedules' });
    const last = async (name: string) => {
      const row = list.getByRole('row', { name: new RegExp(name) });
      await row.waitFor();
      // The columns: Name, Skill, When, State, Next fire, Last, Actions.
      return (await row.getByRole('cell').nth(5).textContent())?.replace(/\s+/g, ' ');
    };
    expect(await last('Greets')).toMatch(/ · ran · succeeded$/);
    expect(await last('Breaks')).toMatch(/ · ran · failed$/);
    expect(await last('Idled')).toMatch(
      / · skipped: the Skill cannot run \(disabled, archived or not published\)$/,
    );

    // The status links to the run itself.
    const link = list.getByRole('row', { name: /Greets/ }).getByRole('link', { name: 'succeeded' });
    expect(await link.getAttribute('href')).toBe(`/executions/${goodRun}`);
    await link.click();
    await tab.getByText(goodRun).first().waitFor();
    expect(new URL(tab.url()).pathname).toBe(`/executions/${goodRun}`);
    // And the run says which schedule started it, linked back.
    const back = tab.getByRole('link', { name: 'Greets' });
    await back.waitFor();
    expect(await back.getAttribute('href')).toBe(`/schedules/${good}`);
  }, 120_000);

  it('follows a fire made on the page: the list and the log show its run as it ends, without a reload', async () => {
    const greet = await skill('Wave', 'def main(inputs, ctx):\n    return {"wave": True}\n');
    await schedule(alice, 'Waves', greet);
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/schedules', 'alice');
    const list = tab.getByRole('region', { name: 'All schedules' });
    const row = list.getByRole('row', { name: /Waves/ });
    await row.waitFor();
    const navigations: string[] = [];
    tab.on('framenavigated', (frame) => {
      if (frame === tab.mainFrame()) navigations.push(frame.url());
    });
    await row.getByRole('button', { name: 'Fire now' }).click();
    // The run ends after the fire's answer: the list looks again until it has.
    await row.getByRole('link', { name: 'succeeded' }).waitFor({ timeout: 30_000 });
    const log = tab.getByRole('region', { name: 'Scheduling log' });
    await log.getByRole('row', { name: /Waves/ }).first().waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
  }, 120_000);
});
