/**
 * A user's access tokens in the tenant front, for an admin: alice opens bob's tokens from the users
 * page, sees each one's name and scopes (never its secret), revokes one after a confirmation, and
 * that token is refused from then on while bob's other token still works. A token a password reset
 * ended shows as ended, with no Revoke.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot } from './support.ts';

const PASSWORD = 'e2e-user-tokens-password-1';
const ACME = 'acme.localhost';

let platform: TestPlatform;

const { page, api, signedIn } = browserSuite(PASSWORD, (suite) => {
  ({ platform } = suite);
});

async function token(session: string, name: string): Promise<string> {
  const created = await api(ACME, session, 'POST', '/api/tokens', { name, scopes: ['skill:read'] });
  expect(created.status, created.text).toBe(201);
  return String(created.body.token);
}

describe("a user's access tokens in the tenant front", () => {
  it('an admin lists them without secrets and revokes one after confirming', async () => {
    const bob = await platform.login(ACME, 'bob');
    const laptop = await token(bob, 'bob laptop');
    const ci = await token(bob, 'bob ci');

    const { page: alice } = await page();
    await signedIn(alice, ACME, '/users', 'alice');
    await alice.getByRole('heading', { name: 'Users & roles', level: 1 }).waitFor();
    await alice.locator('tr[data-user="bob"]').getByRole('button', { name: 'Tokens…' }).click();
    const section = alice.getByRole('region', { name: 'Access tokens of bob' });
    await section.getByRole('cell', { name: 'bob laptop' }).waitFor();
    await expect(section.getByRole('cell', { name: 'bob ci' }).isVisible()).resolves.toBe(true);
    const shown = (await section.textContent()) ?? '';
    for (const secret of [laptop, ci]) expect(shown).not.toContain(secret.slice(22));
    await screenshot(alice, 'user-tokens');

    // Cancelling the confirmation revokes nothing.
    const laptopRow = section.getByRole('row', { name: /bob laptop/ });
    await laptopRow.getByRole('button', { name: 'Revoke' }).click();
    const dialog = alice.getByRole('dialog', { name: 'Revoke the token bob laptop of bob?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await api(ACME, laptop, 'GET', '/api/skills')).status).toBe(200);

    await laptopRow.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByRole('button', { name: 'Revoke the token' }).click();
    await alice.getByText('The token bob laptop of bob is revoked.').waitFor();
    await laptopRow.getByText('revoked').waitFor();
    expect(await laptopRow.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect((await api(ACME, laptop, 'GET', '/api/skills')).status).toBe(401);
    expect((await api(ACME, ci, 'GET', '/api/skills')).status).toBe(200);
  });

  it('shows a token a password reset ended as ended, with nothing to revoke', async () => {
    const alice = await platform.login(ACME, 'alice');
    const created = await api(ACME, alice, 'POST', '/api/users', {
      username: 'tess',
      password: 'tess-first-password',
      roles: ['operator'],
    });
    expect(created.status, created.text).toBe(201);
    const tess = await platform.login(ACME, 'tess', 'tess-first-password');
    await token(tess, 'tess old');
    const reset = await api(ACME, alice, 'PATCH', '/api/users/tess', { password: 'tess-second-password' });
    expect(reset.status, reset.text).toBe(200);

    const { page: admin } = await page();
    await signedIn(admin, ACME, '/users', 'alice');
    await admin.locator('tr[data-user="tess"]').getByRole('button', { name: 'Tokens…' }).click();
    const row = admin
      .getByRole('region', { name: 'Access tokens of tess' })
      .getByRole('row', { name: /tess old/ });
    await row.getByText('ended').waitFor();
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
  });
});
