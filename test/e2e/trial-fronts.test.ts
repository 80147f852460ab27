/**
 * What a third new-user trial found in the fronts, in a real browser: a free space's users page at
 * its limit kept its Create button, headed the plan's refusal as a missing permission and left the
 * last "User … created." beside it; the order form offered personal spaces the API refuses, and its
 * confirmation's "Cancel" sat beside the row's "Cancel"; a script's syntax error was said twice; a
 * new Skill opened without a word; the last host's Remove button said why only in a tooltip; and
 * `/executions?status=faild` showed "Any" as the status.
 */
import { describe, expect, it } from 'vitest';
import { addresses, signUp } from '../support/free.ts';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-trial-fronts-password';
const SPACE_PASSWORD = 'a long personal passphrase';
const ACME = 'acme.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let port: number;
let admin: string;
const address = addresses(20);

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  ({ platform, port } = suite);
  admin = await platform.login(ADMIN, 'admin');
});

/** A free personal space of `handle`, signed up over the API: its host and its owner's token. */
async function freeSpace(handle: string): Promise<{ host: string; token: string }> {
  const signed = await signUp(
    platform,
    { handle, email: `${handle}@example.com`, password: SPACE_PASSWORD },
    address(),
  );
  expect(signed.status, signed.text).toBe(201);
  const host = String(signed.body.host);
  return { host, token: await platform.login(host, handle, SPACE_PASSWORD) };
}

describe("a free space's users page at its plan's limit", () => {
  it('heads a refusal as the plan’s limit, drops the last success, then holds Create with the reason shown', async () => {
    const { host, token } = await freeSpace('ursula');
    const { page: tab } = await page();
    await tab.goto(siteUrl(host, port, '/users'));
    await signIn(tab, 'ursula', SPACE_PASSWORD);
    const newUser = tab.getByRole('region', { name: 'New user' });
    const create = newUser.getByRole('button', { name: 'Create user' });
    const add = async (name: string) => {
      await newUser.getByLabel('Username').fill(name);
      await newUser.getByLabel('Initial password').fill(SPACE_PASSWORD);
      await create.click();
    };
    await newUser.getByText('1 used, 2 left.').waitFor();
    await add('ursula-ops');
    await tab.getByText('User ursula-ops created.').waitFor();
    await newUser.getByText('2 used, 1 left.').waitFor();

    // The last place is taken elsewhere (another admin, another tab): this page still offers it.
    const other = await api(host, token, 'POST', '/api/users', {
      username: 'ursula-guest',
      password: SPACE_PASSWORD,
      roles: ['viewer'],
    });
    expect(other.status, other.text).toBe(201);
    await add('ursula-fourth');
    const refused = newUser.getByRole('alert');
    await refused.getByText(/keeps at most 3 users/).waitFor();
    // The earlier success is not left standing beside the refusal.
    expect(await tab.getByText('User ursula-ops created.').count()).toBe(0);
    expect(await refused.getAttribute('data-problem')).toBe('urn:execfabric:problem:plan-limit');
    expect(await refused.locator('.problem-title').textContent()).toBe('Your plan’s limit is reached');

    // The form catches up: none left, Create held, and why, as text beside it.
    await newUser.getByText('3 used, 0 left.').waitFor();
    const reason = newUser.getByText(
      'The free plan’s 3 users are all taken (disabled ones count too): no user can be created on it.',
    );
    await reason.waitFor();
    expect(await create.isDisabled()).toBe(true);
    expect(await create.getAttribute('aria-describedby')).toBe(await reason.getAttribute('id'));
    await screenshot(tab, 'trial-free-users-full');
  }, 90_000);
});

describe('the order center', () => {
  it('leaves free personal spaces out of the new order, and asks "Keep the order" beside "Cancel the order"', async () => {
    await freeSpace('olga');
    const tenants = await api(ADMIN, admin, 'GET', '/api/tenants?limit=100');
    const items = tenants.body.items as { id: string; plan: string; hosts: string[] }[];
    const space = items.find((tenant) => tenant.hosts.includes('olga.free.localhost'));
    const acme = items.find((tenant) => tenant.hosts.includes(ACME));
    expect(space?.plan).toBe('free');

    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/customers', 'admin');
    const tenant = tab.getByLabel('Tenant', { exact: true });
    await tenant.locator(`option[value="${acme?.id}"]`).waitFor({ state: 'attached' });
    expect(await tenant.locator(`option[value="${space?.id}"]`).count()).toBe(0);
    await tab.getByText('Free personal spaces are not listed').waitFor();

    await tenant.selectOption(String(acme?.id));
    await tab.getByLabel('Amount').fill('99');
    await tab.getByRole('button', { name: 'Create order' }).click();
    await tab.getByText('Order created; confirm the payment when it arrives.').waitFor();
    const row = tab.getByRole('row').filter({ hasText: '12 months' }).first();
    await row.getByRole('button', { name: 'Cancel', exact: true }).click();
    const dialog = tab.getByRole('dialog');
    expect(await dialog.getByRole('button').allTextContents()).toEqual([
      'Keep the order',
      'Cancel the order',
    ]);
    await dialog.getByRole('button', { name: 'Keep the order' }).click();
    expect(await row.getByRole('button', { name: 'Cancel', exact: true }).isVisible()).toBe(true);
  }, 60_000);
});

describe('a new script that does not compile', () => {
  it('says the syntax error once', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/assets', 'alice');
    await tab.getByLabel('Name', { exact: true }).fill('wordcount');
    await tab.getByLabel('Python source', { exact: true }).fill('def main(inputs, ctx)\n');
    await tab.getByRole('button', { name: 'Create script' }).click();
    const problem = tab.getByRole('alert');
    await problem.getByText(/does not compile/).waitFor();
    const text = (await problem.textContent()) ?? '';
    expect(text.split("expected ':'").length - 1, text).toBe(1);
    await screenshot(tab, 'trial-script-syntax-error');
  }, 60_000);

  it('marks the line the error is on, until that line is edited', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/assets', 'alice');
    await tab.getByLabel('Name', { exact: true }).fill('marked');
    const source = tab.getByLabel('Python source', { exact: true });
    await source.fill('import json\n\ndef main(inputs, ctx)\n    return {}\n');
    const marked = tab.locator('[data-editor="new-script-source"] .cm-problem-line');
    expect(await marked.count()).toBe(0);
    await tab.getByRole('button', { name: 'Create script' }).click();
    await tab
      .getByRole('alert')
      .getByText(/does not compile/)
      .waitFor();
    await marked.waitFor();
    expect(await marked.count()).toBe(1);
    const lineOf = () =>
      marked.evaluate((line) => [...(line.parentElement?.children ?? [])].indexOf(line) + 1);
    expect(await lineOf()).toBe(3);
    expect(await marked.textContent()).toBe('def main(inputs, ctx)');
    expect(await marked.getAttribute('title')).toContain("expected ':'");
    await screenshot(tab, 'trial-script-syntax-error-line');

    // Text added above moves the mark with its line; mending the line takes the mark away.
    await source.press('ControlOrMeta+Home');
    await source.press('Enter');
    await expect.poll(lineOf).toBe(4);
    expect(await marked.textContent()).toBe('def main(inputs, ctx)');
    await tab.locator('[data-editor="new-script-source"] .cm-line', { hasText: 'def main' }).click();
    await source.press('End');
    await source.type(':');
    await expect.poll(async () => marked.count()).toBe(0);
  }, 60_000);
});

describe('a new Skill', () => {
  it('says it was created, with a link to run it', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/skill-admin/new', 'alice');
    await tab.getByRole('heading', { name: 'New skill', level: 1 }).waitFor();
    await tab.getByLabel('Name', { exact: true }).fill('Trial greeting');
    await expect
      .poll(async () => tab.getByLabel('Script').locator('option:checked').textContent())
      .toContain('greet.py');
    await tab.getByRole('button', { name: 'Create skill' }).click();
    await tab.getByRole('heading', { name: 'Edit Trial greeting', level: 1 }).waitFor();
    const notice = tab.getByRole('status').filter({ hasText: 'Skill Trial greeting created.' });
    await notice.waitFor();
    // The address drops its flag: a reload does not announce the Skill again.
    expect(new URL(tab.url()).search).toBe('');
    await notice.getByRole('link', { name: 'Run Trial greeting' }).click();
    await tab.getByRole('heading', { name: 'Trial greeting', level: 1 }).waitFor();
  }, 60_000);
});

describe("a tenant's last host", () => {
  it('says beside its disabled Remove button why it cannot go', async () => {
    const tenants = await api(ADMIN, admin, 'GET', '/api/tenants?limit=100');
    const acme = (tenants.body.items as { id: string; hosts: string[] }[]).find((tenant) =>
      tenant.hosts.includes(ACME),
    );
    expect(acme?.hosts).toEqual([ACME]);
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, `/tenants/${acme?.id}`, 'admin');
    const remove = tab.getByRole('button', { name: `Remove ${ACME}` });
    await remove.waitFor();
    expect(await remove.isDisabled()).toBe(true);
    const reason = tab.getByText('A tenant keeps at least one host: add another first.');
    expect(await reason.isVisible()).toBe(true);
    expect(await remove.getAttribute('aria-describedby')).toBe(await reason.getAttribute('id'));
  }, 60_000);
});

describe('the runs filters from the address', () => {
  it('show a status that is none as it is, and say so', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/executions?status=faild', 'alice');
    const status = tab.getByLabel('Status');
    await tab.getByText('“faild” is not a run status: choose one, or clear the filters.').waitFor();
    expect(await status.inputValue()).toBe('faild');
    expect(await status.locator('option:checked').textContent()).toBe('faild (not a status)');
    await tab.getByRole('button', { name: 'Clear filters' }).click();
    await tab.getByRole('heading', { name: 'History' }).waitFor();
    expect(await status.inputValue()).toBe('');
    // Back to the address with the stray status: the form shows it again.
    await tab.goBack();
    await expect.poll(() => status.inputValue()).toBe('faild');
  }, 60_000);
});

describe('the leads filters', () => {
  it('live in the address: a reload or Back keeps them, and Clear filters empties it', async () => {
    for (const [handle, source] of [
      ['leila', 'e2e-news'],
      ['lorne', 'e2e-other'],
    ] as const) {
      const signed = await signUp(
        platform,
        { handle, email: `${handle}@example.com`, password: SPACE_PASSWORD, source },
        address(),
      );
      expect(signed.status, signed.text).toBe(201);
    }
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/free', 'admin');
    const filters = tab.getByRole('form', { name: 'Filter leads' });
    const clear = filters.getByRole('button', { name: 'Clear filters' });
    await tab.locator('tr[data-lead="lorne"]').waitFor();
    // Nothing to clear before a filter is set.
    expect(await clear.count()).toBe(0);

    await filters.getByLabel('Source').fill('e2e-news');
    await filters.getByRole('button', { name: 'Filter' }).click();
    await tab.waitForURL((url) => url.search === '?source=e2e-news');
    await tab.locator('tr[data-lead="lorne"]').waitFor({ state: 'detached' });
    expect(await tab.locator('tr[data-lead]').count()).toBe(1);

    // A reload keeps the filter: in the form, in the list, and the control to clear it.
    await tab.reload();
    await tab.locator('tr[data-lead="leila"]').waitFor();
    expect(await filters.getByLabel('Source').inputValue()).toBe('e2e-news');
    expect(await tab.locator('tr[data-lead]').count()).toBe(1);
    await screenshot(tab, 'console-leads-filtered');

    await clear.click();
    await tab.waitForURL((url) => url.pathname === '/free' && url.search === '');
    await tab.locator('tr[data-lead="lorne"]').waitFor();
    expect(await filters.getByLabel('Source').inputValue()).toBe('');
    expect(await clear.count()).toBe(0);

    // Back: the filtered view again, as the address says.
    await tab.goBack();
    await tab.locator('tr[data-lead="lorne"]').waitFor({ state: 'detached' });
    expect(await filters.getByLabel('Source').inputValue()).toBe('e2e-news');
  }, 60_000);

  it('show the API refusal of a mistyped day in the address, not a blank page', async () => {
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/free?from=2026-13-45', 'admin');
    await tab.getByRole('alert').first().waitFor();
    await tab
      .getByRole('form', { name: 'Filter leads' })
      .getByRole('button', { name: 'Clear filters' })
      .waitFor();
  }, 60_000);
});
