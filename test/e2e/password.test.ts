/**
 * Passwords in a real browser: a signed-in user changes their own password from the account page
 * (the header's username leads there) on a tenant's front and on the governance console, with each
 * field's error shown beside it, and stays signed in (the session renewed in its cookie) while their
 * other sessions end; an admin sets another user's password from the users page, after a
 * confirmation that says the user's sessions end — and that user's browser, back on the front, is
 * told on the sign-in page why they were signed out.
 */
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, screenshot } from './support.ts';

const PASSWORD = 'e2e-password-suite-password';
const ACME = 'acme.localhost';
const ADMIN = 'admin.localhost';

let platform: TestPlatform;
let alice: string;
let admin: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  ({ platform } = suite);
  [alice, admin] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ADMIN, 'admin')]);
});

async function newUser(host: string, token: string, username: string, roles: string[]) {
  const created = await api(host, token, 'POST', '/api/users', { username, password: PASSWORD, roles });
  expect(created.status, created.text).toBe(201);
}

function login(host: string, username: string, password: string) {
  return platform.send({ host, method: 'POST', path: '/api/auth/login', body: { username, password } });
}

describe('changing one’s own password', () => {
  for (const [front, host, username, token, roles] of [
    ['a tenant front', ACME, 'wren', () => alice, ['viewer']],
    ['the governance console', ADMIN, 'ops-wade', () => admin, ['billing']],
  ] as const) {
    it(`on ${front}: field errors beside the fields, then the change, still signed in`, async () => {
      await newUser(host, token(), username, [...roles]);
      const elsewhere = await platform.login(host, username);
      const { page: tab } = await page();
      await signedIn(tab, host, '/', username);
      await tab.getByRole('link', { name: `Your account: ${username}` }).click();
      await tab.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
      const form = tab.getByRole('form', { name: 'Change password' });
      const current = form.getByLabel('Current password');
      const next = form.getByLabel('New password', { exact: true });
      const confirm = form.getByLabel('Confirm the new password');
      const submit = form.getByRole('button', { name: 'Change password' });

      // Typed twice differently: said beside the confirmation, nothing sent.
      await current.fill(PASSWORD);
      await next.fill('a new secret for me');
      await confirm.fill('a new secret for mee');
      await submit.click();
      await form.getByText('does not match the new password').waitFor();
      expect(await confirm.getAttribute('aria-invalid')).toBe('true');

      // A wrong current password: the API's field error beside that field.
      await current.fill('not my password at all');
      await confirm.fill('a new secret for me');
      await submit.click();
      await form.locator('#current-password-error').getByText('is not your current password').waitFor();
      expect(await current.getAttribute('aria-invalid')).toBe('true');

      // A new password holding the username: the policy's words beside the new password.
      await current.fill(PASSWORD);
      await next.fill(`i am ${username} here`);
      await confirm.fill(`i am ${username} here`);
      await submit.click();
      await form.locator('#new-password-error').getByText('must not contain your username').waitFor();
      await screenshot(tab, `password-change-errors-${host.split('.')[0]}`);

      await next.fill('a new secret for me');
      await confirm.fill('a new secret for me');
      await submit.click();
      await tab.getByText('Your password is changed.').waitFor();
      expect(await current.inputValue()).toBe('');
      await screenshot(tab, `password-changed-${host.split('.')[0]}`);

      // This browser stays signed in (a reload asks the API with the renewed cookie); a write works.
      await tab.reload();
      await tab.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
      await tab.getByRole('button', { name: 'Sign out' }).waitFor();
      // The other session is over; the old password no longer signs in, the new one does.
      expect((await api(host, elsewhere, 'GET', '/api/me')).status).toBe(401);
      expect((await login(host, username, PASSWORD)).status).toBe(401);
      expect((await login(host, username, 'a new secret for me')).status).toBe(200);
    });
  }
});

describe('an admin sets another user’s password', () => {
  it('from the users page, after a confirmation saying their sessions end', async () => {
    await newUser(ACME, alice, 'yara', ['viewer']);
    const yara = await platform.login(ACME, 'yara');
    // Yara is signed in in a browser of her own too: when she comes back, the sign-in page says why.
    const { page: hers } = await page();
    await signedIn(hers, ACME, '/', 'yara');
    await hers.getByRole('button', { name: 'Sign out' }).waitFor();
    const { page: tab } = await page();
    await signedIn(tab, ACME, '/users', 'alice');
    const row = tab.locator('tr[data-user="yara"]');
    await row.getByRole('button', { name: 'Set password…' }).click();
    const form = row.getByRole('form', { name: 'Set a new password for yara' });
    await form.getByLabel('New password for yara').fill('set by alice for yara');
    await form.getByLabel('Type it again').fill('set by alice for yara');
    await form.getByRole('button', { name: 'Set password' }).click();
    const dialog = tab.getByRole('dialog', { name: 'Set a new password for yara?' });
    await dialog.getByText('Every session yara has ends now').waitFor();
    await screenshot(tab, 'password-set-by-admin');
    // Cancelled: nothing changed.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await api(ACME, yara, 'GET', '/api/me')).status).toBe(200);

    await form.getByRole('button', { name: 'Set password' }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Set the password' }).click();
    await tab.getByText('New password set for yara; their sessions have ended.').waitFor();
    expect((await api(ACME, yara, 'GET', '/api/me')).status).toBe(401);
    expect((await login(ACME, 'yara', PASSWORD)).status).toBe(401);
    expect((await login(ACME, 'yara', 'set by alice for yara')).status).toBe(200);

    await hers.reload();
    await hers
      .getByRole('status')
      .getByText('You were signed out because your password was changed. Sign in with the new password.')
      .waitFor();
    await hers.getByLabel('Username').waitFor();
    await screenshot(hers, 'signed-out-password-changed');
  });
});
