/**
 * Gaps a new user's trial of the governance console found, in a real browser: an HTTP resource's
 * credential button says "Set" until there is one to replace.
 */
import { describe, expect, it } from 'vitest';
import { browserSuite, signIn } from './support.ts';

const PASSWORD = 'e2e-console-trial-password';
const ADMIN = 'admin.localhost';

let admin: string;
let port: number;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  port = suite.port;
  admin = await suite.platform.login(ADMIN, 'admin');
});

/** A new tenant on `<id>.localhost`, created through the API. */
async function tenant(id: string, name: string): Promise<void> {
  const created = await api(ADMIN, admin, 'POST', '/api/tenants', {
    id,
    name,
    plan: 'standard',
    hosts: [`${id}.localhost`],
    expiresAt: new Date(Date.now() + 300 * 24 * 3600 * 1000).toISOString(),
  });
  expect(created.status, created.text).toBe(201);
}

/** A new HTTP resource, created through the API; its id. */
async function resource(name: string, paths: readonly string[]): Promise<string> {
  const created = await api(ADMIN, admin, 'POST', '/api/http-resources', {
    name,
    baseUrl: 'https://api.example.com',
    methods: ['GET'],
    paths,
    writeAllowed: false,
    auth: { scheme: 'bearer' },
  });
  expect(created.status, created.text).toBe(201);
  return String(created.body.id);
}

describe("an HTTP resource's credential", () => {
  it('is set while there is none, and replaced once there is one', async () => {
    await resource('Billing API', ['/invoices/*']);
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/http-resources', 'admin');
    const card = tab.getByRole('article', { name: 'Billing API' });
    await card.getByText(/credential not set/).waitFor();
    expect(await card.getByRole('button', { name: 'Replace credential' }).count()).toBe(0);
    await card.getByLabel('New credential').fill('billing-token-1');
    await card.getByRole('button', { name: 'Set credential' }).click();
    await tab.getByText('Credential of Billing API set.').waitFor();
    await card.getByText(/credential set/).waitFor();
    expect(await card.getByRole('button', { name: 'Set credential' }).count()).toBe(0);
    await card.getByLabel('New credential').fill('billing-token-2');
    await card.getByRole('button', { name: 'Replace credential' }).click();
    await tab.getByText('Credential of Billing API replaced.').waitFor();
  });
});

describe("an HTTP resource's trial", () => {
  it('starts on a path the resource allows, and says by the field why the API refused one', async () => {
    await resource('Invoices API', ['/invoices/*', '/invoices/*/lines/**']);
    await resource('Status API', ['/v1/*', '/status']);
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/http-resources', 'admin');
    // The first literal path when there is one; else the first pattern up to its wildcard, to complete.
    const status = tab.getByRole('article', { name: 'Status API' });
    expect(await status.getByLabel('Trial path').inputValue()).toBe('/status');
    const card = tab.getByRole('article', { name: 'Invoices API' });
    const path = card.getByLabel('Trial path');
    expect(await path.inputValue()).toBe('/invoices/');
    expect(
      await card.locator(`#${(await path.getAttribute('aria-describedby'))?.split(' ')[0]}`).textContent(),
    ).toContain('/invoices/*');

    // Left incomplete, the API refuses it (422): the reason is by the field, which says it is invalid.
    await card.getByRole('button', { name: 'Trial run' }).click();
    const reason = card.getByRole('alert').filter({ hasText: 'outside the paths this resource allows' });
    await reason.waitFor();
    expect(await path.getAttribute('aria-invalid')).toBe('true');
    expect((await path.getAttribute('aria-describedby'))?.split(' ')).toContain(
      await reason.getAttribute('id'),
    );
    // Editing the path clears the reason.
    await path.fill('/invoices/42');
    await reason.waitFor({ state: 'detached' });
    expect(await path.getAttribute('aria-invalid')).toBeNull();
  });
});

describe("a tenant's first admin", () => {
  it('is confirmed by the form, with the address to sign in at on the platform port, which works', async () => {
    await tenant('umbrella', 'Umbrella');
    const { page: tab } = await page();
    await signedIn(tab, ADMIN, '/tenants/umbrella', 'admin');
    const section = tab.getByRole('region', { name: 'Tenant admin' });
    await section.getByLabel('Admin username').fill('carol');
    await section.getByLabel(/^Admin password/).fill('umbrella-admin-password');
    await section.getByRole('button', { name: 'Create admin' }).click();
    const url = `http://umbrella.localhost:${port}/`;
    const notice = section.getByRole('status');
    await notice.waitFor();
    expect(await notice.textContent()).toBe(`Admin carol created: they sign in at ${url}.`);
    expect(await notice.getByRole('link', { name: url }).getAttribute('href')).toBe(url);
    // Said once, by the form: not again at the top of the page.
    expect(await tab.getByText('Admin carol created').count()).toBe(1);

    const { page: other } = await page();
    await other.goto(url);
    await signIn(other, 'carol', 'umbrella-admin-password');
  });
});
