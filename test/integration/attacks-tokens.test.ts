/**
 * An attacker's pass at the credentials a user leaves behind: personal access tokens (the CLI's
 * `execfabric login` token is one, valid 90 days) and AI (MCP) client tokens.
 *
 * - A token outlived its user's password reset, and a disabling once the user was re-enabled: the
 *   directory's rule ("a new password or a disabling ends every session the user had, re-enabling
 *   revives none") held for sessions only. A token or AI client made at or before the user's
 *   `sessionsValidAfter` is now refused like any dead one (401, no reason given), and "end all
 *   sessions" ends them too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, expectProblem, HOSTS, startTestPlatform } from '../support/platform.ts';
import { unique } from '../support/runs.ts';

const PASSWORD = 'attacks-tokens-password';
const MCP_ACCEPT = 'application/json, text/event-stream';

const t = await startTestPlatform(PASSWORD);
let alice: ReturnType<typeof caller>;

beforeAll(async () => {
  alice = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
}, 120_000);

afterAll(async () => {
  await t.stop();
});

/** A new operator of acme, signed in: their session and a fresh personal access token. */
async function operator(roles: readonly string[] = ['operator']) {
  const username = unique('zed')
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-');
  const password = `${username}-first-password`;
  const created = await alice('POST', '/api/users', { username, password, roles });
  expect(created.status, created.text).toBe(201);
  const session = await t.login(HOSTS.acme, username, password);
  const token = await newToken(session);
  return { username, password, session, token };
}

async function newToken(session: string, scopes: readonly string[] = ['skill:read']): Promise<string> {
  const created = await caller(t, HOSTS.acme, session)('POST', '/api/tokens', { name: unique('zt'), scopes });
  expect(created.status, created.text).toBe(201);
  return String(created.body.token);
}

/** What the bearer of `token` is answered on an ordinary read. */
async function statusOf(token: string): Promise<number> {
  const response = await caller(t, HOSTS.acme, token)('GET', '/api/skills');
  if (response.status !== 200) {
    expectProblem(response, 401);
    // The same answer as any dead token: nothing says why.
    expect(response.body.title).toBe('Unauthorized');
    expect(response.text).not.toMatch(/password|disabl|reset|sessions/i);
  }
  return response.status;
}

async function mcpStatusOf(token: string): Promise<number> {
  const response = await t.send({
    host: HOSTS.acme,
    path: '/mcp',
    method: 'POST',
    token,
    headers: { accept: MCP_ACCEPT },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
  });
  return response.status;
}

describe('a personal access token ends with its user’s sessions', () => {
  it('is dead after a disabling, and re-enabling the user revives none', async () => {
    const zed = await operator();
    expect(await statusOf(zed.token)).toBe(200);
    expect((await alice('PATCH', `/api/users/${zed.username}`, { disabled: true })).status).toBe(200);
    expect(await statusOf(zed.token)).toBe(401);
    expect((await caller(t, HOSTS.acme, zed.session)('GET', '/api/me')).status).toBe(401);
    expect((await alice('PATCH', `/api/users/${zed.username}`, { disabled: false })).status).toBe(200);
    // Re-enabled: the old session and the old token both stay dead.
    expect((await caller(t, HOSTS.acme, zed.session)('GET', '/api/me')).status).toBe(401);
    expect(await statusOf(zed.token)).toBe(401);
  });

  it('is dead after an admin resets the password; a token made after it works', async () => {
    const zed = await operator();
    const reset = await alice('PATCH', `/api/users/${zed.username}`, { password: `${zed.username}-reset!` });
    expect(reset.status, reset.text).toBe(200);
    expect(await statusOf(zed.token)).toBe(401);
    // The user signs in with the new password and makes a new token: that one works.
    const session = await t.login(HOSTS.acme, zed.username, `${zed.username}-reset!`);
    const fresh = await newToken(session);
    expect(await statusOf(fresh)).toBe(200);
    expect(await statusOf(zed.token)).toBe(401);
  });

  it('is dead after the user changes their own password', async () => {
    // An admin may change their own password (not their roles, not their state).
    const kim = await operator(['admin']);
    const own = caller(t, HOSTS.acme, kim.session);
    const change = await own('PATCH', `/api/users/${kim.username}`, { password: `${kim.username}-second!` });
    expect(change.status, change.text).toBe(200);
    expect(await statusOf(kim.token)).toBe(401);
    const again = await t.login(HOSTS.acme, kim.username, `${kim.username}-second!`);
    expect(await statusOf(await newToken(again))).toBe(200);
  });

  it('is dead after "end all sessions"', async () => {
    const zed = await operator();
    const other = await t.login(HOSTS.acme, zed.username, zed.password);
    const ended = await caller(t, HOSTS.acme, other)('POST', '/api/auth/logout-everywhere');
    expect(ended.status, ended.text).toBe(204);
    expect(await statusOf(zed.token)).toBe(401);
    expect((await caller(t, HOSTS.acme, zed.session)('GET', '/api/me')).status).toBe(401);
    const session = await t.login(HOSTS.acme, zed.username, zed.password);
    expect(await statusOf(await newToken(session))).toBe(200);
  });

  it('a change of roles alone ends nothing', async () => {
    const zed = await operator();
    const rerole = await alice('PATCH', `/api/users/${zed.username}`, { roles: ['operator', 'viewer'] });
    expect(rerole.status, rerole.text).toBe(200);
    expect(await statusOf(zed.token)).toBe(200);
  });
});

describe('an AI client acts as its user, and ends with their sessions too', () => {
  async function client(session: string): Promise<string> {
    const created = await caller(t, HOSTS.acme, session)('POST', '/api/mcp-clients', {
      name: unique('client'),
      tags: ['none'],
    });
    expect(created.status, created.text).toBe(201);
    return String(created.body.token);
  }

  it('is dead after a disabling and re-enabling, and after a password reset', async () => {
    const zed = await operator();
    const first = await client(zed.session);
    expect(await mcpStatusOf(first)).toBe(200);
    await alice('PATCH', `/api/users/${zed.username}`, { disabled: true });
    await alice('PATCH', `/api/users/${zed.username}`, { disabled: false });
    expect(await mcpStatusOf(first)).toBe(401);

    const session = await t.login(HOSTS.acme, zed.username, zed.password);
    const second = await client(session);
    expect(await mcpStatusOf(second)).toBe(200);
    await alice('PATCH', `/api/users/${zed.username}`, { password: `${zed.username}-reset!` });
    expect(await mcpStatusOf(second)).toBe(401);
  });

  it('is dead after "end all sessions"', async () => {
    const zed = await operator();
    const token = await client(zed.session);
    expect(await mcpStatusOf(token)).toBe(200);
    expect((await caller(t, HOSTS.acme, zed.session)('POST', '/api/auth/logout-everywhere')).status).toBe(
      204,
    );
    expect(await mcpStatusOf(token)).toBe(401);
  });
});
