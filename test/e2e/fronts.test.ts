/**
 * Issue 8 in a real browser: the tenant front, the governance console and the free entry, served
 * by the local platform from `frontend/dist` on their own hosts. Each test uses a fresh browser
 * context (its own sessionStorage), so signing in on one host never leaks into another.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import {
  browserSuite,
  editorText,
  horizontalOverflow,
  menuLabels,
  screenshot,
  signIn,
  siteUrl,
} from './support.ts';

const PASSWORD = 'e2e-fronts-password';
const ACME = 'acme.localhost';
const GLOBEX = 'globex.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let port: number;

const { page, api } = browserSuite(PASSWORD, (suite) => {
  ({ platform, port } = suite);
});

describe('tenant front', () => {
  it('an operator signs in on the tenant host, sees only its Skills and runs Greet through the generated form', async () => {
    // A Skill in another tenant, which acme's catalogue must never show.
    const gina = await platform.login(GLOBEX, 'gina');
    const script = await api(GLOBEX, gina, 'POST', '/api/assets/scripts', {
      name: 'secret.py',
      source: 'def main(inputs, ctx):\n    return {"ok": True}\n',
    });
    expect(script.status, script.text).toBe(201);
    const foreign = await api(GLOBEX, gina, 'POST', '/api/skills', {
      name: 'Globex Secret Report',
      description: 'only for globex',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
      limits: { timeoutSeconds: 10 },
    });
    expect(foreign.status, foreign.text).toBe(201);

    const { page: tab } = await page();
    await tab.goto(siteUrl(ACME, port, '/skills'));
    await tab.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    await screenshot(tab, 'tenant-login');
    await signIn(tab, 'bob', PASSWORD);

    // The menus are exactly those the API gives bob, in its order.
    const bob = await platform.login(ACME, 'bob');
    const me = await api(ACME, bob, 'GET', '/api/me');
    expect(await menuLabels(tab)).toEqual(me.body.menus.map((menu: { label: string }) => menu.label));

    const catalogue = tab.getByRole('list', { name: 'Skills' });
    await catalogue.getByRole('heading', { name: 'Greet', exact: true }).waitFor();
    const shown = (await catalogue.getByRole('heading').allTextContents()).map((name) => name.trim());
    const visible = await api(ACME, bob, 'GET', '/api/skills');
    expect(shown.sort()).toEqual(visible.body.items.map((skill: { name: string }) => skill.name).sort());
    expect(shown).not.toContain('Globex Secret Report');
    expect(await tab.getByText('Globex Secret Report').count()).toBe(0);
    await screenshot(tab, 'tenant-catalogue');

    await tab.getByRole('link', { name: 'Run Greet', exact: true }).click();
    await tab.getByRole('heading', { name: 'Greet', level: 1, exact: true }).waitFor();
    // The form is generated from the input schema: its one field, required.
    await tab.getByLabel('name').fill('Bob');
    await tab.getByRole('button', { name: 'Run' }).click();
    const result = tab.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain('Hello, Bob!');
    await tab.getByText('Finished successfully.').waitFor();
    expect(await tab.getByRole('figure', { name: 'Log' }).textContent()).toContain('greeting Bob');
    await screenshot(tab, 'tenant-run-result');

    // The schema's rules hold in the browser before anything is sent: an empty name is refused.
    await tab.getByLabel('name').fill('');
    await tab.getByRole('button', { name: 'Run' }).click();
    await tab.locator('.rjsf .error-detail, .rjsf .errors').first().waitFor();
    // In a sentence, not in the validator's wording with the label pasted in.
    const formText = await tab.locator('.rjsf').textContent();
    expect(formText).toContain('name is required');
    expect(formText).not.toContain('must have required property');

    // The run is in the history.
    await tab.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await tab.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await tab.getByRole('cell', { name: 'succeeded' }).first().waitFor();
    await screenshot(tab, 'tenant-runs');
  }, 60_000);

  it('an admin uploads a new script version, activates it, and the next run uses it', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ACME, port));
    await signIn(tab, 'alice', PASSWORD);
    const nav = tab.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Scripts' }).click();
    await tab.getByRole('link', { name: 'greet.py' }).click();
    await tab.getByRole('heading', { name: 'greet.py', level: 1 }).waitFor();

    const source = tab.getByLabel('Source of the new version', { exact: true });
    // The editor starts from the active version's source.
    await expect.poll(async () => editorText(tab, 'Source of the new version')).toContain('Hello, {name}!');
    const current = await editorText(tab, 'Source of the new version');
    // A broken version is refused with the API's problem details, and nothing is stored.
    await source.fill('def main(inputs, ctx:\n    return 1\n');
    await tab.getByRole('button', { name: 'Upload version' }).click();
    const problem = tab.getByRole('alert');
    await problem.waitFor();
    // A plain-language heading with the API's detail under it, never a bare status code.
    expect(await problem.textContent()).not.toMatch(/\(4\d\d\)/);
    expect(await problem.getAttribute('data-problem')).toMatch(/^urn:execfabric:problem:/);
    await screenshot(tab, 'tenant-script-problem');
    await source.fill(current.replace('Hello, {name}!', 'Howdy, {name}!'));
    await tab.getByLabel('Note').fill('friendlier greeting');
    // Uploaded without activating (ticked by default), to activate it from the versions below.
    await tab.getByLabel('Activate it right away').uncheck();
    await tab.getByRole('button', { name: 'Upload version' }).click();
    await tab.getByText('Uploaded version 2.').waitFor();

    await tab.getByRole('button', { name: 'Activate v2' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Activate v2' }).click();
    await tab.getByText('Version 2 is active.').waitFor();
    await expect.poll(async () => tab.getByTestId('active-version').textContent()).toBe('v2');
    await tab.getByRole('button', { name: 'Roll back to v1' }).waitFor();

    // Compare the two versions.
    await tab.getByLabel('From', { exact: true }).selectOption('1');
    await tab.getByLabel('To', { exact: true }).selectOption('2');
    await tab.getByRole('button', { name: 'Compare' }).click();
    const diff = tab.getByRole('figure', { name: 'Changes from version 1 to version 2' });
    await diff.waitFor();
    expect(await diff.locator('.diff-line.added').allTextContents()).toEqual([
      expect.stringContaining('Howdy, {name}!'),
    ]);
    expect(await diff.locator('.diff-line.removed').allTextContents()).toEqual([
      expect.stringContaining('Hello, {name}!'),
    ]);
    await screenshot(tab, 'tenant-script-versions');

    await nav.getByRole('link', { name: 'Skills', exact: true }).click();
    await tab.getByRole('link', { name: 'Run Greet', exact: true }).click();
    await tab.getByLabel('name').fill('Alice');
    await tab.getByLabel('name').press('Enter');
    const result = tab.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain('Howdy, Alice!');
    expect(await tab.locator('.execution dl').textContent()).toContain('greet.py version 2');

    // The admin pages render: Skill management, users and roles, audit.
    await nav.getByRole('link', { name: 'Manage skills' }).click();
    await tab.getByRole('link', { name: 'Greet', exact: true }).click();
    await tab.getByLabel('Input schema (JSON Schema 2020-12) as JSON').waitFor();
    expect(await editorText(tab, 'Input schema (JSON Schema 2020-12) as JSON')).toContain('"name"');
    // The builder shows the same schema as fields.
    expect(await tab.locator('#skill-input-schema-field-0-name').inputValue()).toBe('name');
    await screenshot(tab, 'tenant-skill-edit');
    await nav.getByRole('link', { name: 'Users & roles' }).click();
    await tab.getByRole('cell', { name: 'bob', exact: true }).waitFor();
    // Nobody is offered to disable or remove themselves, change their own roles or set their own
    // password here (the API refuses all four; one's own password is changed on the account page,
    // with the current one).
    const own = tab.locator('tr[data-user="alice"]');
    expect(await own.getByRole('button').allTextContents()).toEqual(['Tokens…']);
    expect(await own.locator('.actions').textContent()).toBe('youTokens…');
    const other = tab.locator('tr[data-user="bob"]');
    expect(await other.getByRole('button').allTextContents()).toEqual([
      'Roles…',
      'Set password…',
      'Tokens…',
      'Disable',
      'Remove…',
    ]);
    await screenshot(tab, 'tenant-users');
    await nav.getByRole('link', { name: 'Audit' }).click();
    await tab.getByRole('button', { name: 'Verify the chain' }).click();
    await tab.getByText('Chain intact').waitFor();
    await screenshot(tab, 'tenant-audit');
    await nav.getByRole('link', { name: 'HTTP resources' }).click();
    await tab.getByRole('heading', { name: 'HTTP resources', level: 1 }).waitFor();
    // Granted resources, an empty state, or (before the route exists) an unavailable notice — never an error.
    await tab.locator('.empty, .grid-cards').first().waitFor();
    expect(await tab.locator('.problem').count()).toBe(0);
  }, 60_000);

  it('warns on the Skill page when too few people may approve its runs', async () => {
    // gina is globex's only user and approver: a run she asks for needs someone else to approve it.
    const gina = await platform.login(GLOBEX, 'gina');
    const script = await api(GLOBEX, gina, 'POST', '/api/assets/scripts', {
      name: 'lonely.py',
      source: 'def main(inputs, ctx):\n    return {}\n',
    });
    const skill = await api(GLOBEX, gina, 'POST', '/api/skills', {
      name: 'Needs a second pair of eyes',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'medium',
      asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    });
    expect(skill.status, skill.text).toBe(201);
    const { page: tab } = await page();
    await tab.goto(siteUrl(GLOBEX, port, `/skill-admin/${encodeURIComponent(skill.body.id)}`));
    await signIn(tab, 'gina', PASSWORD);
    const warning = tab.getByRole('status', { name: 'Approval warning' });
    await warning.waitFor();
    expect(await warning.textContent()).toContain("Only 1 user may approve this Skill's runs");
    expect(await warning.textContent()).toContain('runs requested by its approvers are refused');
  });

  it('an admin creates a Skill that needs approval; a run waits in the inbox until approved', async () => {
    const { page: admin } = await page();
    await admin.goto(siteUrl(ACME, port, '/skill-admin/new'));
    await signIn(admin, 'alice', PASSWORD);
    await admin.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    await admin.getByLabel('Name', { exact: true }).fill('Greet carefully');
    await admin.getByLabel('Description').fill('Greets, once someone agrees.');
    await admin.getByLabel('Risk').selectOption('medium');
    await admin.getByLabel('Approval').selectOption('one');
    // The binding defaults to the tenant's first script: greet.py, the only one acme has.
    await expect
      .poll(async () => admin.getByLabel('Script').locator('option:checked').textContent())
      .toContain('greet.py');
    await admin.getByRole('button', { name: 'Create skill' }).click();
    await admin.getByRole('heading', { name: 'Edit Greet carefully', level: 1 }).waitFor();

    const { page: requester } = await page();
    await requester.goto(siteUrl(ACME, port, '/skills'));
    await signIn(requester, 'bob', PASSWORD);
    await requester.getByRole('link', { name: 'Run Greet carefully' }).click();
    await requester.getByLabel('name').fill('Carol');
    await requester.getByRole('button', { name: 'Run' }).click();
    await requester.getByText('Waiting for approval.', { exact: false }).waitFor();

    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
    const card = admin.getByRole('article', { name: 'Run of Greet carefully by bob' });
    await card.waitFor();
    await screenshot(admin, 'tenant-approvals');
    await card.getByLabel('Comment (optional)').fill('fine by me');
    await card.getByRole('button', { name: 'Approve' }).click();
    await admin.getByText('Approved the run of Greet carefully.').waitFor();
    await admin.getByText('Nothing is waiting for your decision.').waitFor();
    // A link to a run that no longer waits (an agent's ticket, a notice) says so and links the run.
    await admin.goto(siteUrl(ACME, port, '/approvals?run=ex-decided-already'));
    await admin
      .getByText('The run this link names no longer waits for your decision', { exact: false })
      .waitFor();
    await admin.getByRole('link', { name: 'See the run' }).waitFor();

    // The requester's page keeps watching the run until it ends.
    const result = requester.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toMatch(/(Hello|Howdy), Carol!/);
  }, 60_000);

  it('a banner warns of an ending subscription, and says so when the tenant is suspended', async () => {
    const admin = await platform.login(ADMIN, 'admin');
    const day = 24 * 3600 * 1000;
    const tenants = [
      { id: 'umbrella', expiresAt: new Date(Date.now() + 10 * day).toISOString() },
      // Expired three weeks ago: past the grace period, so the expiry scan suspends it.
      { id: 'hooli', expiresAt: new Date(Date.now() - 21 * day).toISOString() },
    ];
    for (const { id, expiresAt } of tenants) {
      const created = await api(ADMIN, admin, 'POST', '/api/tenants', {
        id,
        name: id[0]?.toUpperCase() + id.slice(1),
        plan: 'standard',
        hosts: [`${id}.localhost`],
        expiresAt: new Date(Date.now() + 30 * day).toISOString(),
      });
      expect(created.status, created.text).toBe(201);
      // The API takes only an expiry to come; time passing is written through the core.
      await platform.core.tenants.update(id, { expiresAt });
      // A first user, written through the core (creating a tenant's first admin has no route yet).
      const tenant = await platform.core.tenants.get(id);
      await platform.core.directory.createUser(
        { kind: 'tenant', host: `${id}.localhost`, tenant },
        { username: 'owner', password: PASSWORD, roles: ['admin'] },
      );
    }
    const scan = await api(ADMIN, admin, 'POST', '/api/lifecycle/run', { scan: 'expiry-shutdown' });
    expect(scan.status, scan.text).toBe(200);
    const hooli = await api(ADMIN, admin, 'GET', '/api/tenants/hooli');
    expect(hooli.body.status).toBe('suspended');

    const { page: tab } = await page();
    await tab.goto(siteUrl('umbrella.localhost', port));
    await signIn(tab, 'owner', PASSWORD);
    const banner = tab.getByRole('region', { name: 'Subscription', exact: true });
    expect(await banner.textContent()).toContain('The subscription ends in 10 days.');
    await screenshot(tab, 'tenant-banner-expiring');

    const { page: suspended } = await page();
    await suspended.goto(siteUrl('hooli.localhost', port));
    await signIn(suspended, 'owner', PASSWORD);
    const notice = suspended.getByRole('region', { name: 'Subscription', exact: true });
    expect(await notice.textContent()).toContain('This organisation is suspended.');
    await screenshot(suspended, 'tenant-banner-suspended');
  }, 45_000);

  it('the bare localhost address lists the platform’s own addresses as links; an unknown host none', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl('localhost', port));
    await tab.getByRole('heading', { name: 'Unknown address' }).waitFor();
    const addresses = tab.getByRole('navigation', { name: "This platform's addresses" });
    expect(await addresses.getByRole('link', { name: 'admin.localhost' }).getAttribute('href')).toBe(
      siteUrl('admin.localhost', port),
    );
    expect(await addresses.getByRole('link', { name: 'acme.localhost' }).getAttribute('href')).toBe(
      siteUrl('acme.localhost', port),
    );
    await screenshot(tab, 'unknown-address-localhost');

    const { page: other } = await page();
    await other.goto(siteUrl('nobody.localhost', port));
    await other.getByRole('heading', { name: 'Unknown address' }).waitFor();
    expect(await other.getByRole('navigation', { name: "This platform's addresses" }).count()).toBe(0);
    expect(await other.content()).not.toContain('acme.localhost');
  });

  it('a viewer sees no admin menus and is refused admin pages', async () => {
    const alice = await platform.login(ACME, 'alice');
    const created = await api(ACME, alice, 'POST', '/api/users', {
      username: 'vera',
      password: PASSWORD,
      roles: ['viewer'],
    });
    expect(created.status, created.text).toBe(201);
    const vera = await platform.login(ACME, 'vera');
    const me = await api(ACME, vera, 'GET', '/api/me');

    const { page: tab } = await page();
    await tab.goto(siteUrl(ACME, port, '/skills'));
    await signIn(tab, 'vera', PASSWORD);
    const labels = await menuLabels(tab);
    expect(labels).toEqual(me.body.menus.map((menu: { label: string }) => menu.label));
    for (const admin of ['Scripts', 'Manage skills', 'Users & roles', 'Audit', 'Parameters', 'Approvals']) {
      expect(labels).not.toContain(admin);
    }
    await tab.getByRole('heading', { name: 'Greet', exact: true }).waitFor();
    await screenshot(tab, 'tenant-viewer');

    await tab.goto(siteUrl(ACME, port, '/users'));
    await tab.getByRole('heading', { name: 'Not available to you' }).waitFor();
    expect(await tab.getByRole('button', { name: 'Create user' }).count()).toBe(0);
  }, 45_000);

  it('the sign-in form and a run work with the keyboard alone', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ACME, port, '/skills'));
    await tab.getByRole('heading', { name: 'Sign in to Acme Corporation' }).waitFor();
    const focusedId = async () =>
      (await tab.evaluate('document.activeElement && document.activeElement.id')) as string;
    // Focus starts in the username field (or is one Tab away).
    if ((await focusedId()) !== 'login-username') await tab.keyboard.press('Tab');
    expect(await focusedId()).toBe('login-username');
    await tab.keyboard.type('bob');
    await tab.keyboard.press('Tab');
    expect(await focusedId()).toBe('login-password');
    await tab.keyboard.type(PASSWORD);
    await tab.keyboard.press('Enter');
    await tab.getByRole('link', { name: 'Run Greet', exact: true }).waitFor();

    // Tab to the Skill's Run link, follow it with Enter, fill the generated field, submit with Enter.
    const tabUntil = async (predicate: string, limit = 40) => {
      for (let step = 0; step < limit; step++) {
        if ((await tab.evaluate(predicate)) === true) return;
        await tab.keyboard.press('Tab');
      }
      throw new Error(`Focus never reached ${predicate}`);
    };
    await tabUntil(
      "document.activeElement && document.activeElement.getAttribute('aria-label') === 'Run Greet'",
    );
    // The focused element is visibly marked.
    const outline = (await tab.evaluate('getComputedStyle(document.activeElement).outlineStyle')) as string;
    expect(outline).not.toBe('none');
    await screenshot(tab, 'tenant-keyboard-focus');
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: 'Greet', level: 1, exact: true }).waitFor();
    await tabUntil("document.activeElement && document.activeElement.id === 'input_name'");
    await tab.keyboard.type('Keys');
    await tab.keyboard.press('Enter');
    const result = tab.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 30_000 });
    // Greet says Hello or, once the admin's test has activated version 2, Howdy.
    expect(await result.textContent()).toMatch(/(Hello|Howdy), Keys!/);
  }, 60_000);

  it('the catalogue and a run fit a 375 px phone screen without sideways scrolling', async () => {
    const { page: tab } = await page({ width: 375, height: 812 });
    await tab.goto(siteUrl(ACME, port, '/skills'));
    await tab.getByLabel('Username').waitFor();
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'phone-login');
    await signIn(tab, 'bob', PASSWORD);
    await tab.getByRole('link', { name: 'Run Greet', exact: true }).waitFor();
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'phone-catalogue');

    // The menu folds behind a button on a phone.
    const nav = tab.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    await tab.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: 'Runs' }).waitFor();
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'phone-menu');
    await tab.getByRole('button', { name: 'Menu' }).click();

    await tab.getByRole('link', { name: 'Run Greet', exact: true }).click();
    await tab.getByLabel('name').fill('a rather long name that must wrap on a small screen');
    await tab.getByRole('button', { name: 'Run' }).click();
    await tab.getByRole('figure', { name: 'Result' }).waitFor({ timeout: 30_000 });
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'phone-run-result');

    // A table keeps its words whole on a phone (it scrolls inside its frame when too wide): no
    // one-word cell is broken over two lines.
    await tab.goto(siteUrl(ACME, port, '/executions'));
    await tab.getByRole('table').first().waitFor();
    // (A string: the tests are compiled without the DOM's types; it runs in the page.)
    const broken = (await tab.evaluate(`(() => {
      const words = [];
      const walker = document.createTreeWalker(document.querySelector('table'), NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
        const text = (node.textContent ?? '').trim();
        if (!/^[A-Za-z]{4,}$/.test(text)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
        if (lines.size > 1) words.push(text);
      }
      return words;
    })()`)) as string[];
    expect(broken).toEqual([]);
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'phone-runs');
  }, 60_000);
});

describe('governance console', () => {
  it('a super-admin creates a tenant with a new host, and that host serves its own sign-in page', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ADMIN, port));
    await tab.getByRole('heading', { name: 'Sign in to the governance console' }).waitFor();
    await screenshot(tab, 'governance-login');
    await signIn(tab, 'admin', PASSWORD);
    await tab.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await tab.getByRole('link', { name: 'Acme Corporation' }).waitFor();

    await tab.getByLabel('Tenant id').fill('initech');
    await tab.getByLabel('Name', { exact: true }).fill('Initech');
    await tab.getByLabel('Hosts').fill('initech.localhost');
    // The plan is chosen from the plans the platform has, not typed.
    const plan = tab.getByLabel('Plan');
    expect(await plan.locator('option').allTextContents()).toEqual([
      'trial',
      'standard',
      'professional',
      'enterprise',
    ]);
    await plan.selectOption('professional');
    // The expiry a new tenant is given (a month, not a free year), which a paid order extends.
    await tab.getByText('A paid order adds its months to it', { exact: false }).waitFor();
    await tab.getByRole('button', { name: 'Create tenant' }).click();
    await tab
      .getByText(/^Tenant created; it runs until .+\. A paid order adds its months to that day\.$/)
      .waitFor();
    await tab.getByRole('heading', { name: 'Initech', level: 1 }).waitFor();
    const token = await platform.login(ADMIN, 'admin');
    const initech = (await api(ADMIN, token, 'GET', '/api/tenants/initech')).body;
    expect(initech.plan).toBe('professional');
    const days = (Date.parse(initech.expiresAt) - Date.now()) / (24 * 3600 * 1000);
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(32);
    await tab.getByRole('link', { name: 'initech.localhost' }).waitFor();
    // …and its first admin, so someone can sign in on the new host.
    await tab.getByLabel('Admin username').fill('peter');
    await tab.getByLabel('Admin password (10 characters or more)').fill('initech-password-1');
    await tab.getByRole('button', { name: 'Create admin' }).click();
    await tab.getByText('Admin peter created').waitFor();
    await screenshot(tab, 'governance-tenant');

    // The new host serves the tenant front, bound to the new tenant.
    await tab.goto(siteUrl('initech.localhost', port));
    await tab.getByRole('heading', { name: 'Sign in to Initech' }).waitFor();
    const health = (await tab.evaluate("fetch('/api/health').then((response) => response.json())")) as {
      domain: string;
      tenant?: { id: string };
    };
    expect(health).toMatchObject({ domain: 'tenant', tenant: { id: 'initech' } });
    await screenshot(tab, 'initech-login');
    await signIn(tab, 'peter', 'initech-password-1');
  }, 45_000);

  it('binding a host that does not reach the platform yet shows its state, why, and the DNS record to create', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ADMIN, port));
    await signIn(tab, 'admin', PASSWORD);
    await tab.getByRole('link', { name: 'Acme Corporation' }).click();
    await tab.getByRole('heading', { name: 'Acme Corporation', level: 1 }).waitFor();
    await tab.getByLabel('Add a host').fill('shop.acme-onboarding.invalid');
    await tab.getByRole('button', { name: 'Add host' }).click();
    await tab
      .getByText(
        'Host shop.acme-onboarding.invalid added: create A shop.acme-onboarding.invalid → 127.0.0.1.',
      )
      .waitFor();
    const pending = tab.locator('[data-host="shop.acme-onboarding.invalid"]');
    expect(await pending.getAttribute('data-state')).toBe('pending-dns');
    await pending.getByText('waiting for DNS').waitFor();
    await pending.getByText('does not resolve to this machine').waitFor();
    await pending.getByRole('cell', { name: '127.0.0.1' }).waitFor();
    // The tenant's own *.localhost host is served, with nothing to create.
    expect(await tab.locator('[data-host="acme.localhost"]').getAttribute('data-state')).toBe('active');
    await pending.getByRole('button', { name: 'Check shop.acme-onboarding.invalid now' }).click();
    await tab.getByText('shop.acme-onboarding.invalid: waiting for DNS.').waitFor();
    await screenshot(tab, 'governance-host-onboarding');

    // The platform's own hosts, on the lifecycle page.
    await tab.getByRole('link', { name: 'Lifecycle' }).click();
    await tab.getByRole('heading', { name: 'Platform hosts' }).waitFor();
    expect(await tab.locator(`[data-host="${ADMIN}"]`).getAttribute('data-state')).toBe('active');
  }, 45_000);

  it('the console pages work: tenants, orders and payment, lifecycle, announcements, audit', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ADMIN, port));
    await signIn(tab, 'admin', PASSWORD);
    const nav = tab.getByRole('navigation', { name: 'Main' });
    const admin = await platform.login(ADMIN, 'admin');
    const me = await api(ADMIN, admin, 'GET', '/api/me');
    expect(await menuLabels(tab)).toEqual(me.body.menus.map((menu: { label: string }) => menu.label));
    await tab.getByRole('link', { name: 'Acme Corporation' }).waitFor();
    await screenshot(tab, 'governance-tenants');

    // An order for acme, paid: acme's expiry moves forward.
    await nav.getByRole('link', { name: 'Customers & orders' }).click();
    await tab.getByLabel('Tenant', { exact: true }).selectOption('acme');
    // An order renews on a paid plan: free is not offered.
    expect(await tab.getByLabel('Plan').locator('option').allTextContents()).toEqual([
      'trial',
      'standard',
      'professional',
      'enterprise',
    ]);
    // The form says the expiry the order's months are added to.
    await tab.getByText(/Acme Corporation runs until .+: the order’s months are added to that day/).waitFor();
    await tab.getByLabel('Amount').fill('1200');
    await tab.getByRole('button', { name: 'Create order' }).click();
    // …and the order, once created, the expiry it moves from and to.
    await tab
      .getByText(/^Order created\. Paying it moves Acme Corporation’s expiry from .+ to .+\.$/)
      .waitFor();
    await tab
      .getByText(/paying moves its expiry from .+ to/)
      .first()
      .waitFor();
    await tab.getByRole('button', { name: 'Confirm payment' }).click();
    // A payment is confirmed only after saying what it does.
    const confirmation = tab.getByRole('dialog');
    expect(await confirmation.textContent()).toContain('Acme Corporation is renewed for 12 months');
    expect(await confirmation.textContent()).toMatch(/its expiry moves from .+ to .+\. A confirmed payment/);
    await screenshot(tab, 'governance-confirm-payment');
    await confirmation.getByRole('button', { name: 'Confirm payment' }).click();
    await tab.getByText(/Payment confirmed; Acme Corporation now runs until/).waitFor();
    await tab.getByRole('cell', { name: 'paid' }).waitFor();
    await screenshot(tab, 'governance-orders');

    await nav.getByRole('link', { name: 'Lifecycle' }).click();
    await tab.getByRole('button', { name: 'Run scan' }).click();
    await tab.getByText(/Scanned \d+ item/).waitFor();
    await screenshot(tab, 'governance-lifecycle');

    // A platform announcement reaches the tenants' announcement pages.
    await nav.getByRole('link', { name: 'Announcements' }).click();
    await tab.getByLabel('Title').fill('Maintenance tonight');
    await tab.getByLabel('Message').fill('Runs pause from 22:00 to 22:15 UTC.');
    await tab.getByLabel('Severity').selectOption('warning');
    await tab.getByRole('button', { name: 'Post announcement' }).click();
    await tab.getByText(/Posted to \d+ tenant/).waitFor();
    await tab.getByRole('cell', { name: /Maintenance tonight/ }).waitFor();
    await screenshot(tab, 'governance-announcements');
    const { page: reader } = await page();
    await reader.goto(siteUrl(ACME, port, '/announcements'));
    await signIn(reader, 'bob', PASSWORD);
    const posted = reader.getByRole('article').filter({ hasText: 'Maintenance tonight' });
    await posted.waitFor();
    expect(await posted.textContent()).toContain('from the platform');
    await screenshot(reader, 'tenant-announcements');

    await nav.getByRole('link', { name: 'Platform audit' }).click();
    await tab
      .getByRole('cell', { name: 'order.payment-confirmed' })
      .or(tab.locator('table'))
      .first()
      .waitFor();
    await tab.getByRole('button', { name: 'Verify the chain' }).click();
    await tab.getByText('Chain intact').waitFor();
    await screenshot(tab, 'governance-audit');

    // A tenant's token tried on the console host is a security event of the platform, and the
    // filter shows only such events.
    const stray = await platform.login(ACME, 'alice');
    expect((await api(ADMIN, stray, 'GET', '/api/tenants')).status).toBe(401);
    await tab.getByLabel('Which entries').selectOption('security');
    await tab.getByRole('cell', { name: 'security.token-refused' }).first().waitFor();
    // Until the filtered page replaces the full one, other actions may still show: wait for that.
    await tab.waitForFunction(
      "(() => { const cells = [...document.querySelectorAll('table tbody tr td:nth-child(3)')]; return cells.length > 0 && cells.every((cell) => (cell.textContent || '').startsWith('security.')); })()",
    );
    await screenshot(tab, 'governance-audit-security');
  }, 60_000);

  it('HTTP resources keep credentials write-only and reach the tenants granted them; a template is installed', async () => {
    const { page: tab } = await page();
    await tab.goto(siteUrl(ADMIN, port, '/http-resources'));
    await signIn(tab, 'admin', PASSWORD);
    const nav = tab.getByRole('navigation', { name: 'Main' });

    // HTTP resources: the credential field is write-only — what was typed never comes back.
    await tab.getByRole('heading', { name: 'HTTP resources', level: 1 }).waitFor();
    await tab.getByLabel('Name', { exact: true }).fill('Weather API');
    await tab.getByLabel('Base URL').fill('https://api.example.com');
    await tab.getByLabel('Allowed paths (patterns, comma-separated)').fill('/forecast/*');
    await tab.getByRole('button', { name: 'Create resource' }).click();
    const card = tab.getByRole('article', { name: 'Weather API' });
    await card.waitFor();
    const secret = 'sk-e2e-write-only-credential';
    await card.getByLabel('New credential').fill(secret);
    await card.getByRole('button', { name: 'Set credential' }).click();
    await tab.getByText('Credential of Weather API set.').waitFor();
    await card.getByText(/credential set/).waitFor();
    expect(await tab.content()).not.toContain(secret);
    await card.getByLabel('Grant to tenants (ids, comma-separated)').fill('acme');
    await card.getByRole('button', { name: 'Grant', exact: true }).click();
    await tab.getByText('Weather API granted.').waitFor();
    await card.getByRole('button', { name: 'Revoke Acme Corporation' }).waitFor();
    await screenshot(tab, 'governance-http-resources');

    // A template written in the console and distributed to acme.
    await nav.getByRole('link', { name: 'Templates' }).click();
    await tab.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await tab.getByLabel('Skill name').fill('Echo');
    await tab.getByLabel('Description').fill('Returns what it is given.');
    await tab.getByLabel('Python source').fill('def main(inputs, ctx):\n    return {"echo": inputs}\n');
    await tab.getByRole('button', { name: 'Create template' }).click();
    const template = tab.getByRole('article', { name: 'Echo' });
    await template.waitFor();
    await template.getByLabel('Tenant ids (comma-separated)').fill('acme');
    await template.getByRole('button', { name: 'Distribute' }).click();
    await tab.getByText('Echo distributed to 1 tenant.').waitFor();
    await screenshot(tab, 'governance-templates');

    // Acme's admin sees the granted resource (a summary, no credential) and installs the template.
    const { page: tenant } = await page();
    await tenant.goto(siteUrl(ACME, port, '/http-resources'));
    await signIn(tenant, 'alice', PASSWORD);
    await tenant.getByRole('heading', { name: 'Weather API' }).waitFor();
    expect(await tenant.content()).not.toContain(secret);
    await screenshot(tenant, 'tenant-http-resources');
    await tenant
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Manage skills' })
      .click();
    await tenant.getByRole('button', { name: 'Install Echo' }).click();
    await tenant.getByText(/Echo version 1 is installed\./).waitFor();
    await tenant.getByRole('link', { name: 'Echo', exact: true }).first().waitFor();
    await screenshot(tenant, 'tenant-templates');

    // Back in the console: where the template stands with each tenant it was offered to.
    await template.getByRole('button', { name: 'Tenants…' }).click();
    const standing = template.getByRole('table', { name: 'Tenants offered Echo' });
    await standing.getByRole('row', { name: /acme.*by admin.*version 1/ }).waitFor();
    expect(await standing.getByRole('row').count()).toBe(2); // the header and acme
    await screenshot(tab, 'governance-template-tenants');
  }, 60_000);
});

describe('governance console template editor', () => {
  it('saves a template version written in the code editors: Python for the source, JSON for the schemas', async () => {
    const admin = await platform.login(ADMIN, 'admin');
    const created = await api(ADMIN, admin, 'POST', '/api/templates', {
      skill: {
        name: 'Weather',
        description: 'Tells the weather.',
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        risk: 'low',
        limits: { timeoutSeconds: 45, memoryMb: 512 },
      },
      source: 'def main(inputs, ctx):\n    return {"sunny": True}\n',
    });
    expect(created.status, created.text).toBe(201);
    const id = String(created.body.id);

    const { page: tab } = await page();
    await tab.goto(siteUrl(ADMIN, port, '/templates'));
    await signIn(tab, 'admin', PASSWORD);
    const card = tab.getByRole('article', { name: 'Weather' });
    await card.getByRole('button', { name: 'New version…' }).click();
    const editor = (label: string) => card.getByLabel(label, { exact: true });
    const text = async (label: string) =>
      (await editor(label).locator('.cm-line').allTextContents()).join('\n').replace(/\u00a0/g, ' ');
    // The code editor, starting from the latest version: Python for the source, JSON for the schemas.
    await expect.poll(async () => text('Python source')).toContain('"sunny": True');
    expect(await editor('Python source').getAttribute('data-language')).toBe('python');
    expect(await editor('Input schema').getAttribute('data-language')).toBe('json');
    expect(await editor('Output schema').getAttribute('data-language')).toBe('json');

    const inputSchema = {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    };
    const outputSchema = { type: 'object', properties: { sunny: { type: 'boolean' } } };
    const source = 'def main(inputs, ctx):\n    return {"sunny": inputs["city"] != "London"}\n';
    await editor('Input schema').fill(JSON.stringify(inputSchema, null, 2));
    await editor('Output schema').fill(JSON.stringify(outputSchema, null, 2));
    await editor('Python source').fill(source);
    await card.getByLabel('Note').fill('by city');
    // Every limit starts from the latest version (the editor sent the time limit alone, and a new
    // version lost the memory limit); the time limit is edited, the memory limit kept.
    expect(await card.getByLabel('Memory limit (MB)').inputValue()).toBe('512');
    await card.getByLabel('Time limit (seconds)').fill('60');
    await screenshot(tab, 'governance-template-editor');
    await card.getByRole('button', { name: 'Save new version' }).click();
    await tab.getByText(/Weather version 2 saved/).waitFor();

    const saved = await api(ADMIN, admin, 'GET', `/api/templates/${id}`);
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.latest).toMatchObject({
      version: 2,
      source,
      skill: { inputSchema, outputSchema, limits: { timeoutSeconds: 60, memoryMb: 512 } },
    });
  });
});

describe('free entry', () => {
  it('explains the personal edition', async () => {
    const { page: tab } = await page({ width: 375, height: 812 });
    await tab.goto(siteUrl('free.localhost', port));
    await tab.getByRole('heading', { name: 'The personal edition' }).waitFor();
    await tab.getByText('Service status: available').waitFor();
    expect(await horizontalOverflow(tab)).toBeLessThanOrEqual(0);
    await screenshot(tab, 'free-entry');
  });
});

describe('every site', () => {
  it('declares its own icon, so a browser does not ask the host for /favicon.ico (a 404 on every page)', async () => {
    // Headless Chromium never asks for /favicon.ico; a desktop browser does when a page names no icon.
    for (const host of [ACME, ADMIN, 'free.localhost', 'docs.localhost']) {
      const { page: tab } = await page();
      await tab.goto(siteUrl(host, port));
      const icons = tab.locator('link[rel="icon"]');
      expect(await icons.count(), host).toBe(1);
      const href = (await icons.getAttribute('href')) ?? '';
      const loaded = await tab.evaluate(async (url) => {
        const answer = await fetch(url);
        return {
          ok: answer.ok,
          type: answer.headers.get('content-type'),
          size: (await answer.text()).length,
        };
      }, href);
      expect(loaded, host).toMatchObject({ ok: true, type: 'image/svg+xml' });
      expect(loaded.size, host).toBeGreaterThan(50);
    }
  });
});
