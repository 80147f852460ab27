/**
 * Local agents in a real browser: a tenant admin creates an agent on the Agents page and is shown
 * its token once; once the agent has said hello, the page shows it online with its version; the
 * governance console shows the tenant's agents on the tenant's page. Skills are bound to an agent
 * in the Skill form (script, version, agent), listed with their agent, and edited; without agents,
 * or without the right to list them, the form says so.
 */
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-agents-password';
const ACME = 'acme.localhost';
const GLOBEX = 'globex.localhost';
const SOURCE = 'def main(inputs, ctx):\n    return {}\n';
let platform: TestPlatform;

const { page, api, signedIn } = browserSuite(PASSWORD, (suite) => {
  platform = suite.platform;
});

describe('agents', () => {
  it('an admin creates an agent, sees its token once and then its status; the console and a waiting run show it', async () => {
    const port = platform.platform.port;
    const { page: tab } = await page();
    await tab.goto(siteUrl('acme.localhost', port, '/agents'));
    await signIn(tab, 'alice', PASSWORD);
    await tab.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    await tab.getByLabel('Name (lowercase letters, digits and -)').fill('laptop');
    await tab.getByRole('button', { name: 'Create agent' }).click();
    await tab.getByText('Copy the token of laptop now').waitFor();
    const shown = await tab.getByRole('figure', { name: 'Start the agent' }).innerText();
    const token = /efa_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(shown)?.[0];
    expect(token, shown).toBeDefined();
    expect(shown).toContain('execfabric agent --name laptop');
    await tab.getByRole('cell', { name: 'never seen' }).waitFor();

    const hello = await call(platform.platform.url, {
      host: 'acme.localhost',
      method: 'POST',
      path: '/api/agent/hello',
      token,
      body: { name: 'laptop', version: '9.9.9', platform: 'linux-x64 e2e' },
    });
    expect(hello.status, hello.text).toBe(200);
    await tab.getByRole('button', { name: 'Done' }).click();
    await tab.reload();
    await tab.getByRole('cell', { name: 'online' }).waitFor();
    await tab.getByRole('cell', { name: '9.9.9' }).waitFor();
    await screenshot(tab, 'tenant-agents');

    const console = await page();
    await console.page.goto(siteUrl('admin.localhost', port, '/tenants/acme'));
    await signIn(console.page, 'admin', PASSWORD);
    await console.page.getByRole('heading', { name: 'Local agents' }).waitFor();
    await console.page.getByRole('cell', { name: '9.9.9' }).waitFor();
    await screenshot(console.page, 'console-tenant-agents');

    // A run of a Skill bound to the agent says, on its page, what it is waiting for.
    const alice = await platform.login('acme.localhost', 'alice');
    const send = (path: string, body: unknown) =>
      call(platform.platform.url, { host: 'acme.localhost', method: 'POST', path, token: alice, body });
    const script = await send('/api/assets/scripts', {
      name: 'on-laptop',
      source: 'def main(i, c):\n    return {}\n',
    });
    const skill = await send('/api/skills', {
      name: 'On the laptop',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, agent: 'laptop' },
    });
    expect(skill.status, skill.text).toBe(201);
    const run = await send(`/api/skills/${skill.body.id}/executions`, { input: {} });
    await tab.goto(siteUrl('acme.localhost', port, `/executions/${run.body.id}`));
    await tab.getByText('waiting for agent laptop (online) to pick it up').waitFor();
    await tab.getByText('on agent laptop').waitFor();
  }, 60_000);

  it('binds a Skill to an agent in the Skill form, lists it with its agent, and saves it unchanged and changed', async () => {
    const alice = await platform.login(ACME, 'alice');
    for (const name of ['bench', 'workshop']) {
      const agent = await api(ACME, alice, 'POST', '/api/agents', { name });
      expect(agent.status, agent.text).toBe(201);
    }
    const script = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'bench-report',
      source: SOURCE,
    });
    expect(script.status, script.text).toBe(201);
    const scriptId = String(script.body.id);
    const second = await api(ACME, alice, 'POST', `/api/assets/scripts/${scriptId}/versions`, {
      source: `${SOURCE}# second\n`,
      note: 'second',
    });
    expect(second.status, second.text).toBe(201);

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin/new', 'alice');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    await tab.getByLabel('Name', { exact: true }).fill('Bench report');
    await tab.getByLabel('Asset kind').selectOption({ label: 'Script on a local agent' });
    await tab.getByLabel('Script', { exact: true }).selectOption({ label: 'bench-report' });
    await tab.getByLabel('Version', { exact: true }).selectOption('1');
    await tab.getByLabel('Agent', { exact: true }).selectOption('bench');
    // A local-agent Skill runs no platform script: no egress, collections or parameters to declare.
    expect(await tab.getByLabel('Parameters the script may read (comma-separated keys)').count()).toBe(0);
    await tab.getByRole('button', { name: 'Create skill' }).click();
    await tab.getByRole('heading', { name: 'Edit Bench report', level: 1 }).waitFor();
    const id = decodeURIComponent(new URL(tab.url()).pathname.split('/').at(-1) ?? '');
    const stored = async () => (await api(ACME, alice, 'GET', `/api/skills/${encodeURIComponent(id)}`)).body;
    expect((await stored()).asset).toEqual({ kind: 'local-agent', id: scriptId, version: 1, agent: 'bench' });

    // The edit form shows the binding as it is, and saves it unchanged.
    expect(await tab.getByLabel('Asset kind').inputValue()).toBe('local-agent');
    await expect.poll(async () => tab.getByLabel('Script', { exact: true }).inputValue()).toBe(scriptId);
    await expect.poll(async () => tab.getByLabel('Version', { exact: true }).inputValue()).toBe('1');
    await expect.poll(async () => tab.getByLabel('Agent', { exact: true }).inputValue()).toBe('bench');
    await tab.getByRole('button', { name: 'Save changes' }).click();
    await tab.getByText('Saved revision 2.').waitFor();
    expect((await stored()).asset).toEqual({ kind: 'local-agent', id: scriptId, version: 1, agent: 'bench' });

    // Another agent, and whatever version is active.
    await tab.getByLabel('Agent', { exact: true }).selectOption('workshop');
    await tab.getByLabel('Version', { exact: true }).selectOption('active');
    await tab.getByRole('button', { name: 'Save changes' }).click();
    await tab.getByText('Saved revision 3.').waitFor();
    const saved = await stored();
    expect(saved.asset).toEqual({ kind: 'local-agent', id: scriptId, version: 'active', agent: 'workshop' });
    expect(saved.egress).toBeUndefined();

    await tab.getByRole('link', { name: 'All Skills' }).click();
    const row = tab.getByRole('row', { name: /Bench report/ });
    await row.getByRole('cell', { name: 'bench-report · active version on agent workshop' }).waitFor();
    await screenshot(tab, 'tenant-skill-admin-local-agent');
  }, 60_000);

  it('says when there is no agent to bind to, or the agents cannot be listed, and never saves an empty agent', async () => {
    // No agents in globex: the form says where to create one, and refuses to save without one.
    const gina = await platform.login(GLOBEX, 'gina');
    const script = await api(GLOBEX, gina, 'POST', '/api/assets/scripts', {
      name: 'nowhere',
      source: SOURCE,
    });
    expect(script.status, script.text).toBe(201);
    const { page: tab } = await page();
    await signedIn(tab, GLOBEX, '/skill-admin/new', 'gina');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    await tab.getByLabel('Name', { exact: true }).fill('Nowhere');
    await tab.getByLabel('Asset kind').selectOption({ label: 'Script on a local agent' });
    await tab.getByText('No agents yet').waitFor();
    expect(await tab.getByRole('link', { name: 'Agents page' }).getAttribute('href')).toBe('/agents');
    await tab.getByRole('button', { name: 'Create skill' }).click();
    await tab.getByRole('alert').getByText('Choose the agent the Skill runs on').waitFor();
    expect(new URL(tab.url()).pathname).toBe('/skill-admin/new');
    const skills = await api(GLOBEX, gina, 'GET', '/api/skills?archived=true');
    expect(skills.body.items.map((item: { name: string }) => item.name)).not.toContain('Nowhere');

    // A Skill editor who may not list agents sees the agent by name and saves it unchanged.
    const alice = await platform.login(ACME, 'alice');
    const role = await api(ACME, alice, 'POST', '/api/roles', {
      name: 'skill-editor',
      permissions: ['skill:read', 'skill:manage', 'asset:manage'],
    });
    expect(role.status, role.text).toBe(201);
    const user = await api(ACME, alice, 'POST', '/api/users', {
      username: 'sam',
      password: PASSWORD,
      roles: ['skill-editor'],
    });
    expect(user.status, user.text).toBe(201);
    const agent = await api(ACME, alice, 'POST', '/api/agents', { name: 'shed' });
    expect(agent.status, agent.text).toBe(201);
    const shedScript = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'in-shed',
      source: SOURCE,
    });
    const skill = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'In the shed',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'local-agent', id: shedScript.body.id, agent: 'shed' },
    });
    expect(skill.status, skill.text).toBe(201);
    const { page: sams } = await page();
    await signedIn(sams, ACME, `/skill-admin/${encodeURIComponent(skill.body.id)}`, 'sam');
    await sams.getByRole('heading', { name: 'Edit In the shed', level: 1 }).waitFor();
    await sams.getByText('You may not list the agents').waitFor();
    expect(await sams.getByLabel('Agent', { exact: true }).inputValue()).toBe('shed');
    // An agent that does not exist is refused, the field named with what to do.
    await sams.getByLabel('Agent', { exact: true }).fill('nosuch');
    await sams.getByRole('button', { name: 'Save changes' }).click();
    const refused = sams.getByRole('alert').filter({ hasText: 'No agent named nosuch' });
    await refused.getByRole('listitem').filter({ hasText: 'asset.agent create the agent first' }).waitFor();
    await sams.getByLabel('Agent', { exact: true }).fill('shed');
    await sams.getByRole('button', { name: 'Save changes' }).click();
    await sams.getByText('Saved revision 2.').waitFor();
    const after = await api(ACME, alice, 'GET', `/api/skills/${encodeURIComponent(skill.body.id)}`);
    expect(after.body.asset).toMatchObject({ kind: 'local-agent', agent: 'shed' });
  }, 60_000);
});
