/**
 * An attacker's pass at the credentials a user leaves behind: personal access tokens (the CLI's
 * `execfabric login` token is one, valid 90 days) and AI (MCP) client tokens.
 *
 * - A token outlived its user's password reset, and a disabling once the user was re-enabled: the
 *   directory's rule ("a new password or a disabling ends every session the user had, re-enabling
 *   revives none") held for sessions only. A token or AI client made at or before the user's
 *   `sessionsValidAfter` is now refused like any dead one (401, no reason given), and "end all
 *   sessions" ends them too.
 * - An admin could neither list nor revoke another user's tokens: the id `DELETE /api/tokens/{id}`
 *   needs was findable only in the audit log. `GET /api/users/{username}/tokens` and
 *   `DELETE /api/users/{username}/tokens/{id}` now do it, for `user:manage` holders of that domain
 *   who may manage that user; the listing never carries a secret or its hash.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLIENTS_PER_USER } from '../../functions/core/mcp/clients.ts';
import { cliSession } from '../support/cli.ts';
import { caller, expectProblem, HOSTS, startTestPlatform } from '../support/platform.ts';
import { unique } from '../support/runs.ts';

const PASSWORD = 'attacks-tokens-password';
const MCP_ACCEPT = 'application/json, text/event-stream';

const t = await startTestPlatform(PASSWORD);
let alice: ReturnType<typeof caller>;
let bob: ReturnType<typeof caller>;
let gina: ReturnType<typeof caller>;
let ginaToken: string;

beforeAll(async () => {
  alice = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
  bob = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'bob'));
  ginaToken = await t.login(HOSTS.globex, 'gina');
  gina = caller(t, HOSTS.globex, ginaToken);
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
    // From the account page's route, with the current password.
    const kim = await operator(['admin']);
    const own = caller(t, HOSTS.acme, kim.session);
    const change = await own('POST', '/api/me/password', {
      currentPassword: kim.password,
      newPassword: 'a-second-password-9',
    });
    expect(change.status, change.text).toBe(200);
    expect(await statusOf(kim.token)).toBe(401);
    const again = await t.login(HOSTS.acme, kim.username, 'a-second-password-9');
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

  it("ends the CLI's `execfabric login` token, and the CLI says to sign in again", async () => {
    const zed = await operator();
    const acme = `http://${HOSTS.acme}:${t.platform.port}`;
    const cli = cliSession();
    const login = await cli.run(['login', '--host', acme, '-u', zed.username, '--password-stdin'], {
      input: zed.password,
    });
    expect(login.code, login.stderr).toBe(0);
    expect((await cli.run(['whoami'])).code).toBe(0);
    await alice('PATCH', `/api/users/${zed.username}`, { disabled: true });
    await alice('PATCH', `/api/users/${zed.username}`, { disabled: false });
    const refused = await cli.run(['skills']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${acme} refused the access token`);
    expect(refused.stderr).toContain('login --host');
    const again = await cli.run(['login', '--host', acme, '-u', zed.username, '--password-stdin'], {
      input: zed.password,
    });
    expect(again.code, again.stderr).toBe(0);
    expect((await cli.run(['skills'])).code).toBe(0);
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

  it('is listed as ended, and counts no more towards the per-user limit', async () => {
    const zed = await operator();
    const first = await client(zed.session);
    for (let made = 1; made < MAX_CLIENTS_PER_USER; made++) await client(zed.session);
    const over = await caller(t, HOSTS.acme, zed.session)('POST', '/api/mcp-clients', {
      name: unique('client'),
      tags: ['none'],
    });
    expectProblem(over, [403, 409, 429], 'over the limit');
    await alice('PATCH', `/api/users/${zed.username}`, { password: `${zed.username}-reset!` });
    const session = await t.login(HOSTS.acme, zed.username, `${zed.username}-reset!`);
    const fresh = await client(session);
    expect(await mcpStatusOf(fresh)).toBe(200);
    expect(await mcpStatusOf(first)).toBe(401);
    const listed = await alice('GET', '/api/mcp-clients');
    const mine = listed.body.items.filter((item: { owner: string }) => item.owner === zed.username);
    expect(mine).toHaveLength(MAX_CLIENTS_PER_USER + 1);
    expect(mine.filter((item: { endedAt?: string }) => item.endedAt !== undefined)).toHaveLength(
      MAX_CLIENTS_PER_USER,
    );
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

/** The id and secret of an `efp_<id>_<secret>` token. */
function partsOf(token: string): { id: string; secret: string } {
  const match = /^efp_([0-9a-f]{16})_(.+)$/.exec(token);
  expect(match, token).not.toBeNull();
  return { id: match?.[1] ?? '', secret: match?.[2] ?? '' };
}

describe("a user admin lists and revokes a user's tokens", () => {
  it('lists id, name, scopes, dates and last use, never the secret or its hash', async () => {
    const zed = await operator();
    expect(await statusOf(zed.token)).toBe(200);
    const { id, secret } = partsOf(zed.token);
    const listed = await alice('GET', `/api/users/${zed.username}/tokens`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    const [item] = listed.body.items;
    expect(Object.keys(item).sort()).toEqual(
      ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revoked', 'scopes'].sort(),
    );
    expect(item).toMatchObject({ id, scopes: ['skill:read'], revoked: false });
    expect(typeof item.lastUsedAt).toBe('string');
    for (const leak of [secret, zed.token, createHash('sha256').update(secret).digest('hex')]) {
      expect(listed.text).not.toContain(leak);
    }
    // Another user's listing has none of zed's tokens.
    const other = await operator();
    const theirs = await alice('GET', `/api/users/${other.username}/tokens`);
    expect(theirs.body.items.map((token: { id: string }) => token.id)).toEqual([partsOf(other.token).id]);
  });

  it('shows which tokens a password reset ended, to the admin and the owner', async () => {
    const zed = await operator();
    await alice('PATCH', `/api/users/${zed.username}`, { password: `${zed.username}-reset!` });
    const session = await t.login(HOSTS.acme, zed.username, `${zed.username}-reset!`);
    const fresh = await newToken(session);
    const byAdmin = await alice('GET', `/api/users/${zed.username}/tokens`);
    const byOwner = await caller(t, HOSTS.acme, session)('GET', '/api/tokens');
    for (const listed of [byAdmin, byOwner]) {
      expect(listed.status, listed.text).toBe(200);
      const ended = listed.body.items.find((token: { id: string }) => token.id === partsOf(zed.token).id);
      const live = listed.body.items.find((token: { id: string }) => token.id === partsOf(fresh).id);
      expect(typeof ended.endedAt).toBe('string');
      expect(live.endedAt).toBeUndefined();
    }
  });

  it('revokes a token: refused from the next request on, and audited with its owner', async () => {
    const zed = await operator();
    const { id } = partsOf(zed.token);
    const revoked = await alice('DELETE', `/api/users/${zed.username}/tokens/${id}`);
    expect(revoked.status, revoked.text).toBe(204);
    expect(await statusOf(zed.token)).toBe(401);
    const listed = await alice('GET', `/api/users/${zed.username}/tokens`);
    expect(listed.body.items[0]).toMatchObject({ id, revoked: true });
    const audit = await alice('GET', '/api/audit?limit=100');
    expect(audit.body.items).toContainEqual(
      expect.objectContaining({
        action: 'token.revoked',
        target: `token:${id}`,
        actor: expect.objectContaining({ username: 'alice' }),
        details: expect.objectContaining({ owner: zed.username }),
      }),
    );
  });

  it("refuses a token of one user through another user's path (404), and it still works", async () => {
    const [zed, kim] = [await operator(), await operator()];
    const kimId = partsOf(kim.token).id;
    expectProblem(await alice('DELETE', `/api/users/${zed.username}/tokens/${kimId}`), 404);
    expect(await statusOf(kim.token)).toBe(200);
  });

  it('lets no one without user:manage list or revoke another user’s tokens, nor with a token', async () => {
    const zed = await operator();
    const { id } = partsOf(zed.token);
    expectProblem(await bob('GET', `/api/users/${zed.username}/tokens`), 403);
    expectProblem(await bob('DELETE', `/api/users/${zed.username}/tokens/${id}`), 403);
    // Nor zed himself, for his own tokens: that is what /api/tokens is for.
    const own = caller(t, HOSTS.acme, zed.session);
    expectProblem(await own('GET', `/api/users/${zed.username}/tokens`), 403);
    // An admin's token scoped without user:manage is no admin here.
    const kim = await operator(['admin']);
    const narrow = await newToken(kim.session, ['skill:read', 'token:create']);
    expectProblem(await caller(t, HOSTS.acme, narrow)('GET', `/api/users/${zed.username}/tokens`), 403);
    expectProblem(
      await caller(t, HOSTS.acme, narrow)('DELETE', `/api/users/${zed.username}/tokens/${id}`),
      403,
    );
    expect(await statusOf(zed.token)).toBe(200);
  });

  it('lets a user admin with fewer permissions neither list nor revoke an admin’s tokens', async () => {
    const role = `helpers-${Math.random().toString(36).slice(2, 8)}`;
    expect(
      (
        await alice('POST', '/api/roles', {
          name: role,
          permissions: ['user:manage', 'token:create', 'skill:read'],
        })
      ).status,
    ).toBe(201);
    const uma = await operator([role]);
    const kim = await operator(['admin']);
    const asUma = caller(t, HOSTS.acme, uma.session);
    expectProblem(await asUma('GET', `/api/users/${kim.username}/tokens`), 403);
    expectProblem(await asUma('DELETE', `/api/users/${kim.username}/tokens/${partsOf(kim.token).id}`), 403);
    // Nor by its id alone, on the route for one's own tokens (it revoked any token for user:manage).
    expectProblem(await asUma('DELETE', `/api/tokens/${partsOf(kim.token).id}`), 403);
    expect(await statusOf(kim.token)).toBe(200);
    // A user admin who may manage the owner (one holding no more than they do) still may, there too;
    // and anyone their own.
    const peer = await operator([role]);
    expect((await asUma('DELETE', `/api/tokens/${partsOf(peer.token).id}`)).status).toBe(204);
    expect(await statusOf(peer.token)).toBe(401);
    expect((await asUma('DELETE', `/api/tokens/${partsOf(uma.token).id}`)).status).toBe(204);
  });

  it("gives another tenant's admin a 404 on their own host and a 401 on ours", async () => {
    const zed = await operator();
    const { id } = partsOf(zed.token);
    expectProblem(await gina('GET', `/api/users/${zed.username}/tokens`), 404);
    expectProblem(await gina('DELETE', `/api/users/${zed.username}/tokens/${id}`), 404);
    // A globex user of the very same name changes nothing.
    const twin = await gina('POST', '/api/users', {
      username: zed.username,
      password: `${zed.username}-globex`,
      roles: ['viewer'],
    });
    expect(twin.status, twin.text).toBe(201);
    const listed = await gina('GET', `/api/users/${zed.username}/tokens`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items).toEqual([]);
    expectProblem(await gina('DELETE', `/api/users/${zed.username}/tokens/${id}`), 404);
    // Gina's session is globex's only.
    const onAcme = caller(t, HOSTS.acme, ginaToken);
    expectProblem(await onAcme('GET', `/api/users/${zed.username}/tokens`), 401);
    expectProblem(await onAcme('DELETE', `/api/users/${zed.username}/tokens/${id}`), 401);
    expect(await statusOf(zed.token)).toBe(200);
  });

  it('answers odd names and ids with a problem, never a 500', async () => {
    const zed = await operator();
    const { id } = partsOf(zed.token);
    for (const username of [
      'constructor',
      '__proto__',
      'toString',
      'nobody',
      'a%2Fb',
      'a%00b',
      'A'.repeat(300),
    ]) {
      expectProblem(await alice('GET', `/api/users/${username}/tokens`), 404, username);
      expectProblem(await alice('DELETE', `/api/users/${username}/tokens/${id}`), 404, username);
    }
    for (const bad of ['constructor', '__proto__', id.toUpperCase(), `${id}0`, '%00', 'x'.repeat(500)]) {
      expectProblem(await alice('DELETE', `/api/users/${zed.username}/tokens/${bad}`), 404, bad);
    }
    expect(await statusOf(zed.token)).toBe(200);
  });
});

describe("a user admin and other users' AI clients", () => {
  /** A client of the user signed in as `session`: its id and token. */
  async function client(session: string): Promise<{ id: string; token: string }> {
    const created = await caller(t, HOSTS.acme, session)('POST', '/api/mcp-clients', {
      name: unique('client'),
      tags: ['none'],
    });
    expect(created.status, created.text).toBe(201);
    return { id: String(created.body.id), token: String(created.body.token) };
  }

  async function idsListedFor(session: string): Promise<string[]> {
    const listed = await caller(t, HOSTS.acme, session)('GET', '/api/mcp-clients');
    expect(listed.status, listed.text).toBe(200);
    return listed.body.items.map((item: { id: string }) => item.id);
  }

  it('lets a user admin with fewer permissions neither list, read nor revoke an admin’s client', async () => {
    // Any holder of user:manage saw, read and revoked every client of the tenant, an admin's too.
    const role = `clientmgr-${Math.random().toString(36).slice(2, 8)}`;
    const made = await alice('POST', '/api/roles', {
      name: role,
      permissions: ['user:manage', 'mcp:connect', 'skill:read', 'skill:run', 'token:create'],
    });
    expect(made.status, made.text).toBe(201);
    const ursula = await operator([role]);
    const kim = await operator(['admin']);
    const kims = await client(kim.session);
    const asUrsula = caller(t, HOSTS.acme, ursula.session);

    expect(await idsListedFor(ursula.session)).not.toContain(kims.id);
    for (const path of [`/api/mcp-clients/${kims.id}`, `/api/mcp-clients/${kims.id}/calls`]) {
      const read = await asUrsula('GET', path);
      expectProblem(read, 403, path);
      // Refused without a word of the client itself.
      expect(read.text).not.toContain(kims.token.slice(4, 20));
    }
    expectProblem(await asUrsula('DELETE', `/api/mcp-clients/${kims.id}`), 403);
    expectProblem(await asUrsula('PATCH', `/api/mcp-clients/${kims.id}`, { name: 'taken' }), 403);
    // Nor through an access token of hers: it holds no more than she does.
    const pat = await newToken(ursula.session, ['user:manage', 'skill:read']);
    expectProblem(await caller(t, HOSTS.acme, pat)('DELETE', `/api/mcp-clients/${kims.id}`), 403);
    expect(await mcpStatusOf(kims.token)).toBe(200);
    expect(
      (await caller(t, HOSTS.acme, kim.session)('GET', `/api/mcp-clients/${kims.id}`)).body.revoked,
    ).toBe(false);
    // The admin, who holds everything kim holds, still sees it.
    expect(await idsListedFor(kim.session)).toContain(kims.id);

    // A user admin who may manage the owner (one holding no more than they do) still sees, reads
    // and revokes, as the AI clients page does; and anyone their own.
    const peer = await operator([role]);
    const peers = await client(peer.session);
    const ursulas = await client(ursula.session);
    const shown = await idsListedFor(ursula.session);
    expect(shown).toEqual(expect.arrayContaining([peers.id, ursulas.id]));
    expect(shown).not.toContain(kims.id);
    expect((await asUrsula('GET', `/api/mcp-clients/${peers.id}`)).status).toBe(200);
    expect((await asUrsula('GET', `/api/mcp-clients/${peers.id}/calls`)).status).toBe(200);
    expect((await asUrsula('DELETE', `/api/mcp-clients/${peers.id}`)).status).toBe(204);
    expect(await mcpStatusOf(peers.token)).toBe(401);
    expect((await asUrsula('DELETE', `/api/mcp-clients/${ursulas.id}`)).status).toBe(204);
    expect(await mcpStatusOf(kims.token)).toBe(200);
  });

  it('lets a user admin holding only user:manage see no client of a user holding more', async () => {
    // The report's repro: a role of user:manage alone, and alice's own client.
    const role = `usermgr-${Math.random().toString(36).slice(2, 8)}`;
    expect((await alice('POST', '/api/roles', { name: role, permissions: ['user:manage'] })).status).toBe(
      201,
    );
    // She holds no token:create, so no operator() of hers.
    const username = unique('ursula')
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-');
    const made = await alice('POST', '/api/users', { username, password: `${username}-pw`, roles: [role] });
    expect(made.status, made.text).toBe(201);
    const session = await t.login(HOSTS.acme, username, `${username}-pw`);
    const alices = await client(await t.login(HOSTS.acme, 'alice'));
    const asUrsula = caller(t, HOSTS.acme, session);
    expect(await idsListedFor(session)).not.toContain(alices.id);
    expectProblem(await asUrsula('GET', `/api/mcp-clients/${alices.id}`), 403);
    expectProblem(await asUrsula('GET', `/api/mcp-clients/${alices.id}/calls`), 403);
    expectProblem(await asUrsula('DELETE', `/api/mcp-clients/${alices.id}`), 403);
    expect(await mcpStatusOf(alices.token)).toBe(200);
    // And a client id that is no client at all is missing, not refused.
    expectProblem(await asUrsula('GET', `/api/mcp-clients/${'0'.repeat(16)}`), 404);
    expect((await alice('DELETE', `/api/mcp-clients/${alices.id}`)).status).toBe(204);
  });
});
