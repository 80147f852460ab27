/**
 * Changing one's own password (`POST /api/me/password`), as an attacker would try it, over real HTTP
 * against the embedded platform: on a tenant's host, the governance console and a free personal
 * space. The current password is checked and counted toward the sign-in lock-out; the new one meets
 * the password policy; every other session of the user ends while the caller's goes on; a personal
 * access token cannot do it; a session never crosses hosts. And the admin's
 * `PATCH /api/users/{username} {password}`, which the users page now offers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, signUp } from '../support/free.ts';
import type { TestResponse } from '../support/http.ts';
import {
  caller,
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'password-suite-password-1';
let t: TestPlatform;
const address = addresses(170);

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
});
afterAll(async () => {
  await t?.stop();
});

function login(host: string, username: string, password: string): Promise<TestResponse> {
  return t.send({ host, path: '/api/auth/login', method: 'POST', body: { username, password } });
}

function change(host: string, token: string, currentPassword: string, newPassword: string) {
  return caller(t, host, token)('POST', '/api/me/password', { currentPassword, newPassword });
}

async function newUser(host: string, adminToken: string, username: string, roles: string[] = ['viewer']) {
  const created = await caller(t, host, adminToken)('POST', '/api/users', {
    username,
    password: PASSWORD,
    roles,
  });
  expect(created.status, created.text).toBe(201);
}

/**
 * The whole round: the user changes their password from one session while holding another; the
 * old password stops signing in, the new one does; the caller's session goes on (and so does the
 * token the change answered), the other session is over.
 */
async function changesEverywhere(host: string, username: string, next: string) {
  const mine = await t.login(host, username);
  const other = await t.login(host, username);
  const changed = await change(host, mine, PASSWORD, next);
  expect(changed.status, changed.text).toBe(200);
  expect(changed.body.user.username).toBe(username);
  expect(changed.text).not.toContain(next);
  const renewed = String(changed.body.token);
  expect(renewed).not.toBe(mine);

  expectProblem(await login(host, username, PASSWORD), 401, 'the old password');
  expect((await login(host, username, next)).status).toBe(200);
  expect((await caller(t, host, renewed)('GET', '/api/me')).status).toBe(200);
  expectEndedByPassword(await caller(t, host, other)('GET', '/api/me'), 'another session of the user');
  return { renewed };
}

/** The 401 of a session a new password ended says so, and nothing more (no user, no time). */
function expectEndedByPassword(response: TestResponse, context: string) {
  expectProblem(response, 401, context);
  expect(response.body, context).toEqual({
    type: problemType('session-ended'),
    title: 'Unauthorized',
    status: 401,
    detail: 'You were signed out because your password was changed. Sign in with the new password.',
    reason: 'password-changed',
    instance: response.body.instance,
  });
}

/** Any other dead or foreign credential: the plain 401, which says nothing of why. */
function expectPlainRefusal(response: TestResponse, context: string) {
  expectProblem(response, 401, context);
  expect(response.body.type, context).toBe(problemType('unauthenticated'));
  expect(response.body.reason, context).toBeUndefined();
}

describe('a tenant user changes their password', () => {
  it('ends their other sessions, keeps them signed in, and the old password no longer works', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'pat');
    const { renewed } = await changesEverywhere(HOSTS.acme, 'pat', 'a brand new secret 1');
    const audit = await caller(t, HOSTS.acme, alice)('GET', '/api/audit?limit=100');
    expect(audit.status, audit.text).toBe(200);
    const entry = audit.body.items.find(
      (item: { action: string; target: string }) =>
        item.action === 'user.password-changed' && item.target === 'user:pat',
    );
    expect(entry, 'user.password-changed audited').toBeDefined();
    expect(audit.text).not.toContain('a brand new secret 1');
    expect(audit.text).not.toContain(PASSWORD);
    // The renewed session is an ordinary one: it can change the password again.
    const again = await change(HOSTS.acme, renewed, 'a brand new secret 1', 'a second new secret 2');
    expect(again.status, again.text).toBe(200);
  });

  it('a wrong current password is a 403 naming currentPassword, counted toward the lock-out', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'quinn');
    const token = await t.login(HOSTS.acme, 'quinn');
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = await change(HOSTS.acme, token, 'not my password 1', 'a brand new secret 1');
      expectProblem(wrong, 403, `wrong current password #${attempt + 1}`);
      expect(wrong.body.type).toBe(problemType('wrong-password'));
      expect(wrong.body.errors).toEqual([
        { path: 'currentPassword', message: 'is not your current password' },
      ]);
    }
    // Locked out, like sign-in: the right current password, and sign-in itself, are refused now.
    const locked = await change(HOSTS.acme, token, PASSWORD, 'a brand new secret 1');
    expectProblem(locked, 429, 'right current password while locked');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expectProblem(await login(HOSTS.acme, 'quinn', PASSWORD), 429, 'sign-in while locked');
    // Nothing changed: the session still works.
    expect((await caller(t, HOSTS.acme, token)('GET', '/api/me')).status).toBe(200);
  });

  it('failed sign-ins count toward the same limit as the change', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'rosa');
    const token = await t.login(HOSTS.acme, 'rosa');
    for (let attempt = 0; attempt < 5; attempt++) {
      expectProblem(await login(HOSTS.acme, 'rosa', 'not my password 1'), 401, 'failed sign-in');
    }
    expectProblem(await change(HOSTS.acme, token, PASSWORD, 'a brand new secret 1'), 429, 'change');
  });

  it('refuses a weak new password with a 422 naming newPassword, and counts nothing', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'sid');
    const token = await t.login(HOSTS.acme, 'sid');
    const weak: [string, string][] = [
      ['short', '10 to 256 characters'],
      ['x'.repeat(257), '10 to 256 characters'],
      ['my name is SID really', 'must not contain your username'],
      [PASSWORD, 'must differ from your current password'],
    ];
    for (const [newPassword, message] of weak) {
      const refused = await change(HOSTS.acme, token, PASSWORD, newPassword);
      expectProblem(refused, 422, `new password ${newPassword.slice(0, 20)}`);
      expect(refused.body.errors).toEqual([{ path: 'newPassword', message }]);
    }
    for (const body of [{}, { currentPassword: PASSWORD }, { newPassword: 'a brand new secret' }]) {
      expectProblem(await caller(t, HOSTS.acme, token)('POST', '/api/me/password', body), 422, 'missing');
    }
    const extra = await caller(t, HOSTS.acme, token)('POST', '/api/me/password', {
      currentPassword: PASSWORD,
      newPassword: 'a brand new secret 1',
      username: 'alice',
    });
    expectProblem(extra, 422, 'another user named');
    // None of it counted as a failure, nor changed anything.
    expect((await login(HOSTS.acme, 'sid', PASSWORD)).status).toBe(200);
  });

  it('a personal access token cannot change the password, even one scoped to everything', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    const me = await caller(t, HOSTS.acme, alice)('GET', '/api/me');
    const minted = await caller(t, HOSTS.acme, alice)('POST', '/api/tokens', {
      name: 'stolen laptop',
      scopes: me.body.permissions,
    });
    expect(minted.status, minted.text).toBe(201);
    const refused = await change(HOSTS.acme, String(minted.body.token), PASSWORD, 'a brand new secret 1');
    expectProblem(refused, 403, 'with a personal access token');
    expect(refused.body.type).toBe(problemType('forbidden'));
    // Nor through the admin's route, which needs no current password: not for oneself.
    for (const token of [String(minted.body.token), alice]) {
      const own = await caller(t, HOSTS.acme, token)('PATCH', '/api/users/alice', {
        password: 'a brand new secret 1',
      });
      expectProblem(own, 403, 'PATCH of one’s own password');
    }
    expect((await login(HOSTS.acme, 'alice', PASSWORD)).status).toBe(200);
  });

  it('a session never crosses hosts: acme on globex or the console, anonymous, a forged token', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    for (const host of [HOSTS.globex, HOSTS.admin]) {
      expectProblem(await change(host, alice, PASSWORD, 'a brand new secret 1'), 401, `alice on ${host}`);
    }
    expectProblem(await change(HOSTS.free, alice, PASSWORD, 'a brand new secret 1'), 404, 'free entry');
    const anonymous = await t.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/me/password',
      body: { currentPassword: PASSWORD, newPassword: 'a brand new secret 1' },
    });
    expectProblem(anonymous, 401, 'anonymous');
    expectProblem(await change(HOSTS.acme, `${alice}x`, PASSWORD, 'a brand new secret 1'), 401, 'forged');
    expect((await login(HOSTS.globex, 'gina', PASSWORD)).status).toBe(200);
  });

  it('a browser session goes on in a new cookie; the old cookie is over', async () => {
    const signedIn = await t.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'bob', password: PASSWORD, session: 'cookie' },
    });
    expect(signedIn.status, signedIn.text).toBe(200);
    const oldCookie = String(signedIn.headers['set-cookie']).split(';')[0] ?? '';
    const changed = await t.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/me/password',
      body: { currentPassword: PASSWORD, newPassword: 'a fresh secret for him' },
      headers: { cookie: oldCookie, 'x-csrf-token': String(signedIn.body.csrfToken) },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.token).toBeUndefined();
    expect(changed.body.session).toBe('cookie');
    const newCookie = String(changed.headers['set-cookie']).split(';')[0] ?? '';
    expect(String(changed.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const meWith = (cookie: string) => t.send({ host: HOSTS.acme, path: '/api/me', headers: { cookie } });
    expectEndedByPassword(await meWith(oldCookie), 'the old cookie');
    const fresh = await meWith(newCookie);
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.body.csrfToken).toBe(changed.body.csrfToken);
  });
});

describe('the admin sets another user’s password', () => {
  it('ends that user’s sessions; the new password signs in', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'tess');
    const tess = await t.login(HOSTS.acme, 'tess');
    const set = await caller(t, HOSTS.acme, alice)('PATCH', '/api/users/tess', {
      password: 'set by the admin 1',
    });
    expect(set.status, set.text).toBe(200);
    expectEndedByPassword(await caller(t, HOSTS.acme, tess)('GET', '/api/me'), 'tess after the reset');
    expect((await login(HOSTS.acme, 'tess', 'set by the admin 1')).status).toBe(200);
    expectProblem(
      await caller(t, HOSTS.acme, alice)('PATCH', '/api/users/tess', { password: 'short' }),
      422,
      'weak password from the admin',
    );
  });
});

describe('why a session ended', () => {
  it('is told only of a new password: not of "end all sessions", a disabling, or another host', async () => {
    const alice = await t.login(HOSTS.acme, 'alice');
    await newUser(HOSTS.acme, alice, 'ivo');
    // "End all sessions", then a session begun after it: neither is said to have ended for a password.
    const first = await t.login(HOSTS.acme, 'ivo');
    const ended = await caller(t, HOSTS.acme, first)('POST', '/api/auth/logout-everywhere');
    expect(ended.status, ended.text).toBeLessThan(300);
    expectPlainRefusal(await caller(t, HOSTS.acme, first)('GET', '/api/me'), 'ended everywhere');
    const second = await t.login(HOSTS.acme, 'ivo');
    // A new password ends the second; the first, begun before it too, is also ended by it.
    const reset = await caller(t, HOSTS.acme, alice)('PATCH', '/api/users/ivo', {
      password: 'set for ivo by alice',
    });
    expect(reset.status, reset.text).toBe(200);
    expectEndedByPassword(await caller(t, HOSTS.acme, second)('GET', '/api/me'), 'after the reset');
    // The same token on another host, or the user disabled since: the plain refusal.
    expectPlainRefusal(await caller(t, HOSTS.globex, second)('GET', '/api/me'), 'on another host');
    const third = await t.login(HOSTS.acme, 'ivo', 'set for ivo by alice');
    const disabled = await caller(t, HOSTS.acme, alice)('PATCH', '/api/users/ivo', { disabled: true });
    expect(disabled.status, disabled.text).toBe(200);
    expectPlainRefusal(await caller(t, HOSTS.acme, second)('GET', '/api/me'), 'disabled since');
    expectPlainRefusal(await caller(t, HOSTS.acme, third)('GET', '/api/me'), 'disabled');
    // A token whose signature is not the platform's: the plain refusal, whatever it names.
    expectPlainRefusal(await caller(t, HOSTS.acme, `${second.slice(0, -4)}AAAA`)('GET', '/api/me'), 'forged');
  });
});

describe('the governance console', () => {
  it('a super-admin changes their own password the same way', async () => {
    const admin = await t.login(HOSTS.admin, 'admin');
    await newUser(HOSTS.admin, admin, 'ops-una', []);
    await changesEverywhere(HOSTS.admin, 'ops-una', 'console secret number 1');
    const mine = await t.login(HOSTS.admin, 'admin');
    expectProblem(await change(HOSTS.admin, mine, 'wrong one entirely', 'console secret 2'), 403, 'wrong');
    expectProblem(await change(HOSTS.acme, mine, PASSWORD, 'console secret 2'), 401, 'admin on acme');
  });
});

describe('a free personal space', () => {
  it('its owner changes their password on the space’s host; the handle is refused in it', async () => {
    const signed = await signUp(
      t,
      { handle: 'vera-pw', email: 'vera@example.com', password: 'a long passphrase 1' },
      address(),
    );
    expect(signed.status, signed.text).toBe(201);
    const host = String(signed.body.host);
    const start = 'a long passphrase 1';
    const token = await t.login(host, 'vera-pw', start);
    const weak = await change(host, token, start, 'my vera-pw space!!');
    expectProblem(weak, 422, 'handle in the password');
    expect(weak.body.errors[0].path).toBe('newPassword');
    const other = await t.login(host, 'vera-pw', start);
    const changed = await change(host, token, start, 'a new personal secret');
    expect(changed.status, changed.text).toBe(200);
    expectProblem(await login(host, 'vera-pw', start), 401, 'old password');
    expect((await login(host, 'vera-pw', 'a new personal secret')).status).toBe(200);
    expectProblem(await caller(t, host, other)('GET', '/api/me'), 401, 'other session');
    expect((await caller(t, host, String(changed.body.token))('GET', '/api/me')).status).toBe(200);
    expectProblem(await change(HOSTS.acme, String(changed.body.token), 'x', 'y'), 401, 'space token on acme');
  });
});
