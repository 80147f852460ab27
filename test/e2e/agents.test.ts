/**
 * Local agents in a real browser: a tenant admin creates an agent on the Agents page and is shown
 * its token once; once the agent has said hello, the page shows it online with its version; the
 * governance console shows the tenant's agents on the tenant's page.
 */
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-agents-password';
let platform: TestPlatform;

const { page } = browserSuite(PASSWORD, (suite) => {
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
});
