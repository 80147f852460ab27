/**
 * Gaps a new user's trial of the governance console found, in a real browser: an HTTP resource's
 * credential button says "Set" until there is one to replace.
 */
import { describe, expect, it } from 'vitest';
import { browserSuite } from './support.ts';

const PASSWORD = 'e2e-console-trial-password';
const ADMIN = 'admin.localhost';

let admin: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  admin = await suite.platform.login(ADMIN, 'admin');
});

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
