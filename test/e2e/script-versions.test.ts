/**
 * A script's page in a real browser: uploading a version activates it unless told otherwise (as
 * `execfabric push` does), so the next run uses it; the editor follows the active version after an
 * upload or an activation, without a reload; a script is renamed there; and a second script (or
 * Skill) of a name another one has is created only after the page says so.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, editorText, screenshot } from './support.ts';

const PASSWORD = 'e2e-script-versions-password';
const ACME = 'acme.localhost';
const EDITOR = 'Source of the new version';

let platform: TestPlatform;
let alice = '';

const { page, api, signedIn, finished } = browserSuite(PASSWORD, async (suite) => {
  platform = suite.platform;
  alice = await platform.login(ACME, 'alice');
});

function says(word: string): string {
  return `def main(inputs, ctx):\n    return {"said": "${word}"}\n`;
}

/** A script saying `word` and a Skill following its active version; their ids. */
async function scriptWithSkill(name: string, word: string): Promise<{ script: string; skill: string }> {
  const script = await api(ACME, alice, 'POST', '/api/assets/scripts', { name, source: says(word) });
  expect(script.status, script.text).toBe(201);
  const skill = await api(ACME, alice, 'POST', '/api/skills', {
    name: `Say (${name})`,
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    risk: 'low',
    asset: { kind: 'python-script', id: script.body.id, version: 'active' },
  });
  expect(skill.status, skill.text).toBe(201);
  return { script: script.body.id, skill: skill.body.id };
}

async function runOutput(skill: string): Promise<unknown> {
  const started = await api(ACME, alice, 'POST', `/api/skills/${skill}/executions`, { input: {} });
  expect(started.status, started.text).toBe(202);
  const run = await finished(ACME, alice, started.body.id);
  expect(run.status, JSON.stringify(run)).toBe('succeeded');
  return run.output;
}

describe("a script's page", () => {
  it('activates an uploaded version by default, and the editor follows the active version', async () => {
    const { script, skill } = await scriptWithSkill('hot.py', 'one');
    const { page: tab } = await page();
    await signedIn(tab, ACME, `/assets/${script}`, 'alice');
    await tab.getByRole('heading', { name: 'hot.py', level: 1 }).waitFor();
    await expect.poll(() => editorText(tab, EDITOR)).toContain('"one"');

    // The default: ticked, as `execfabric push` activates what it uploads.
    expect(await tab.getByLabel('Activate it right away').isChecked()).toBe(true);
    await tab.getByLabel(EDITOR, { exact: true }).fill(says('two'));
    await tab.getByRole('button', { name: 'Upload version' }).click();
    await tab.getByText('Uploaded version 2; it is active.').waitFor();
    await expect.poll(() => tab.getByTestId('active-version').textContent()).toBe('v2');
    expect(await runOutput(skill)).toEqual({ said: 'two' });

    // Uploaded without activating, the editor starts again from the active version, v2.
    await tab.getByLabel(EDITOR, { exact: true }).fill(says('three'));
    await tab.getByLabel('Activate it right away').uncheck();
    await tab.getByRole('button', { name: 'Upload version' }).click();
    await tab.getByText('Uploaded version 3.').waitFor();
    await expect.poll(() => editorText(tab, EDITOR)).toContain('"two"');
    expect(await tab.getByLabel('Activate it right away').isChecked()).toBe(true);
    expect(await runOutput(skill)).toEqual({ said: 'two' });

    // A rollback (a pointer move) shows the version now active, without a reload.
    await tab.getByRole('button', { name: 'Roll back to v1' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Roll back to v1' }).click();
    await tab.getByText('Rolled back: version 1 is active.').waitFor();
    await expect.poll(() => editorText(tab, EDITOR)).toContain('"one"');
    await screenshot(tab, 'tenant-script-rolled-back');
    expect(await runOutput(skill)).toEqual({ said: 'one' });
  }, 90_000);

  it('renames a script, and its Skill runs on', async () => {
    const { script, skill } = await scriptWithSkill('old-name.py', 'renamed');
    const { page: tab } = await page();
    await signedIn(tab, ACME, `/assets/${script}`, 'alice');
    await tab.getByRole('heading', { name: 'old-name.py', level: 1 }).waitFor();
    await tab.getByRole('button', { name: 'Rename' }).click();
    await tab.getByLabel('New name').fill('new-name.py');
    await tab.getByRole('button', { name: 'Save name' }).click();
    await tab.getByText('Renamed to "new-name.py".').waitFor();
    await tab.getByRole('heading', { name: 'new-name.py', level: 1 }).waitFor();
    await screenshot(tab, 'tenant-script-renamed');

    // A bad name gets the API's problem, and the name stays.
    await tab.getByRole('button', { name: 'Rename' }).click();
    await tab.getByLabel('New name').fill('   ');
    await tab.getByRole('button', { name: 'Save name' }).click();
    expect(await tab.getByRole('alert').getAttribute('data-problem')).toMatch(/validation-failed$/);
    expect((await api(ACME, alice, 'GET', `/api/assets/scripts/${script}`)).body.name).toBe('new-name.py');
    expect(await runOutput(skill)).toEqual({ said: 'renamed' });
  }, 60_000);

  it('asks before creating a script of a name another live script has', async () => {
    const existing = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'shared.py',
      source: says('first'),
    });
    expect(existing.status, existing.text).toBe(201);
    const named = async () =>
      (
        (await api(ACME, alice, 'GET', '/api/assets/scripts?limit=100')).body.items as { name: string }[]
      ).filter((item) => item.name === 'shared.py').length;

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/assets', 'alice');
    await tab.getByLabel('Name', { exact: true }).fill('shared.py');
    await tab.getByRole('button', { name: 'Create script' }).click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByText(existing.body.id).waitFor();
    await screenshot(tab, 'tenant-script-same-name');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await named()).toBe(1);

    await tab.getByRole('button', { name: 'Create script' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Create it anyway' }).click();
    await tab.getByRole('heading', { name: 'shared.py', level: 1 }).waitFor();
    expect(await named()).toBe(2);
  }, 60_000);

  it('asks before creating a Skill of a name another live Skill has', async () => {
    const { skill: existing } = await scriptWithSkill('namesake.py', 'first');
    const skillsNamed = async () =>
      ((await api(ACME, alice, 'GET', '/api/skills?archived=true')).body.items as { name: string }[]).filter(
        (item) => item.name === 'Say (namesake.py)',
      ).length;

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin/new', 'alice');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    await tab.getByLabel('Name', { exact: true }).fill('Say (namesake.py)');
    await tab.getByRole('button', { name: 'Create skill' }).click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByText(existing).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await skillsNamed()).toBe(1);

    await tab.getByRole('button', { name: 'Create skill' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Create it anyway' }).click();
    await tab.getByRole('heading', { name: 'Edit Say (namesake.py)', level: 1 }).waitFor();
    expect(await skillsNamed()).toBe(2);
    // Saving it under its own name again asks nothing.
    await tab.getByRole('button', { name: 'Save changes' }).click();
    await tab.getByText(/Saved revision 2\./).waitFor();
  }, 60_000);
});
