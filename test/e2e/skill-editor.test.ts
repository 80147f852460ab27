/**
 * What a second new-user trial found in the fronts, in a real browser: saving a Skill from Manage
 * skills keeps every limit it has (a memory limit set over the API survived no description-only save)
 * and the form edits each of them within the contract's bounds; after a template install the Skills
 * list names the new script, not its id; the tenant's HTTP resources page shows the paths a resource
 * allows and the id a script calls it by; and the console shows a credential confirmed by a trial
 * without a reload.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMIT_BOUNDS } from '../../functions/contract/index.ts';
import type { TestPlatform } from '../support/platform.ts';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite, screenshot } from './support.ts';

const PASSWORD = 'e2e-skill-editor-password';
const ACME = 'acme.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let alice: string;
let admin: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  ({ platform } = suite);
  [alice, admin] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ADMIN, 'admin')]);
});

// An upstream on loopback that accepts one token: what a trial run calls.
let upstream: Server;
let upstreamPort: number;
const TOKEN = 'sk-e2e-skill-editor-0123456789';

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const ok = request.headers.authorization === `Bearer ${TOKEN}`;
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    response.end(JSON.stringify(ok ? { forecast: 'sunny' } : { error: 'invalid token' }));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("a Skill's limits in Manage skills", () => {
  it('keeps a memory limit set over the API through a description-only save, and edits it', async () => {
    const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);
    const { skillId } = await scriptSkill(send, alice, 'def main(inputs, ctx):\n    return {"ok": True}\n', {
      scriptName: 'big-memory.py',
      skill: { name: 'Big memory', limits: { timeoutSeconds: 45, memoryMb: 1024 } },
    });

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/skill-admin/${skillId}`, 'alice');
    await tab.getByRole('heading', { name: 'Edit Big memory', level: 1 }).waitFor();
    await tab.getByLabel('Description').fill('Now with a description');
    await tab.getByRole('button', { name: 'Save changes' }).click();
    await tab.getByText('Saved revision 2.').waitFor();
    const saved = await api(ACME, alice, 'GET', `/api/skills/${skillId}`);
    expect(saved.body).toMatchObject({
      revision: 2,
      description: 'Now with a description',
      limits: { timeoutSeconds: 45, memoryMb: 1024 },
    });

    // The form shows every limit, bounded as the contract says, and a change to one is saved.
    const memory = tab.getByLabel('Memory limit (MB)');
    expect(await memory.inputValue()).toBe('1024');
    expect(await memory.getAttribute('min')).toBe(String(LIMIT_BOUNDS.memoryMb.min));
    expect(await memory.getAttribute('max')).toBe(String(LIMIT_BOUNDS.memoryMb.max));
    const time = tab.getByLabel('Time limit (seconds)');
    expect(await time.inputValue()).toBe('45');
    expect(await time.getAttribute('max')).toBe(String(LIMIT_BOUNDS.timeoutSeconds.max));
    await memory.fill('512');
    await tab.getByRole('button', { name: 'Save changes' }).click();
    await tab.getByText('Saved revision 3.').waitFor();
    expect((await api(ACME, alice, 'GET', `/api/skills/${skillId}`)).body.limits).toEqual({
      timeoutSeconds: 45,
      memoryMb: 512,
    });
    expect(await tab.getByLabel('Memory limit (MB)').inputValue()).toBe('512');
    await screenshot(tab, 'tenant-skill-limits');
  });

  it('gives a new Skill the default limits', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin/new', 'alice');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    expect(await tab.getByLabel('Memory limit (MB)').inputValue()).toBe(
      String(LIMIT_BOUNDS.memoryMb.default),
    );
    expect(await tab.getByLabel('Time limit (seconds)').inputValue()).toBe(
      String(LIMIT_BOUNDS.timeoutSeconds.default),
    );
  });
});

describe('installing a template in Manage skills', () => {
  it("names the new Skill's script in the Binding column without a reload", async () => {
    const created = await api(ADMIN, admin, 'POST', '/api/templates', {
      skill: {
        name: 'Shout',
        description: 'Says it louder.',
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        risk: 'low',
      },
      source: 'def main(inputs, ctx):\n    return {"shout": True}\n',
    });
    expect(created.status, created.text).toBe(201);
    const distributed = await api(ADMIN, admin, 'POST', `/api/templates/${created.body.id}/distribute`, {
      tenantIds: ['acme'],
    });
    expect(distributed.status, distributed.text).toBe(200);

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin', 'alice');
    await tab.getByRole('heading', { name: 'Manage skills', level: 1 }).waitFor();
    await tab.getByRole('button', { name: 'Install Shout' }).click();
    await tab.getByText(/Shout version 1 is installed\./).waitFor();
    const row = tab.getByRole('row').filter({ has: tab.getByRole('link', { name: 'Shout', exact: true }) });
    await row.getByRole('cell', { name: 'Shout.py · active version' }).waitFor();
    expect(await row.textContent()).not.toMatch(/scr-/);
  });
});

describe('HTTP resources', () => {
  let resourceId: string;

  beforeAll(async () => {
    const created = await api(ADMIN, admin, 'POST', '/api/http-resources', {
      name: 'Weather API',
      description: 'Forecasts',
      baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
      methods: ['GET'],
      paths: ['/forecast/*', '/stations/**'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      timeoutSeconds: 5,
      localDevelopment: true,
    });
    expect(created.status, created.text).toBe(201);
    resourceId = String(created.body.id);
    const credential = await api(ADMIN, admin, 'PUT', `/api/http-resources/${resourceId}/credential`, {
      value: TOKEN,
    });
    expect(credential.status, credential.text).toBe(204);
    const granted = await api(ADMIN, admin, 'POST', `/api/http-resources/${resourceId}/grants`, {
      tenantIds: ['acme'],
    });
    expect(granted.status, granted.text).toBe(200);
  });

  it("shows a tenant's authors the paths a resource allows and the id a script calls it by", async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/http-resources', 'alice');
    const card = tab.getByRole('article', { name: 'Weather API' });
    await card.waitFor();
    const paths = card.getByRole('list', { name: 'Paths Weather API allows' });
    expect(await paths.getByRole('listitem').allTextContents()).toEqual(['/forecast/*', '/stations/**']);
    await card.getByText(`ctx.http("${resourceId}", "GET", path)`).waitFor();
    expect(await tab.content()).not.toContain(TOKEN);
    expect(await tab.content()).not.toContain(`127.0.0.1:${upstreamPort}`);
    await screenshot(tab, 'tenant-http-resource-paths');
  });

  it('shows the credential confirmed in the console once a trial succeeded, without a reload', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/http-resources', 'admin');
    const card = tab.getByRole('article', { name: 'Weather API' });
    await card.getByText(/not yet confirmed by a successful call/).waitFor();
    await card.getByLabel('Trial path').fill('/forecast/paris');
    await card.getByRole('button', { name: 'Trial run' }).click();
    await card.getByRole('status').getByText('200 OK').waitFor();
    await card.getByText(/not yet confirmed/).waitFor({ state: 'detached' });
    await card.getByText(/credential set/).waitFor();
  });
});
