/**
 * Issue 19 in a real browser: the fronts people use every day. One platform and one browser for the
 * file (each test its own context, so its own cookie jar): the code editor (Tab indents, Escape then
 * Tab leaves, a file loads), a session that survives a second tab and a reload, run filters, a
 * cancelled run, a running run whose log grows on the page until it is cancelled, an archived Skill whose runs are refused, an approval showing who approved, a
 * platform announcement as a banner until read, a forged write from another origin refused, a
 * dedicated tenant's branding on its own host, and screenshots of the main pages, light and dark.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import type { TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';
import { browserSuite, editorText, menuLabels, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-daily-password';
const ACME = 'acme.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let port: number;
let alice: string;
let bob: string;
let admin: string;

const { page, api, signedIn, finished } = browserSuite(PASSWORD, async (suite) => {
  ({ platform, port } = suite);
  [alice, bob, admin] = await Promise.all([
    platform.login(ACME, 'alice'),
    platform.login(ACME, 'bob'),
    platform.login(ADMIN, 'admin'),
  ]);
});

/** A Skill bound to a new script of acme, created through the API. */
async function skill(name: string, source: string, extra: Record<string, unknown> = {}): Promise<string> {
  const made = await scriptSkill(
    (token, method, path, body) => api(ACME, token, method, path, body),
    alice,
    source,
    {
      scriptName: `${name}.py`,
      skill: {
        name,
        description: `${name} for the daily journeys`,
        inputSchema: { type: 'object', properties: { name: { type: 'string' } } },
        outputSchema: true,
        limits: { timeoutSeconds: 20 },
        ...extra,
      },
    },
  );
  return made.skillId;
}

async function run(token: string, skillId: string, input: unknown = {}): Promise<string> {
  const started = await api(ACME, token, 'POST', `/api/skills/${skillId}/executions`, { input });
  expect(started.status, started.text).toBe(202);
  return String(started.body.id);
}

describe('scripts in a real code editor', () => {
  it('indents with Tab, leaves with Escape then Tab, loads a file, and creates the script', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/assets', 'alice');
    const editor = tab.getByLabel('Python source', { exact: true });
    await editor.click();
    await tab.keyboard.press('Control+A');
    await tab.keyboard.press('Delete');
    await tab.keyboard.type('def main(inputs, ctx):');
    await tab.keyboard.press('Enter');
    // Python indentation continues after the colon; Tab adds a level where the cursor is.
    await tab.keyboard.press('Home');
    await tab.keyboard.press('Tab');
    await tab.keyboard.type('return 1');
    expect(await editorText(tab, 'Python source')).toMatch(/def main\(inputs, ctx\):\n {4,8}return 1/);
    // Tab stays in the editor; Escape then Tab moves on (the keyboard is never trapped).
    expect(await tab.evaluate("document.activeElement.getAttribute('aria-label')")).toBe('Python source');
    await tab.keyboard.press('Escape');
    await tab.keyboard.press('Tab');
    expect(await tab.evaluate("document.activeElement.getAttribute('aria-label')")).not.toBe('Python source');
    // The editor highlights Python and numbers its lines.
    expect(await tab.locator('[data-editor="new-script-source"] .cm-lineNumbers').count()).toBe(1);
    expect(await tab.locator('[data-editor="new-script-source"] .cm-line span').count()).toBeGreaterThan(0);
    await screenshot(tab, 'tenant-script-editor');

    // A file from disk replaces the text.
    const uploaded = 'def main(inputs, ctx):\n    print("from a file")\n    return {"loaded": True}\n';
    await tab
      .getByLabel('Load from file…')
      .first()
      .setInputFiles({
        name: 'loaded.py',
        mimeType: 'text/x-python',
        buffer: Buffer.from(uploaded),
      });
    await expect.poll(async () => editorText(tab, 'Python source')).toContain('print("from a file")');
    await tab.getByLabel('Name', { exact: true }).fill('loaded.py');
    await tab.getByRole('button', { name: 'Create script' }).click();
    await tab.getByRole('heading', { name: 'loaded.py', level: 1 }).waitFor();
    const scripts = await api(ACME, alice, 'GET', '/api/assets/scripts?limit=100');
    const stored = scripts.body.items.find((item: { name: string }) => item.name === 'loaded.py');
    const version = await api(ACME, alice, 'GET', `/api/assets/scripts/${stored.id}/versions/1`);
    expect(version.body.source).toBe(uploaded);
  }, 60_000);

  it('builds an input schema from fields, in step with the JSON, and approval follows the risk', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin/new', 'alice');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    const json = 'Input schema (JSON Schema 2020-12) as JSON';
    await tab.getByRole('button', { name: 'Add a field' }).first().click();
    await tab.getByLabel('Field 2 name').first().fill('count');
    await tab.getByLabel('Field 2 type').first().selectOption('integer');
    await tab.getByLabel('Field 2 required').first().check();
    await expect
      .poll(async () => JSON.parse(await editorText(tab, json)))
      .toMatchObject({
        properties: { name: { type: 'string' }, count: { type: 'integer' } },
        required: ['name', 'count'],
      });
    // Editing the JSON updates the fields.
    await tab
      .getByLabel(json, { exact: true })
      .fill(
        JSON.stringify({ type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Lima'] } } }),
      );
    await expect.poll(async () => tab.getByLabel('Field 1 name').first().inputValue()).toBe('city');
    expect(await tab.getByLabel('Field 1 type').first().inputValue()).toBe('choice');
    // Choosing a risk raises the approval rule to what it needs.
    await tab.getByLabel('Risk').selectOption('high');
    expect(await tab.getByLabel('Approval').inputValue()).toBe('two');
    await screenshot(tab, 'tenant-schema-builder');
  }, 45_000);
});

describe('sessions', () => {
  it('a run link opens in a second tab and after a reload, still signed in; signing out ends every tab', async () => {
    const greet = (await api(ACME, bob, 'GET', '/api/skills')).body.items.find(
      (item: { name: string }) => item.name === 'Greet',
    );
    const runId = await run(bob, greet.id, { name: 'Tabs' });
    await finished(ACME, alice, runId);
    const { context, page: first } = await page();
    await signedIn(first, ACME, '/home', 'bob');
    // The session is a cookie the page's script cannot read.
    const cookies = await context.cookies(siteUrl(ACME, port));
    const session = cookies.find((cookie) => cookie.name === 'efs');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', domain: ACME });
    expect(await first.evaluate('document.cookie')).toBe('');

    const second = await context.newPage();
    await second.goto(siteUrl(ACME, port, `/executions/${runId}`));
    await second.getByRole('heading', { name: 'Run of Greet', level: 1 }).waitFor();
    expect(await second.getByRole('figure', { name: 'Result' }).textContent()).toContain('Tabs');
    await second.reload();
    await second.getByRole('heading', { name: 'Run of Greet', level: 1 }).waitFor();
    // Another host never sees it.
    const other = await context.newPage();
    await other.goto(siteUrl('globex.localhost', port, '/home'));
    await other.getByRole('heading', { name: /Sign in to/ }).waitFor();
    await other.close();

    await first.getByRole('button', { name: 'Sign out' }).click();
    await first.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    // The other tab is told at once, and the server refuses the old cookie too.
    await second.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    const replay = await call(platform.platform.url, {
      host: ACME,
      path: '/api/me',
      headers: { cookie: `efs=${session?.value ?? ''}` },
    });
    expect(replay.status).toBe(401);
    await second.close();
  }, 60_000);

  it('refuses a forged write from another origin, same site or not, and the session survives it', async () => {
    const slow = await skill('Patience', 'def main(inputs, ctx):\n    return {"ok": True}\n', {
      risk: 'medium',
      approval: 'one',
    });
    const pending = await run(bob, slow);
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/home', 'bob');
    // An attacker's page: it tries to sign bob out and to cancel his run, without his knowledge.
    const target = siteUrl(ACME, port);
    const attack = `<!doctype html><html><body>
<form id="f" method="POST" action="${target}api/executions/${pending}/cancel"><input name="reason" value="x"></form>
<script>
fetch('${target}api/auth/logout', { method: 'POST', credentials: 'include', mode: 'no-cors' })
  .catch(() => undefined)
  .finally(() => { document.title = 'fetched'; document.getElementById('f').submit(); });
</script></body></html>`;
    const attacker: Server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(attack);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerPort = (attacker.address() as AddressInfo).port;
    try {
      // Same site, another origin (another port): the cookie goes along, the CSRF check refuses.
      const evil = await tab.context().newPage();
      const refused = evil.waitForResponse((response) => response.url().includes('/cancel'));
      await evil.goto(`http://${ACME}:${attackerPort}/`);
      const answer = await refused;
      expect(answer.status()).toBe(403);
      expect(JSON.parse(await answer.text()).type).toBe('urn:execfabric:problem:csrf-rejected');
      // Another site: the browser does not even send the cookie.
      const crossSite = evil.waitForResponse((response) => response.url().includes('/cancel'));
      await evil.goto(`http://127.0.0.1:${attackerPort}/`);
      expect((await crossSite).status()).toBe(401);
      await evil.close();
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
    const still = await api(ACME, bob, 'GET', `/api/executions/${pending}`);
    expect(still.body.status).toBe('pending_approval');
    await tab.reload();
    await tab.getByRole('button', { name: 'Sign out' }).waitFor();
  }, 60_000);
});

describe('runs', () => {
  it('filters runs by status and requester, cancels a waiting run after a confirmation, and shows durations', async () => {
    const careful = await skill('Careful', 'def main(inputs, ctx):\n    return {"ok": True}\n', {
      risk: 'medium',
      approval: 'one',
    });
    const chatty = await skill(
      'Chatty',
      'import sys\n\ndef main(inputs, ctx):\n    for i in range(3):\n        print(f"line {i}")\n    ctx.log("all is well")\n    ctx.log("running low", level="warning")\n    print("oops", file=sys.stderr)\n    return {"lines": 3}\n',
    );
    const done = await run(bob, chatty);
    const waiting = await run(bob, careful, { name: 'wait' });
    await finished(ACME, alice, done);

    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${waiting}`, 'bob');
    await tab.getByText('Waiting for approval.', { exact: false }).waitFor();
    await tab.getByRole('button', { name: 'Cancel run' }).click();
    const dialog = tab.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Cancel this run?' }).waitFor();
    await screenshot(tab, 'tenant-cancel-confirm');
    // The other button keeps the run: no "Cancel" beside "Cancel the run".
    expect(await dialog.getByRole('button', { name: 'Keep the run' }).count()).toBe(1);
    expect(await dialog.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await dialog.getByRole('button', { name: 'Cancel the run' }).click();
    await tab.getByText('The run was cancelled.').waitFor();
    expect((await api(ACME, alice, 'GET', `/api/executions/${waiting}`)).body).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'bob',
    });

    // The finished run: its log lines, stdout and stderr, and how long it ran.
    await tab.goto(siteUrl(ACME, port, `/executions/${done}`));
    const log = tab.getByRole('figure', { name: 'Log' });
    await log.waitFor();
    expect(await log.textContent()).toContain('line 2');
    const problems = (await log.locator('[data-stream="stderr"]').allTextContents()).join('');
    expect(problems).toContain('oops');
    // ctx.log at info is ordinary output, not shown as an error; at warning it is.
    expect(problems).toContain('WARNING running low');
    expect(problems).not.toContain('all is well');
    expect((await log.locator('[data-stream="stdout"]').allTextContents()).join('')).toContain('all is well');
    await tab.getByTestId('duration').waitFor();

    await tab.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await tab.getByLabel('Status').selectOption('cancelled');
    await tab.getByLabel('Requested by').fill('bob');
    await tab.getByRole('button', { name: 'Apply filters' }).click();
    await tab.getByRole('heading', { name: 'Matching runs' }).waitFor();
    await expect.poll(async () => new URL(tab.url()).searchParams.get('status')).toBe('cancelled');
    const rows = tab.locator('tr[data-run]');
    await rows.first().waitFor();
    expect(await rows.evaluateAll((items) => items.map((row) => row.getAttribute('data-run')))).toEqual([
      waiting,
    ]);
    await screenshot(tab, 'tenant-runs-filtered');
    await tab.getByLabel('Status').selectOption('succeeded');
    await tab.getByLabel('Skill', { exact: true }).selectOption({ label: 'Chatty' });
    await tab.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () => rows.evaluateAll((items) => items.map((row) => row.getAttribute('data-run'))))
      .toEqual([done]);

    // Run it again with the same input, from its page.
    await tab.goto(siteUrl(ACME, port, `/executions/${done}`));
    await tab.getByRole('button', { name: 'Run again' }).click();
    await tab.getByText('Re-run of').waitFor();
    await tab.getByText('Finished successfully.').waitFor({ timeout: 30_000 });
  }, 90_000);

  it('the run page shows the log as it is printed, and cancelling stops the running job', async () => {
    const slow = await skill(
      'Slow',
      'import time\n\ndef main(inputs, ctx):\n    for i in range(60):\n        print(f"step {i}", flush=True)\n        time.sleep(0.5)\n    return {"steps": 60}\n',
      { limits: { timeoutSeconds: 60 } },
    );
    const going = await run(bob, slow);
    const { page: tab } = await page();
    await signedIn(tab, ACME, `/executions/${going}`, 'bob');
    const log = tab.getByRole('figure', { name: 'Log' });
    // Lines appear while the run is still running.
    await log.getByText('step 2', { exact: false }).waitFor({ timeout: 20_000 });
    await tab.getByText('Running…').waitFor();
    await screenshot(tab, 'tenant-run-live-log');
    await tab.getByRole('button', { name: 'Cancel run' }).click();
    await tab.getByRole('dialog').getByLabel('Reason (optional, shown on the run)').fill('wrong input');
    await tab.getByRole('dialog').getByRole('button', { name: 'Cancel the run' }).click();
    await tab.getByText('The run was cancelled.').waitFor({ timeout: 20_000 });
    // The reason is on the run's page, not only in the audit.
    await tab.getByText('Cancelled by bob while it ran: wrong input').waitFor();
    const closed = await finished(ACME, alice, going);
    expect(closed).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'bob',
      cancelReason: 'wrong input',
      error: { type: 'Cancelled', message: 'Cancelled by bob while it ran: wrong input' },
    });
    expect(String((closed.logs as { stdout: string }).stdout)).not.toContain('step 59');
  }, 90_000);

  it('an archived Skill leaves the catalogue and its runs are refused with the reason, until restored', async () => {
    const id = await skill('Retired', 'def main(inputs, ctx):\n    return {"ok": True}\n');
    const { page: tab } = await page();
    await signedIn(tab, ACME, `/skill-admin/${id}`, 'alice');
    await tab.getByRole('heading', { name: 'Edit Retired', level: 1 }).waitFor();
    // The approval hint reads right for a risk that needs none ("at least 0 approval(s)" before).
    await tab.getByText('A low-risk Skill may run without approval.').waitFor();
    await tab.getByLabel('Reason (optional, kept in the audit trail)').fill('replaced by Greet');
    await tab.getByRole('button', { name: 'Archive', exact: true }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Archive Retired' }).click();
    await tab.getByText('Retired is archived.').waitFor();

    const refused = await api(ACME, bob, 'POST', `/api/skills/${id}/executions`, { input: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('urn:execfabric:problem:not-runnable');
    expect(refused.body.detail).toContain('"Retired" is archived');
    const catalogue = await api(ACME, bob, 'GET', '/api/skills');
    expect(catalogue.body.items.map((item: { name: string }) => item.name)).not.toContain('Retired');

    const { page: user } = await page();
    await signedIn(user, ACME, `/skills/${id}`, 'alice');
    await user.getByText('This Skill cannot run right now').waitFor();
    await user.getByLabel('name').fill('anyone');
    await user.getByRole('button', { name: 'Run' }).click();
    const problem = user.getByRole('alert').filter({ hasText: 'is archived' }).first();
    await problem.waitFor();
    expect(await problem.textContent()).toContain('This cannot run right now');
    await screenshot(user, 'tenant-archived-refused');

    await tab.getByRole('button', { name: 'Restore' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Restore Retired' }).click();
    await tab.getByText('Retired is restored.').waitFor();
    const again = await api(ACME, bob, 'POST', `/api/skills/${id}/executions`, { input: {} });
    expect(again.status).toBe(202);
    const audit = await api(ACME, alice, 'GET', `/api/audit?target=skill:${id}`);
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(
      expect.arrayContaining(['skill.archived', 'skill.restored']),
    );
  }, 60_000);
});

describe('approvals and announcements', () => {
  it('counts what waits in the menu, shows the input, and the run shows who approved it and why', async () => {
    const id = await skill('Payout', 'def main(inputs, ctx):\n    return {"paid": inputs.get("name")}\n', {
      risk: 'medium',
      approval: 'one',
    });
    const requested = await run(bob, id, { name: 'Supplier 42' });
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/home', 'alice');
    const approvals = tab.getByRole('navigation', { name: 'Main' }).locator('[data-menu="approvals"] .count');
    await expect
      .poll(async () => Number(await approvals.getAttribute('data-count')))
      .toBeGreaterThanOrEqual(1);
    // The approver is told on the home page too, in the card that counts what waits for them.
    await tab
      .getByRole('region', { name: 'Waiting for you' })
      .getByRole('article', { name: 'Approval needed: Payout' })
      .waitFor();
    await tab
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /Approvals/ })
      .click();
    const card = tab.getByRole('article', { name: 'Run of Payout by bob' });
    expect(await card.getByRole('figure', { name: 'Input' }).textContent()).toContain('Supplier 42');
    await card.getByLabel('Comment (optional)').fill('invoice checked');
    await card.getByRole('button', { name: 'Approve' }).click();
    await tab.getByText('Approved the run of Payout.').waitFor();

    const { page: requester } = await page();
    await signedIn(requester, ACME, `/executions/${requested}`, 'bob');
    const decisions = requester.getByRole('region', { name: 'Approvals' });
    await decisions.waitFor();
    expect(await decisions.textContent()).toMatch(/approved\s+by\s+alice.*invoice checked/s);
    await requester.getByText('Finished successfully.').waitFor({ timeout: 30_000 });
    await screenshot(requester, 'tenant-run-approved');
    // …and the requester was notified.
    await requester.goto(siteUrl(ACME, port, '/home'));
    await requester.getByRole('region', { name: 'Approved: Payout' }).waitFor();
  }, 60_000);

  it('pages the approvals inbox, oldest first, with Load more, and counts it all on the home page', async () => {
    const id = await skill('Refund', 'def main(inputs, ctx):\n    return {}\n', {
      risk: 'medium',
      approval: 'one',
    });
    // What earlier tests left waiting is cancelled first: the counts below are this test's runs.
    for (;;) {
      const left = (await api(ACME, alice, 'GET', '/api/approvals?limit=100')).body.items as { id: string }[];
      if (left.length === 0) break;
      for (const item of left) {
        const cancelled = await api(ACME, alice, 'POST', `/api/executions/${item.id}/cancel`, {});
        expect(cancelled.status, cancelled.text).toBe(200);
      }
    }
    const asked: string[] = [];
    for (let i = 0; i < 27; i++) asked.push(await run(bob, id, { n: i }));
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/home', 'alice');
    await tab.getByText(/27 runs wait for your approval/).waitFor();
    await tab.goto(siteUrl(ACME, port, '/approvals'));
    const cards = tab.getByRole('list', { name: 'Runs waiting for approval' }).getByRole('article', {
      name: 'Run of Refund by bob',
    });
    await cards.first().waitFor();
    expect(await cards.count()).toBe(25);
    await tab.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => cards.count()).toBe(27);
    await tab.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached' });
    // Decided, they leave the inbox (the cap on runs waiting gives their places back).
    for (const run of asked) {
      const rejected = await api(ACME, alice, 'POST', `/api/executions/${run}/reject`, {});
      expect(rejected.status, rejected.text).toBe(200);
    }
  }, 60_000);

  it('a platform announcement reaches the home page as a banner until it is marked read', async () => {
    const posted = await api(ADMIN, admin, 'POST', '/api/announcements', {
      title: 'Upgrade on Sunday',
      body: 'The platform upgrades on Sunday at 06:00 UTC.',
      severity: 'warning',
      tenants: ['acme'],
    });
    expect(posted.status, posted.text).toBe(201);
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/home', 'bob');
    const banner = tab.getByRole('region', { name: 'Upgrade on Sunday' });
    await banner.waitFor();
    expect(await banner.textContent()).toContain('From the platform');
    await screenshot(tab, 'tenant-home-banner');
    await banner.getByRole('button', { name: 'Mark as read' }).click();
    await banner.waitFor({ state: 'detached' });
    await tab.reload();
    await tab.getByRole('heading', { name: 'Welcome to Acme Corporation' }).waitFor();
    expect(await tab.getByRole('region', { name: 'Upgrade on Sunday' }).count()).toBe(0);
  }, 45_000);
});

describe('dedicated delivery', () => {
  it('a dedicated tenant shows the branding its super-admin set, on its own host; shared tenants keep the standard look', async () => {
    const created = await api(ADMIN, admin, 'POST', '/api/tenants', {
      id: 'dedico',
      name: 'Dedico Ltd',
      plan: 'enterprise',
      hosts: ['dedico.localhost'],
      expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
      deliveryMode: 'dedicated',
    });
    expect(created.status, created.text).toBe(201);
    const owner = await api(ADMIN, admin, 'POST', '/api/tenants/dedico/admins', {
      username: 'dora',
      password: PASSWORD,
    });
    expect(owner.status, owner.text).toBe(201);
    const logo =
      'data:image/svg+xml;base64,' +
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32"><rect width="64" height="32" fill="#e4572e"/></svg>',
      ).toString('base64');

    // The super-admin sets the branding in the console.
    const { page: console } = await page();
    await console.goto(siteUrl(ADMIN, port, '/tenants/dedico'));
    await signIn(console, 'admin', PASSWORD);
    const form = console.getByRole('form', { name: 'Branding' });
    await form.getByLabel('Display name').fill('Dedico Portal');
    await form.getByLabel('Header colour').fill('#0b6e4f');
    await form.getByLabel('Home page text').fill('Welcome to the Dedico automation portal.');
    await form.getByLabel(/Logo/).setInputFiles({
      name: 'logo.svg',
      mimeType: 'image/svg+xml',
      buffer: Buffer.from(logo.split(',')[1] ?? '', 'base64'),
    });
    await form.getByLabel("Show every menu a user's role allows").uncheck();
    for (const menu of ['approvals', 'announcements', 'http-resources', 'parameters', 'tokens']) {
      await form.getByLabel(menu, { exact: true }).uncheck();
    }
    await form.getByRole('button', { name: 'Save branding' }).click();
    await console.getByText('Branding of Dedico Ltd saved.').waitFor();
    await screenshot(console, 'governance-branding');

    const { page: tab } = await page();
    await tab.goto(siteUrl('dedico.localhost', port));
    await tab.getByRole('heading', { name: 'Sign in to Dedico Portal' }).waitFor();
    expect(await tab.locator('img.brand-logo').count()).toBe(1);
    await screenshot(tab, 'dedicated-login');
    await signIn(tab, 'dora', PASSWORD);
    await tab.getByRole('heading', { name: 'Welcome to Dedico Portal' }).waitFor();
    await tab.getByText('Welcome to the Dedico automation portal.').waitFor();
    expect(await tab.locator('.topbar .product').textContent()).toBe('Dedico Portal');
    expect(await tab.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor")).toBe(
      'rgb(11, 110, 79)',
    );
    const labels = await menuLabels(tab);
    expect(labels).toContain('Skills');
    expect(labels).not.toContain('Approvals');
    expect(labels).not.toContain('Access tokens');
    await screenshot(tab, 'dedicated-home');

    // A shared tenant, on the same build: the standard skeleton.
    const { page: shared } = await page();
    await shared.goto(siteUrl(ACME, port));
    await shared.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    expect(await shared.evaluate('document.documentElement.dataset.brand ?? null')).toBeNull();
    expect(await shared.locator('img.brand-logo').count()).toBe(0);
  }, 60_000);
});

describe('the main pages, light and dark', () => {
  it('renders each main page without errors in both themes', async () => {
    const tenantPages = [
      '/home',
      '/skills',
      '/executions',
      '/approvals',
      '/assets',
      '/skill-admin',
      '/audit',
      '/announcements',
    ];
    const consolePages = ['/tenants', '/customers', '/http-resources', '/announcements', '/audit'];
    for (const scheme of ['light', 'dark'] as const) {
      const { page: tab } = await page();
      await tab.emulateMedia({ colorScheme: scheme });
      await signedIn(tab, ACME, '/home', 'alice');
      for (const path of tenantPages) {
        await tab.goto(siteUrl(ACME, port, path));
        await tab.locator('#page-title').waitFor();
        await tab
          .locator('.loading')
          .first()
          .waitFor({ state: 'detached', timeout: 15_000 })
          .catch(() => undefined);
        await screenshot(tab, `theme-tenant${path.replace(/\//g, '-')}-${scheme}`);
      }
      const background = (await tab.evaluate(
        'getComputedStyle(document.documentElement).backgroundColor',
      )) as string;
      expect(background).toBe(scheme === 'dark' ? 'rgb(16, 20, 28)' : 'rgb(245, 246, 248)');
      const { page: gov } = await page();
      await gov.emulateMedia({ colorScheme: scheme });
      await gov.goto(siteUrl(ADMIN, port, '/tenants'));
      await signIn(gov, 'admin', PASSWORD);
      for (const path of consolePages) {
        await gov.goto(siteUrl(ADMIN, port, path));
        await gov.locator('#page-title').waitFor();
        await gov
          .locator('.loading')
          .first()
          .waitFor({ state: 'detached', timeout: 15_000 })
          .catch(() => undefined);
        await screenshot(gov, `theme-governance${path.replace(/\//g, '-')}-${scheme}`);
      }
    }
  }, 120_000);
});
