/**
 * Gaps a new-user trial found, in a real browser: a schedule's own page says which Skill it runs
 * (linked) with what input, offers the list's actions and leads back to the list.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite } from './support.ts';

const PASSWORD = 'e2e-new-user-trial-password';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let alice: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  ({ platform } = suite);
  alice = await platform.login(ACME, 'alice');
});

/** A Skill of acme bound to a new script, created through the API as alice. */
async function skill(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);
  const made = await scriptSkill(send, alice, 'def main(inputs, ctx):\n    return {"ok": True}\n', {
    scriptName: `${name}.py`,
    skill: { name, ...extra },
  });
  return made.skillId;
}

describe("a schedule's own page", () => {
  it('shows its Skill, linked, and its input; pauses, resumes and fires it like the list; leads back', async () => {
    const skillId = await skill('Forecast');
    const input = { city: 'Paris', days: 3 };
    const created = await api(ACME, alice, 'POST', '/api/schedules', {
      name: 'Morning forecast',
      skillId,
      input,
      timing: { kind: 'rate', every: 1, unit: 'hours' },
      enabled: false,
    });
    expect(created.status, created.text).toBe(201);
    const id = String(created.body.id);

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/schedules/${id}`, 'alice');
    await tab.getByRole('heading', { name: 'Morning forecast', level: 1 }).waitFor();
    const skillLink = tab.getByRole('link', { name: 'Forecast', exact: true });
    expect(await skillLink.getAttribute('href')).toBe(`/skills/${skillId}`);
    expect(await tab.getByRole('figure', { name: 'Input' }).textContent()).toBe(
      JSON.stringify(input, null, 2),
    );

    // The list's actions: a paused schedule resumes, then pauses again.
    await tab.getByRole('button', { name: 'Resume' }).click();
    await tab.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await api(ACME, alice, 'GET', `/api/schedules/${id}`)).body.state).toBe('enabled');
    await tab.getByRole('button', { name: 'Pause' }).click();
    await tab.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await api(ACME, alice, 'GET', `/api/schedules/${id}`)).body.state).toBe('paused');

    // Fire now: the fire shows in the schedule's log, linked to its run, without a reload.
    await tab.getByRole('button', { name: 'Fire now' }).click();
    const log = tab.getByRole('region', { name: 'Log', exact: true });
    await log.getByRole('link', { name: /^ex-/ }).waitFor();

    const back = tab.getByRole('link', { name: 'All schedules' });
    expect(await back.getAttribute('href')).toBe('/schedules');
    await back.click();
    await tab.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    // The list offers the same actions, from the same buttons.
    const row = tab
      .getByRole('region', { name: 'All schedules' })
      .getByRole('row', { name: /Morning forecast/ });
    await row.getByRole('button', { name: 'Resume' }).waitFor();
    await row.getByRole('button', { name: 'Fire now' }).waitFor();
  }, 120_000);
});
