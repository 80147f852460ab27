/**
 * Removing a user in the tenant front: alice removes a user from their row on the users page after a
 * confirmation that says what ends with them; cancelling removes nothing; once removed, the user is
 * gone from the list and their session is refused. Her own row offers no Remove.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot } from './support.ts';

const PASSWORD = 'e2e-user-removal-password-1';
const ACME = 'acme.localhost';

let platform: TestPlatform;

const { page, api, signedIn } = browserSuite(PASSWORD, (suite) => {
  ({ platform } = suite);
});

describe('removing a user in the tenant front', () => {
  it('an admin removes a user after confirming, and their session ends', async () => {
    const alice = await platform.login(ACME, 'alice');
    const created = await api(ACME, alice, 'POST', '/api/users', {
      username: 'leona',
      password: 'leona-first-password',
      roles: ['operator'],
    });
    expect(created.status, created.text).toBe(201);
    const leona = await platform.login(ACME, 'leona', 'leona-first-password');

    const { page: admin } = await page();
    await signedIn(admin, ACME, '/users', 'alice');
    await admin.getByRole('heading', { name: 'Users & roles', level: 1 }).waitFor();
    const row = admin.locator('tr[data-user="leona"]');
    await row.waitFor();
    expect(
      await admin.locator('tr[data-user="alice"]').getByRole('button', { name: 'Remove…' }).count(),
    ).toBe(0);

    // Cancelling the confirmation removes nothing.
    await row.getByRole('button', { name: 'Remove…' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Remove leona?' });
    await dialog.getByText(/can no longer sign in/).waitFor();
    await screenshot(admin, 'user-removal');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await api(ACME, leona, 'GET', '/api/me')).status).toBe(200);

    await row.getByRole('button', { name: 'Remove…' }).click();
    await dialog.getByRole('button', { name: 'Remove leona' }).click();
    await admin.getByText('leona is removed.').waitFor();
    await row.waitFor({ state: 'detached' });
    expect((await api(ACME, leona, 'GET', '/api/me')).status).toBe(401);
  });
});
