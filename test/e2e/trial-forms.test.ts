/**
 * More gaps a new-user trial found, in a real browser: the run form labels an array's items as a
 * person reads them ("Tags 1", not rjsf's "Tags-1" or the property's raw "ids-1"); a script loaded
 * from a file is named after the file when no name was typed; a run waiting for a local agent says
 * what it waits for in its status line, not "waiting for a worker" beside it.
 */
import { describe, expect, it } from 'vitest';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite } from './support.ts';

const PASSWORD = 'e2e-trial-forms-password';
const ACME = 'acme.localhost';
let alice: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  alice = await suite.platform.login(ACME, 'alice');
});

const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);

describe('the run form', () => {
  it("labels an array's items with the array's title and the item's number", async () => {
    const { skillId } = await scriptSkill(send, alice, 'def main(inputs, ctx):\n    return {}\n', {
      skill: {
        name: 'Tagger',
        inputSchema: {
          type: 'object',
          properties: {
            tags: { type: 'array', title: 'Tags', items: { type: 'string' }, default: ['urgent', 'home'] },
            ids: { type: 'array', items: { type: 'integer' }, default: [7] },
          },
        },
      },
    });
    const { page: tab } = await page();
    await signedIn(tab, ACME, `/skills/${skillId}`, 'alice');
    await tab.getByRole('heading', { name: 'Tagger', level: 1 }).waitFor();
    expect(await tab.getByLabel(/^Tags 1\*?$/).inputValue()).toBe('urgent');
    expect(await tab.getByLabel(/^Tags 2\*?$/).inputValue()).toBe('home');
    // Untitled, the array is named by its property, as its own label is.
    expect(await tab.getByLabel(/^ids 1\*?$/).inputValue()).toBe('7');
    expect(await tab.getByText(/^(Tags|ids)-\d/).count()).toBe(0);
  }, 60_000);
});

describe('a new script', () => {
  it('is named after the file its source was loaded from, unless a name was typed', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/assets', 'alice');
    const name = tab.getByLabel('Name', { exact: true });
    await name.waitFor();
    const load = (file: string) =>
      tab.getByLabel('Load from file…').setInputFiles({
        name: file,
        mimeType: 'text/x-python',
        buffer: Buffer.from('def main(inputs, ctx):\n    return {}\n'),
      });
    await load('nightly_report.py');
    await expect.poll(() => name.inputValue()).toBe('nightly_report');
    // A name the user chose is kept.
    await name.fill('Mine');
    await load('other.py');
    await tab.getByText('return {}').first().waitFor();
    expect(await name.inputValue()).toBe('Mine');
  }, 60_000);
});

describe('a run waiting for a local agent', () => {
  it('says what it waits for in its status, without the generic worker line', async () => {
    const agent = await api(ACME, alice, 'POST', '/api/agents', { name: 'trial-laptop' });
    expect(agent.status, agent.text).toBe(201);
    const script = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'on-trial-laptop',
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    const skill = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'On the trial laptop',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, agent: 'trial-laptop' },
    });
    expect(skill.status, skill.text).toBe(201);
    const run = await api(ACME, alice, 'POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expect(run.status, run.text).toBe(202);

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${run.body.id}`, 'alice');
    const status = tab.getByRole('status').filter({ hasText: 'trial-laptop' });
    await status.waitFor();
    expect((await status.textContent())?.replace(/\s+/g, ' ').trim()).toBe(
      'queued Waiting for agent trial-laptop, which has never connected.',
    );
    expect(await tab.getByText('waiting for a worker').count()).toBe(0);
  }, 60_000);
});
