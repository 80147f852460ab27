/**
 * Issue 19's controls that the journeys of `daily.test.ts` pass by, each driven in a real browser:
 * a wrong password on sign-in, the confirmation before suspending a tenant and before rolling a script
 * back (cancel changes nothing, confirm does it), the audit export as a downloaded file, a re-run with
 * an edited input, the local-development switch of an HTTP resource, names where ids would be, and
 * screenshots of the pages the theme screenshots of `daily.test.ts` do not cover. One platform and one
 * browser for the file; each test its own context.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';
import { browserSuite, screenshot, siteUrl } from './support.ts';

const PASSWORD = 'e2e-controls-password';
const ACME = 'acme.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let port: number;
let alice: string;
let admin: string;

const { page, api, signedIn, finished } = browserSuite(PASSWORD, async (suite) => {
  ({ platform, port } = suite);
  [alice, admin] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ADMIN, 'admin')]);
});

/** Every id of a tenant's audit trail, through the API (all pages). */
async function auditIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const answer = await api(
      ACME,
      alice,
      'GET',
      `/api/audit?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    expect(answer.status, answer.text).toBe(200);
    ids.push(...answer.body.items.map((entry: { id: string }) => entry.id));
    cursor = answer.body.cursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

describe('sign-in', () => {
  it('a wrong password reads as such, with the API detail kept and the password cleared and focused; the right one signs in', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ACME, port, '/home'));
    await tab.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    await tab.getByLabel('Username').fill('bob');
    await tab.getByLabel('Password').fill('not-the-password');
    await tab.getByRole('button', { name: 'Sign in' }).click();
    const problem = tab.getByRole('alert');
    await problem.waitFor();
    const text = (await problem.textContent()) ?? '';
    expect(text).toContain('Wrong username or password');
    expect(text).toContain('Check both and try again');
    // A human message, never the HTTP status or its reason phrase.
    expect(text).not.toMatch(/Unauthorized|\(401\)|401/);
    expect(await problem.getAttribute('data-problem')).toMatch(/^urn:execfabric:problem:/);
    // The form says which message describes it; the password is cleared and focused, the username kept.
    expect(await tab.locator('form').getAttribute('aria-describedby')).toBe('login-problem');
    expect(await tab.getByLabel('Password').inputValue()).toBe('');
    expect(await tab.getByLabel('Username').inputValue()).toBe('bob');
    expect(await tab.evaluate('document.activeElement && document.activeElement.id')).toBe('login-password');
    await screenshot(tab, 'controls-login-wrong-password');

    // The next attempt is typed straight away, and Enter sends it.
    await tab.keyboard.type(PASSWORD);
    await tab.keyboard.press('Enter');
    await tab.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await tab.getByRole('alert').filter({ hasText: 'Wrong username' }).count()).toBe(0);
  }, 45_000);
});

describe('confirmations for consequential actions', () => {
  it('suspending a tenant asks first: cancelling changes nothing, confirming suspends; it is then reactivated', async () => {
    const before = await api(ADMIN, admin, 'GET', '/api/tenants/globex');
    expect(before.body.status).toBe('active');
    const name = String(before.body.name);
    // A Skill of globex, to show what a suspension does to its runs.
    const gina = await platform.login('globex.localhost', 'gina');
    const ping = await scriptSkill(
      (token, method, path, body) => api('globex.localhost', token, method, path, body),
      gina,
      'def main(inputs, ctx):\n    return {"pong": True}\n',
      {
        scriptName: 'ping.py',
        skill: { name: 'Ping', description: 'answers', outputSchema: true, limits: { timeoutSeconds: 10 } },
      },
    );
    const runPing = () =>
      api('globex.localhost', gina, 'POST', `/api/skills/${ping.skillId}/executions`, { input: {} });
    const updates = async () =>
      (await api(ADMIN, admin, 'GET', '/api/audit?target=tenant:globex&action=tenant.updated')).body
        .items as { details?: { changed?: unknown } }[];
    const updatesBefore = (await updates()).length;

    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/tenants/globex', 'admin');
    await tab.getByRole('heading', { name, level: 1 }).waitFor();
    const status = tab.locator('#edit-tenant-status');
    const save = tab.getByRole('button', { name: 'Save changes' });

    await status.selectOption('suspended');
    await save.click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByRole('heading', { name: `Suspend ${name}?` }).waitFor();
    expect(await dialog.textContent()).toContain('nothing runs until it is reactivated');
    await screenshot(tab, 'controls-governance-suspend-confirm');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    // Nothing was sent: the tenant is still active (and the form says so), nothing was audited, and it still runs.
    expect(await status.inputValue()).toBe('active');
    expect((await api(ADMIN, admin, 'GET', '/api/tenants/globex')).body.status).toBe('active');
    expect(await tab.locator('.facts').getByText('active', { exact: true }).count()).toBe(1);
    expect(await updates()).toHaveLength(updatesBefore);
    expect((await runPing()).status).toBe(202);

    await status.selectOption('suspended');
    await save.click();
    await dialog.getByRole('button', { name: `Suspend ${name}` }).click();
    await expect
      .poll(async () => (await api(ADMIN, admin, 'GET', '/api/tenants/globex')).body.status)
      .toBe('suspended');
    await tab.locator('.facts').getByText('suspended', { exact: true }).waitFor();
    const audited = await updates();
    expect(audited).toHaveLength(updatesBefore + 1);
    expect(JSON.stringify(audited)).toContain('suspended');
    // A suspended tenant runs nothing, and says why.
    const refused = await runPing();
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.type).toBe('urn:execfabric:problem:tenant-suspended');

    // Reactivating needs no confirmation.
    await status.selectOption('active');
    await save.click();
    await expect
      .poll(async () => (await api(ADMIN, admin, 'GET', '/api/tenants/globex')).body.status)
      .toBe('active');
    await tab.locator('.facts').getByText('active', { exact: true }).waitFor();
    expect(await tab.getByRole('dialog').count()).toBe(0);
    expect((await runPing()).status).toBe(202);
  }, 60_000);

  it('rolling a script back asks first: cancelling keeps the active version, confirming rolls back, and the next run uses it', async () => {
    const created = await api(ACME, alice, 'POST', '/api/assets/scripts', {
      name: 'rollme.py',
      source: 'def main(inputs, ctx):\n    return {"v": 1}\n',
    });
    expect(created.status, created.text).toBe(201);
    const scriptId = String(created.body.id);
    const second = await api(ACME, alice, 'POST', `/api/assets/scripts/${scriptId}/versions`, {
      source: 'def main(inputs, ctx):\n    return {"v": 2}\n',
      note: 'second',
    });
    expect(second.status, second.text).toBe(201);
    const activated = await api(ACME, alice, 'PUT', `/api/assets/scripts/${scriptId}/active`, { version: 2 });
    expect(activated.status, activated.text).toBe(200);
    const skill = await api(ACME, alice, 'POST', '/api/skills', {
      name: 'Rollme',
      description: 'says which version ran',
      inputSchema: { type: 'object' },
      outputSchema: true,
      risk: 'low',
      asset: { kind: 'python-script', id: scriptId, version: 'active' },
      limits: { timeoutSeconds: 20 },
    });
    expect(skill.status, skill.text).toBe(201);

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/assets/${scriptId}`, 'alice');
    await tab.getByRole('heading', { name: 'rollme.py', level: 1 }).waitFor();
    await expect.poll(async () => tab.getByTestId('active-version').textContent()).toBe('v2');
    const rollBack = tab.getByRole('button', { name: 'Roll back to v1' });
    await rollBack.click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Roll back rollme.py to version 1?' }).waitFor();
    await screenshot(tab, 'controls-script-rollback-confirm');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await tab.getByTestId('active-version').textContent()).toBe('v2');
    expect((await api(ACME, alice, 'GET', `/api/assets/scripts/${scriptId}`)).body.activeVersion).toBe(2);

    await rollBack.click();
    await dialog.getByRole('button', { name: 'Roll back to v1' }).click();
    await tab.getByText('Rolled back: version 1 is active.').waitFor();
    await expect.poll(async () => tab.getByTestId('active-version').textContent()).toBe('v1');
    expect((await api(ACME, alice, 'GET', `/api/assets/scripts/${scriptId}`)).body.activeVersion).toBe(1);
    // Now v2 is the later one: it can be activated again, not rolled back to.
    await tab.getByRole('button', { name: 'Activate v2' }).waitFor();

    const started = await api(ACME, alice, 'POST', `/api/skills/${skill.body.id}/executions`, { input: {} });
    expect(started.status, started.text).toBe(202);
    const done = await finished(ACME, alice, String(started.body.id));
    expect(done).toMatchObject({ status: 'succeeded', output: { v: 1 }, asset: { version: 1 } });
  }, 60_000);
});

describe('audit export', () => {
  it('the export button downloads a JSON Lines file of the audit entries, verification first', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/audit', 'alice');
    await tab.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    const earlier = await auditIds();
    expect(earlier.length).toBeGreaterThan(0);
    const [download] = await Promise.all([
      tab.waitForEvent('download'),
      tab.getByRole('button', { name: 'Export (JSON Lines)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const text = await readFile(await download.path(), 'utf8');
    const lines = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      kind: 'header',
      format: 'execfabric-audit-export/1',
      domain: 'tenant:acme',
      verification: { valid: true },
    });
    const entries = lines.slice(1);
    expect(entries.every((line) => line.kind === 'entry')).toBe(true);
    // One file, every page joined: no continuation headers or cursors left in it.
    expect(lines.filter((line) => line.kind === 'header')).toHaveLength(1);
    expect(lines.filter((line) => line.kind === 'next')).toHaveLength(0);
    const exported = entries.map((entry) => String(entry.id));
    // Everything there was before the export is in it, and nothing that is not in the trail.
    expect(exported).toEqual(expect.arrayContaining(earlier));
    const later = await auditIds();
    expect(later).toEqual(expect.arrayContaining(exported));
    for (const entry of entries) {
      expect(entry).toMatchObject({ action: expect.any(String), hash: expect.any(String) });
    }
    await tab.getByText(`Exported ${entries.length} entr`).waitFor();

    // A filtered export holds only what the filter selects (the whole trail has others' entries too).
    const actors = entries.map((entry) => (entry.actor as { username?: string } | undefined)?.username);
    expect(actors.some((actor) => actor !== 'alice')).toBe(true);
    await tab.getByLabel('Who (username)').fill('alice');
    await tab.getByLabel('Who (username)').press('Enter');
    await expect.poll(async () => new URL(tab.url()).searchParams.get('actor')).toBe('alice');
    const [filtered] = await Promise.all([
      tab.waitForEvent('download'),
      tab.getByRole('button', { name: 'Export (JSON Lines)' }).click(),
    ]);
    const only = (await readFile(await filtered.path(), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { kind: string; actor?: { username: string } });
    expect(only.length).toBeGreaterThan(1);
    expect(only.slice(1).every((line) => line.actor?.username === 'alice')).toBe(true);
  }, 45_000);
});

describe('re-run with an edited input', () => {
  it('the form starts from the earlier input; the new run has the edited input and names the earlier run', async () => {
    const greet = (await api(ACME, alice, 'GET', '/api/skills')).body.items.find(
      (item: { name: string }) => item.name === 'Greet',
    );
    const first = await api(ACME, alice, 'POST', `/api/skills/${greet.id}/executions`, {
      input: { name: 'First' },
    });
    expect(first.status, first.text).toBe(202);
    const firstId = String(first.body.id);
    await finished(ACME, alice, firstId);

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${firstId}`, 'alice');
    await tab.getByRole('heading', { name: 'Run of Greet', level: 1 }).waitFor();
    await tab.getByRole('link', { name: 'Edit input and run again' }).click();
    await tab.getByRole('heading', { name: 'Greet', level: 1, exact: true }).waitFor();
    await tab.getByText('The form starts from the input of run').waitFor();
    const field = tab.getByLabel('name');
    await expect.poll(async () => field.inputValue()).toBe('First');
    await field.fill('Second');
    await tab.getByRole('button', { name: 'Run' }).click();
    const result = tab.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain('Second');
    // The run shown names the earlier one, as a link to it.
    const earlierLink = tab.locator('.latest-run').getByRole('link', { name: firstId });
    await earlierLink.waitFor();

    const runs = await api(ACME, alice, 'GET', `/api/executions?skillId=${greet.id}&limit=100`);
    const rerun = runs.body.items.find((item: { rerunOf?: string }) => item.rerunOf === firstId);
    expect(rerun, JSON.stringify(runs.body.items)).toBeDefined();
    const stored = await api(ACME, alice, 'GET', `/api/executions/${rerun.id}`);
    expect(stored.body).toMatchObject({ input: { name: 'Second' }, rerunOf: firstId });
    await earlierLink.click();
    await expect.poll(async () => new URL(tab.url()).pathname).toBe(`/executions/${firstId}`);
    expect(await tab.getByRole('figure', { name: 'Input' }).textContent()).toContain('First');
  }, 60_000);
});

describe('HTTP resources for local development', () => {
  it('the console form shows the local-development switch with its warning; saving records it, and a run reaches a service on this machine through it', async () => {
    // A service on this machine, as a developer would run one.
    const seen: string[] = [];
    const upstream: Server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ path: request.url }));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    try {
      const { page: tab } = await page();
      await signedIn(tab, ADMIN, '/http-resources', 'admin');
      await tab.getByRole('heading', { name: 'HTTP resources', level: 1 }).waitFor();
      const local = tab.getByLabel('For local development');
      expect(await local.isChecked()).toBe(false);
      const hint = tab.locator(`#${await local.getAttribute('aria-describedby')}`);
      expect(await hint.textContent()).toMatch(/loopback and private addresses.*cloud deployment refuses/s);

      // Without the switch, a plain-http loopback address is refused, the field named.
      await tab.getByLabel('Name', { exact: true }).fill('Local stub');
      await tab.getByLabel('Base URL').fill(baseUrl);
      await tab.getByLabel('Allowed paths (patterns, comma-separated)').fill('/things/*');
      await tab.getByRole('button', { name: 'Create resource' }).click();
      const problem = tab.getByRole('alert').filter({ hasText: 'baseUrl' });
      await problem.waitFor();
      expect(await problem.textContent()).not.toMatch(/\(4\d\d\)/);

      await local.check();
      await tab.getByRole('button', { name: 'Create resource' }).click();
      const card = tab.getByRole('article', { name: 'Local stub' });
      await card.waitFor();
      await card.getByText('local development').waitFor();
      // The form is ready for the next one, the switch off again.
      expect(await local.isChecked()).toBe(false);
      await card.getByLabel('New credential').fill('local-stub-token');
      await card.getByRole('button', { name: 'Set credential' }).click();
      await tab.getByText('Credential of Local stub set.').waitFor();
      await card.getByLabel('Grant to tenants (ids, comma-separated)').fill('acme');
      await card.getByRole('button', { name: 'Grant', exact: true }).click();
      await tab.getByText('Local stub granted.').waitFor();
      await screenshot(tab, 'controls-governance-local-resource');
      const listed = await api(ADMIN, admin, 'GET', '/api/http-resources');
      const stored = listed.body.items.find((item: { name: string }) => item.name === 'Local stub');
      expect(stored).toMatchObject({ localDevelopment: true, baseUrl });

      // A Skill of acme calls it; the run page names the resource it called.
      const { skillId } = await scriptSkill(
        (token, method, path, body) => api(ACME, token, method, path, body),
        alice,
        `def main(inputs, ctx):\n    return ctx.http("${stored.id}", "GET", "/things/1").json()\n`,
        {
          scriptName: 'call_local.py',
          skill: {
            name: 'Call local',
            description: 'calls a service on this machine',
            outputSchema: true,
            limits: { timeoutSeconds: 30 },
            egress: [stored.id],
          },
        },
      );
      const started = await api(ACME, alice, 'POST', `/api/skills/${skillId}/executions`, {
        input: {},
      });
      expect(started.status, started.text).toBe(202);
      const done = await finished(ACME, alice, String(started.body.id));
      expect(done, JSON.stringify(done.error)).toMatchObject({
        status: 'succeeded',
        output: { path: '/things/1' },
      });
      expect(seen).toEqual(['GET /things/1']);

      const { page: run } = await page();
      await signedIn(run, ACME, `/executions/${started.body.id}`, 'alice');
      const call = run.locator(`[data-resource="${stored.id}"]`);
      await call.getByText('Local stub').waitFor();
      expect(await call.textContent()).toMatch(/GET \/things\/1 → 200/);
      expect(await call.textContent()).not.toContain(stored.id);
    } finally {
      upstream.close();
    }
  }, 60_000);
});

describe('names where ids would be', () => {
  it('the run list names each Skill, never its id', async () => {
    const skills = (await api(ACME, alice, 'GET', '/api/skills')).body.items as {
      id: string;
      name: string;
    }[];
    const greet = skills.find((item) => item.name === 'Greet');
    expect(greet).toBeDefined();
    const started = await api(ACME, alice, 'POST', `/api/skills/${greet?.id}/executions`, {
      input: { name: 'Ids' },
    });
    await finished(ACME, alice, String(started.body.id));
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/executions', 'alice');
    const row = tab.locator(`tr[data-run="${started.body.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('Greet');
    const table = (await tab.locator('table').first().textContent()) ?? '';
    for (const skill of skills) expect(table).not.toContain(skill.id);
  }, 45_000);
});

describe('the remaining pages, light and dark', () => {
  it('renders the pages the theme screenshots of daily.test.ts leave out, without errors, in both themes', async () => {
    const tenantPages = [
      '/schedules',
      '/data',
      '/agents',
      '/mcp-clients',
      '/users',
      '/parameters',
      '/http-resources',
      '/tokens',
    ];
    const consolePages = ['/lifecycle', '/templates', '/users'];
    const visit = async (tab: Page, host: string, path: string, prefix: string, scheme: string) => {
      await tab.goto(siteUrl(host, port, path));
      await tab.locator('#page-title').waitFor();
      await tab
        .locator('.loading')
        .first()
        .waitFor({ state: 'detached', timeout: 15_000 })
        .catch(() => undefined);
      // A page the user may use: never the "not available to you" page or a problem.
      expect(await tab.getByRole('heading', { name: 'Not available to you' }).count(), path).toBe(0);
      expect(await tab.locator('.problem').count(), path).toBe(0);
      await screenshot(tab, `theme-${prefix}${path.replace(/\//g, '-')}-${scheme}`);
    };
    for (const scheme of ['light', 'dark'] as const) {
      const { page: tab } = await page();
      await tab.emulateMedia({ colorScheme: scheme });
      await signedIn(tab, ACME, '/home', 'alice');
      for (const path of tenantPages) await visit(tab, ACME, path, 'tenant', scheme);
      const { page: gov } = await page();
      await gov.emulateMedia({ colorScheme: scheme });
      await signedIn(gov, ADMIN, '/tenants', 'admin');
      for (const path of consolePages) await visit(gov, ADMIN, path, 'governance', scheme);
    }
  }, 120_000);
});
