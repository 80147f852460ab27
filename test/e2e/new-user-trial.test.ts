/**
 * Gaps a new-user trial found, in a real browser: a schedule's own page says which Skill it runs
 * (linked) with what input, offers the list's actions and leads back to the list; a waiting run's own
 * page lets an approver approve or reject it, shows the API's refusal, and follows the run as it
 * starts; a signed-out load of a console logs no error; the free sign-up form names the address
 * with its port and says which passwords are refused; a schedule's input is typed into the form
 * generated from its Skill's input schema, checked as a run's is, and its fire runs with it.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite, screenshot, siteUrl } from './support.ts';

const PASSWORD = 'e2e-new-user-trial-password';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let port: number;
let alice: string;
let bob: string;

const { page, api, signedIn, finished } = browserSuite(PASSWORD, async (suite) => {
  ({ platform, port } = suite);
  [alice, bob] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ACME, 'bob')]);
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

/** A run of a new Skill that needs one approval, requested by bob: waiting for approval. */
async function waitingRun(name: string): Promise<{ skillId: string; id: string }> {
  const skillId = await skill(name, { risk: 'medium', approval: 'one' });
  const requested = await api(ACME, bob, 'POST', `/api/skills/${skillId}/executions`, { input: {} });
  expect(requested.status, requested.text).toBe(202);
  return { skillId, id: String(requested.body.id) };
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
    await screenshot(tab, 'tenant-schedule-page');

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
    // The run is whoever fired it now, and the log says so.
    await log.getByText('fired now by alice').waitFor();

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

    // bob (an operator) sees alice's schedule, and none of the buttons the API would refuse him.
    const { page: other } = await page();
    await signedIn(other, ACME, `/schedules/${id}`, 'bob');
    await other.getByRole('heading', { name: 'Morning forecast', level: 1 }).waitFor();
    await other.getByRole('link', { name: 'All schedules' }).waitFor();
    for (const name of ['Fire now', 'Resume', 'Pause', 'Edit', 'Delete']) {
      expect(await other.getByRole('button', { name }).count(), name).toBe(0);
    }
  }, 120_000);
});

describe('a new schedule', () => {
  it("takes its input in the form generated from the Skill's input schema, and fires with it", async () => {
    const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);
    await scriptSkill(send, alice, 'def main(inputs, ctx):\n    return {"echo": inputs}\n', {
      scriptName: 'weather.py',
      skill: {
        name: 'Weather report',
        inputSchema: {
          type: 'object',
          properties: {
            city: { type: 'string', title: 'City' },
            scale: { type: 'string', title: 'Temperature scale', enum: ['celsius', 'fahrenheit'] },
            days: { type: 'integer', title: 'Days ahead', minimum: 1 },
          },
          required: ['city'],
        },
      },
    });

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/schedules', 'alice');
    await tab.getByRole('button', { name: 'New schedule' }).click();
    const form = tab.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Name', { exact: true }).fill('Paris weather');
    await form.getByLabel('Skill', { exact: true }).selectOption({ label: 'Weather report' });

    // The Skill's fields, as on its run page: a required text, a choice, a whole number.
    const city = form.getByLabel('City');
    await city.waitFor();
    expect(await city.getAttribute('required')).not.toBeNull();
    const scale = form.getByLabel('Temperature scale');
    expect(await scale.evaluate((element) => element.tagName)).toBe('SELECT');
    // Checked as a run's input is, before anything is sent: the missing city is named.
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await form.getByText('City is required').first().waitFor();
    const listed = (await api(ACME, alice, 'GET', '/api/schedules')).body.items as { name: string }[];
    expect(listed.map((schedule) => schedule.name)).not.toContain('Paris weather');

    await city.fill('Paris');
    await scale.selectOption('fahrenheit');
    await form.getByLabel('Days ahead').fill('3');
    const input = { city: 'Paris', scale: 'fahrenheit', days: 3 };
    // The raw JSON stays one click away, for input the form cannot show.
    await form.getByRole('button', { name: 'Edit as JSON' }).click();
    const raw = form.getByLabel("Input (JSON, checked against the Skill's input schema)");
    expect(JSON.parse(await raw.inputValue())).toEqual(input);
    await form.getByRole('button', { name: 'Edit in the form' }).click();
    expect(await city.inputValue()).toBe('Paris');
    await form.getByLabel('Every…').check();
    await form.getByLabel('Every', { exact: true }).fill('1');
    await form.getByLabel('Unit', { exact: true }).selectOption('hours');
    await screenshot(tab, 'tenant-schedule-form');
    await form.getByRole('button', { name: 'Create schedule' }).click();

    await tab.getByRole('heading', { name: 'Paris weather', level: 1 }).waitFor();
    expect(JSON.parse((await tab.getByRole('figure', { name: 'Input' }).textContent()) ?? '')).toEqual(input);
    await tab.getByRole('button', { name: 'Fire now' }).click();
    const log = tab.getByRole('region', { name: 'Log', exact: true });
    const runLink = log.getByRole('link', { name: /^ex-/ });
    await runLink.waitFor();
    const run = await finished(ACME, alice, (await runLink.textContent()) ?? '');
    expect(run.status).toBe('succeeded');
    expect(run.input).toEqual(input);
    expect(run.output).toEqual({ echo: input });

    // Editing starts from the schedule's input, in the same fields.
    await tab.getByRole('button', { name: 'Edit', exact: true }).click();
    const edit = tab.getByRole('form', { name: 'Edit schedule' });
    expect(await edit.getByLabel('City').inputValue()).toBe('Paris');
    await edit.getByLabel('Days ahead').fill('5');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    const schedule = (await api(ACME, alice, 'GET', '/api/schedules')).body.items.find(
      (item: { name: string }) => item.name === 'Paris weather',
    );
    expect(schedule.input).toEqual({ ...input, days: 5 });
  }, 120_000);
});

describe("a waiting run's own page", () => {
  it('lets an approver approve it there and follows it as it starts; its requester cannot decide', async () => {
    const { id } = await waitingRun('Careful');

    // Its requester may decide on others' runs, not on his own.
    const { page: own } = await page();
    await signedIn(own, ACME, `/executions/${id}`, 'bob');
    await own.getByText('Waiting for approval.', { exact: false }).waitFor();
    await own.getByText('You cannot decide on this run: you requested it', { exact: false }).waitFor();
    expect(await own.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    // The inbox offers the decision on its card, and leads to the run's page.
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/approvals', 'alice');
    const card = tab.getByRole('article', { name: 'Run of Careful by bob' });
    await card.getByRole('button', { name: 'Approve' }).waitFor();
    await card.getByRole('link', { name: 'Details' }).click();
    await tab.waitForURL((url) => url.pathname === `/executions/${id}`);
    await tab.getByText('Waiting for approval.', { exact: false }).waitFor();
    const navigations: string[] = [];
    tab.on('framenavigated', (frame) => {
      if (frame === tab.mainFrame()) navigations.push(frame.url());
    });
    await screenshot(tab, 'tenant-run-waiting-decision');
    await tab.getByLabel('Comment (optional)').fill('looks fine');
    await tab.getByRole('button', { name: 'Approve' }).click();
    await tab.getByText('Approved the run of Careful.').waitFor();
    await tab.getByText('Finished successfully.').waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
    const approved = await api(ACME, alice, 'GET', `/api/executions/${id}`);
    expect(approved.body).toMatchObject({
      status: 'succeeded',
      decisions: [{ approver: 'alice', decision: 'approve', comment: 'looks fine' }],
    });
  }, 120_000);

  it('lets an approver reject it there, after a confirmation', async () => {
    const { id } = await waitingRun('Doubtful');

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${id}`, 'alice');
    await tab.getByRole('region', { name: 'Your decision' }).getByRole('button', { name: 'Reject' }).click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Reject the run of Doubtful?' }).waitFor();
    await dialog.getByRole('button', { name: 'Reject the run' }).click();
    await tab.getByText('Rejected the run of Doubtful.').waitFor();
    await tab.getByText('An approver rejected this run.').waitFor();
    expect((await api(ACME, alice, 'GET', `/api/executions/${id}`)).body.status).toBe('rejected');
  }, 120_000);

  it("shows the API's problem when it refuses the decision, and the run keeps waiting", async () => {
    const { skillId, id } = await waitingRun('Risky');

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${id}`, 'alice');
    const decision = tab.getByRole('region', { name: 'Your decision' });
    await decision.getByRole('button', { name: 'Approve' }).waitFor();
    // The Skill is disabled meanwhile: a disabled Skill releases nothing, so the API refuses.
    const disabled = await api(ACME, alice, 'PUT', `/api/skills/${skillId}/state`, { state: 'disabled' });
    expect(disabled.status, disabled.text).toBe(200);
    await decision.getByRole('button', { name: 'Approve' }).click();
    const problem = decision.getByRole('alert');
    await problem.waitFor();
    expect(await problem.getAttribute('data-problem')).toMatch(/^urn:execfabric:problem:/);
    expect((await api(ACME, alice, 'GET', `/api/executions/${id}`)).body.status).toBe('pending_approval');
  }, 120_000);
});

describe('a signed-out load', () => {
  it('logs no error in the browser, on a tenant and on the governance console, and a session still resumes', async () => {
    for (const host of [ACME, 'admin.localhost']) {
      const { page: tab } = await page();
      // Every console error, the browser's own failed-resource lines included, and every refusal.
      const logged: string[] = [];
      tab.on('console', (message) => {
        if (message.type() === 'error') logged.push(message.text());
      });
      tab.on('response', (response) => {
        if (response.status() >= 400) logged.push(`${response.status()} ${response.url()}`);
      });
      await tab.goto(siteUrl(host, port, '/'));
      await tab.getByLabel('Username').waitFor();
      await tab.reload();
      await tab.getByLabel('Username').waitFor();
      expect(logged, host).toEqual([]);
    }

    // Signed in, a reload keeps the session; signed out, a reload logs nothing again.
    const { page: tab } = await page();
    const logged: string[] = [];
    tab.on('console', (message) => {
      if (message.type() === 'error') logged.push(message.text());
    });
    await signedIn(tab, ACME, '/home', 'alice');
    await tab.reload();
    await tab.getByRole('button', { name: 'Sign out' }).waitFor();
    await tab.getByRole('button', { name: 'Sign out' }).click();
    await tab.getByLabel('Username').waitFor();
    await tab.reload();
    await tab.getByLabel('Username').waitFor();
    expect(logged).toEqual([]);
  }, 120_000);
});

describe('the free sign-up form', () => {
  it('names the address with its port, and says a password may not contain the handle', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl('free.localhost', port, '/'));
    const form = tab.getByRole('form', { name: 'Sign up' });
    const handle = form.getByLabel(/Your handle/);
    await handle.waitFor();
    expect(await form.locator('label[for="signup-handle"]').textContent()).toBe(
      `Your handle (your space will be at <handle>.free.localhost:${port})`,
    );
    const password = form.getByLabel(/^Password/);
    const hint = await password.getAttribute('aria-describedby');
    expect(await form.locator(`#${hint}`).textContent()).toBe(
      'It must not contain your handle (in any letter case) or be your email address.',
    );

    // The rule as the API applies it: the handle in another case is refused too.
    await handle.fill('erin');
    await form.getByLabel('Email').fill('erin@example.com');
    await password.fill('my ERIN passphrase');
    await form.getByRole('button', { name: 'Create my space' }).click();
    await form.getByRole('alert').getByText('must not contain your handle', { exact: false }).waitFor();
  }, 60_000);
});
