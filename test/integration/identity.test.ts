/**
 * Identity end to end over HTTP against the embedded platform: sessions bound to one host, logout,
 * expiry and revocation on the next request, personal access tokens, login rate limiting without
 * user enumeration, super-admin rules, RBAC and privilege escalation, menus, the whitelisted
 * cross-tenant console, and the audit chain (including tampering with the table behind its back).
 */
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../functions/core/audit/chain.ts';
import { Auth } from '../../functions/core/identity/auth.ts';
import { itemKey, publicPk, tenantPk } from '../../functions/core/keys.ts';
import { createCore, parseList } from '../../functions/core/platform.ts';
import type { DomainContext, PublicContext, TenantContext } from '../../functions/core/tenancy/domain.ts';
import { auditRoutes } from '../../functions/http/routes/audit.ts';
import { consoleRoutes } from '../../functions/http/routes/console.ts';
import { identityRoutes } from '../../functions/http/routes/identity.ts';
import type { TestResponse } from '../support/http.ts';
import {
  enumerateRoutes,
  expectProblem,
  fillPath,
  HOSTS,
  problemType,
  sampleBody,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'identity-suite-password-1';
let t: TestPlatform;
const tokens: Record<'alice' | 'bob' | 'gina' | 'admin', string> = {
  alice: '',
  bob: '',
  gina: '',
  admin: '',
};
let acme: TenantContext;
let publicDomain: PublicContext;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [tokens.alice, tokens.bob, tokens.gina, tokens.admin] = await Promise.all([
    t.login(HOSTS.acme, 'alice'),
    t.login(HOSTS.acme, 'bob'),
    t.login(HOSTS.globex, 'gina'),
    t.login(HOSTS.admin, 'admin'),
  ]);
  acme = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
  publicDomain = (await t.core.hosts.resolve(HOSTS.admin)) as PublicContext;
});
afterAll(async () => {
  await t?.stop();
});

function me(host: string, token: string) {
  return t.send({ host, path: '/api/me', token });
}

function login(host: string, username: string, password: string) {
  return t.send({ host, path: '/api/auth/login', method: 'POST', body: { username, password } });
}

async function createUser(host: string, token: string, body: Record<string, unknown>) {
  const response = await t.send({ host, path: '/api/users', method: 'POST', token, body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function createRole(host: string, token: string, name: string, permissions: string[]) {
  const response = await t.send({
    host,
    path: '/api/roles',
    method: 'POST',
    token,
    body: { name, permissions },
  });
  expect(response.status, response.text).toBe(201);
}

/** The answer with what legitimately differs per request (`instance`) taken out. */
function withoutInstance(response: TestResponse): string {
  return response.text.replace(String(response.body.instance), '<instance>');
}

describe('sessions', () => {
  it('work on the host they were issued for and on no other host', async () => {
    expect((await me(HOSTS.acme, tokens.alice)).body.username).toBe('alice');
    for (const host of [HOSTS.globex, HOSTS.admin]) {
      const response = await me(host, tokens.alice);
      expectProblem(response, 401, `alice's token on ${host}`);
      expect(response.body.type).toBe(problemType('unauthenticated'));
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    // The free entry (its own function) has no sign-in at all: no such route there.
    const free = await me(HOSTS.free, tokens.alice);
    expectProblem(free, 404, `alice's token on ${HOSTS.free}`);
    expect(free.body.type).toBe(problemType('route-not-found'));
  });

  it('end with logout on the next request, and only that session', async () => {
    const second = await t.login(HOSTS.acme, 'alice');
    expect((await me(HOSTS.acme, second)).status).toBe(200);
    const out = await t.send({ host: HOSTS.acme, path: '/api/auth/logout', method: 'POST', token: second });
    expect(out.status).toBe(204);
    expectProblem(await me(HOSTS.acme, second), 401, 'after logout');
    expect((await me(HOSTS.acme, tokens.alice)).status).toBe(200);
  });

  it('expire: a token signed with the real secret at a past time is refused', async () => {
    const past = new Date(Date.now() - 9 * 3600 * 1000);
    const auth = new Auth({
      table: t.core.table,
      directory: t.core.directory,
      audit: t.core.audit,
      tokenSecret: t.tokenSecret,
      now: () => past,
    });
    const { token } = await auth.login(acme, 'alice', PASSWORD);
    expectProblem(await me(HOSTS.acme, token), 401, 'expired token');
  });

  it('end when the user is disabled, and stay ended after re-enabling (tokens too)', async () => {
    await createUser(HOSTS.acme, tokens.alice, { username: 'dora', password: PASSWORD, roles: ['operator'] });
    const session = await t.login(HOSTS.acme, 'dora');
    const created = await t.send({
      host: HOSTS.acme,
      path: '/api/tokens',
      method: 'POST',
      token: session,
      body: { name: 'dora-cli', scopes: ['skill:read'] },
    });
    const pat = String(created.body.token);
    const disable = (disabled: boolean) =>
      t.send({
        host: HOSTS.acme,
        path: '/api/users/dora',
        method: 'PATCH',
        token: tokens.alice,
        body: { disabled },
      });
    expect((await disable(true)).status).toBe(200);
    expectProblem(await me(HOSTS.acme, session), 401, 'disabled session');
    expectProblem(await me(HOSTS.acme, pat), 401, 'disabled PAT');
    expect((await disable(false)).status).toBe(200);
    // Re-enabling does not bring back the sessions that disabling ended; a new sign-in works.
    expectProblem(await me(HOSTS.acme, session), 401, 'session from before the disabling');
    expect((await me(HOSTS.acme, await t.login(HOSTS.acme, 'dora'))).status).toBe(200);
    // Nor the tokens made before it (test/integration/attacks-tokens.test.ts).
    expectProblem(await me(HOSTS.acme, pat), 401, 'PAT from before the disabling');
  });

  it('end for every session of a user whose password is reset', async () => {
    await createUser(HOSTS.acme, tokens.alice, { username: 'erin', password: PASSWORD, roles: ['viewer'] });
    const [first, second] = [await t.login(HOSTS.acme, 'erin'), await t.login(HOSTS.acme, 'erin')];
    const reset = await t.send({
      host: HOSTS.acme,
      path: '/api/users/erin',
      method: 'PATCH',
      token: tokens.alice,
      body: { password: 'a-brand-new-password' },
    });
    expect(reset.status).toBe(200);
    expectProblem(await me(HOSTS.acme, first ?? ''), 401, 'first session after reset');
    expectProblem(await me(HOSTS.acme, second ?? ''), 401, 'second session after reset');
    expect((await me(HOSTS.acme, await t.login(HOSTS.acme, 'erin', 'a-brand-new-password'))).status).toBe(
      200,
    );
    // Changing only the roles ends nothing.
    const fresh = await t.login(HOSTS.acme, 'erin', 'a-brand-new-password');
    await t.send({
      host: HOSTS.acme,
      path: '/api/users/erin',
      method: 'PATCH',
      token: tokens.alice,
      body: { roles: ['operator'] },
    });
    expect((await me(HOSTS.acme, fresh)).body.roles).toEqual(['operator']);
  });

  it('cannot be forged by altering the signature, even in its last character', async () => {
    const base = tokens.bob.slice(0, -1);
    const last = tokens.bob.slice(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variants = [...alphabet].filter((char) => char !== last).map((char) => base + char);
    variants.push(`${tokens.bob}=`, `${tokens.bob}==`, `${tokens.bob}.`, `${tokens.bob}%`);
    for (const variant of variants) {
      expectProblem(await me(HOSTS.acme, variant), 401, `signature variant ${variant.slice(-3)}`);
    }
  });
});

describe('the free entry', () => {
  it('serves no sign-in and none of the public domain’s identity, audit or console routes', async () => {
    expect((await t.send({ host: HOSTS.free, path: '/api/health' })).status).toBe(200);
    const signIn = await login(HOSTS.free, 'admin', PASSWORD);
    expectProblem(signIn, 404, 'super-admin signs in on the free host');
    expect(signIn.text).not.toContain('token');
    // A session minted for the free host (as an older build could have) is served nothing either.
    const session = await t.core.auth.login(await t.core.hosts.resolve(HOSTS.free), 'admin', PASSWORD);
    const shared = [...identityRoutes(t.core), ...auditRoutes(t.core), ...consoleRoutes(t.core)];
    for (const route of shared) {
      const name = `${route.method} ${route.path}`;
      const body = sampleBody(route);
      const response = await t.send({
        host: HOSTS.free,
        path: fillPath(route.path, () => 'acme'),
        method: route.method,
        token: session.token,
        ...(body === undefined ? {} : { body }),
      });
      // The free entry's own function has none of these routes, whatever the token.
      expectProblem(response, 404, `${name} on the free host`);
    }
  });
});

describe('personal access tokens', () => {
  let pat = '';
  let patId = '';

  it('are shown once, stored hashed and listed without their secret', async () => {
    const created = await t.send({
      host: HOSTS.acme,
      path: '/api/tokens',
      method: 'POST',
      token: tokens.alice,
      body: { name: 'alice-cli', scopes: ['skill:read'], expiresInDays: 7 },
    });
    expect(created.status).toBe(201);
    pat = String(created.body.token);
    patId = String(created.body.id);
    expect(pat).toMatch(/^efp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ name: 'alice-cli', scopes: ['skill:read'], lastUsedAt: null });
    const secret = pat.split('_').slice(2).join('_');

    const listed = await t.send({ host: HOSTS.acme, path: '/api/tokens', token: tokens.alice });
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(secret);
    const item = listed.body.items.find((entry: { id: string }) => entry.id === patId);
    expect(item).toMatchObject({ id: patId, name: 'alice-cli', scopes: ['skill:read'], revoked: false });
    expect(item).not.toHaveProperty('token');
    expect(item).not.toHaveProperty('secretHash');

    const stored = await t.core.table.client.send(
      new GetCommand({ TableName: t.core.table.name, Key: itemKey(acme, 'PAT', patId) }),
    );
    expect(JSON.stringify(stored.Item)).not.toContain(secret);
    expect(String(stored.Item?.secretHash)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('record their last use', async () => {
    const used = await me(HOSTS.acme, pat);
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ username: 'alice', via: 'personal-access-token' });
    expect(used.body.permissions).toEqual(['skill:read']);
    const listed = await t.send({ host: HOSTS.acme, path: '/api/tokens', token: tokens.alice });
    const item = listed.body.items.find((entry: { id: string }) => entry.id === patId);
    expect(Date.parse(item.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('hold only their scopes: a skill:read token cannot manage users or mint tokens', async () => {
    expectProblem(await t.send({ host: HOSTS.acme, path: '/api/users', token: pat }), 403, 'list users');
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/users',
        method: 'POST',
        token: pat,
        body: { username: 'mallory', password: PASSWORD, roles: ['admin'] },
      }),
      403,
      'create user',
    );
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/tokens',
        method: 'POST',
        token: pat,
        body: { name: 'wider', scopes: ['user:manage'] },
      }),
      403,
      'mint token',
    );
  });

  it('never lets a user disable themselves or change their own roles', async () => {
    for (const body of [{ disabled: true }, { roles: ['viewer'] }]) {
      const response = await t.send({
        host: HOSTS.admin,
        path: '/api/users/admin',
        method: 'PATCH',
        token: tokens.admin,
        body,
      });
      expectProblem(response, 403, `self-change ${JSON.stringify(body)}`);
    }
    expect((await me(HOSTS.admin, tokens.admin)).status).toBe(200);
  });

  it('cannot mint tokens, even with token:create in scope (a child would outlive its parent)', async () => {
    const wide = await t.send({
      host: HOSTS.acme,
      path: '/api/tokens',
      method: 'POST',
      token: tokens.alice,
      body: { name: 'minter', scopes: ['token:create', 'skill:read'] },
    });
    expect(wide.status).toBe(201);
    const child = await t.send({
      host: HOSTS.acme,
      path: '/api/tokens',
      method: 'POST',
      token: String(wide.body.token),
      body: { name: 'child', scopes: ['skill:read'] },
    });
    expectProblem(child, 403, 'token minted by a token');
    expect(child.headers['x-content-type-options']).toBe('nosniff');
  });

  it('cannot hold a permission the owner lacks', async () => {
    const response = await t.send({
      host: HOSTS.acme,
      path: '/api/tokens',
      method: 'POST',
      token: tokens.bob,
      body: { name: 'bob-admin', scopes: ['user:manage'] },
    });
    expectProblem(response, 403, 'operator token with user:manage');
  });

  it('cannot be revoked by another user who does not manage users', async () => {
    const response = await t.send({
      host: HOSTS.acme,
      path: `/api/tokens/${patId}`,
      method: 'DELETE',
      token: tokens.bob,
    });
    expectProblem(response, 404, 'bob revokes alice token');
    expect((await me(HOSTS.acme, pat)).status).toBe(200);
  });

  it('are revocable, effective on the next request', async () => {
    const revoked = await t.send({
      host: HOSTS.acme,
      path: `/api/tokens/${patId}`,
      method: 'DELETE',
      token: tokens.alice,
    });
    expect(revoked.status).toBe(204);
    expectProblem(await me(HOSTS.acme, pat), 401, 'revoked PAT');
    const listed = await t.send({ host: HOSTS.acme, path: '/api/tokens', token: tokens.alice });
    const item = listed.body.items.find((entry: { id: string }) => entry.id === patId);
    expect(item.revoked).toBe(true);
  });
});

describe('login rate limiting', () => {
  const LIMIT = 5;

  async function failTimes(host: string, username: string, times: number) {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await login(host, username, 'wrong-password-1')).status);
    return statuses;
  }

  function expectLimited(response: TestResponse, context: string) {
    expectProblem(response, 429, context);
    expect(response.body.type).toBe(problemType('rate-limited'));
    const retryAfter = Number(response.headers['retry-after']);
    expect(Number.isInteger(retryAfter), context).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The message says when, in words, as Retry-After does in seconds (it said "try again later").
    const wait = retryAfter >= 90 ? `${Math.ceil(retryAfter / 60)} minute` : `${retryAfter} second`;
    expect(response.body.detail ?? response.body.title, context).toContain(`try again in ${wait}`);
  }

  it('answers 429 with Retry-After after repeated failures, even to the right password', async () => {
    await createUser(HOSTS.acme, tokens.alice, { username: 'frank', password: PASSWORD, roles: ['viewer'] });
    expect(await failTimes(HOSTS.acme, 'frank', LIMIT)).toEqual(Array(LIMIT).fill(401));
    expectLimited(await login(HOSTS.acme, 'frank', 'wrong-password-1'), 'sixth failure');
    expectLimited(await login(HOSTS.acme, 'frank', PASSWORD), 'right password while limited');
    expectLimited(await login(HOSTS.acme, ' FRANK ', PASSWORD), 'same name, other case');
  });

  it('limits unknown usernames the same way', async () => {
    expect(await failTimes(HOSTS.acme, 'nobody-here', LIMIT)).toEqual(Array(LIMIT).fill(401));
    expectLimited(await login(HOSTS.acme, 'nobody-here', 'wrong-password-1'), 'unknown user');
  });

  it('leaves other hosts and other usernames alone', async () => {
    expectProblem(await login(HOSTS.globex, 'frank', 'wrong-password-1'), 401, 'frank on globex');
    expect((await login(HOSTS.acme, 'bob', PASSWORD)).status).toBe(200);
  });

  it('holds under concurrent attempts: no more than the limit are checked', async () => {
    await createUser(HOSTS.acme, tokens.alice, { username: 'grace', password: PASSWORD, roles: ['viewer'] });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => login(HOSTS.acme, 'grace', 'wrong-password-1')),
    );
    for (const answer of answers) expectProblem(answer, [401, 429], 'concurrent attempt');
    const checked = answers.filter((answer) => answer.status === 401).length;
    expect(checked).toBeLessThanOrEqual(LIMIT);
    expectLimited(await login(HOSTS.acme, 'grace', PASSWORD), 'right password after the burst');
  });
});

describe('failures do not reveal whether a user exists', () => {
  it('answers an unknown user and a wrong password byte for byte alike', async () => {
    const unknown = await login(HOSTS.globex, 'no-such-user', 'wrong-password-1');
    const wrong = await login(HOSTS.globex, 'gina', 'wrong-password-1');
    expectProblem(unknown, 401, 'unknown user');
    expect(withoutInstance(wrong)).toBe(withoutInstance(unknown));
    for (const header of ['content-type', 'www-authenticate', 'cache-control', 'content-length']) {
      expect(wrong.headers[header], header).toBe(unknown.headers[header]);
    }
    expect(Object.keys(wrong.headers).sort()).toEqual(Object.keys(unknown.headers).sort());
  });

  it('answers a disabled user with the right password like a wrong password', async () => {
    await createUser(HOSTS.globex, tokens.gina, { username: 'gone', password: PASSWORD, roles: ['viewer'] });
    await t.send({
      host: HOSTS.globex,
      path: '/api/users/gone',
      method: 'PATCH',
      token: tokens.gina,
      body: { disabled: true },
    });
    const disabled = await login(HOSTS.globex, 'gone', PASSWORD);
    const unknown = await login(HOSTS.globex, 'never-was', PASSWORD);
    expect(withoutInstance(disabled)).toBe(withoutInstance(unknown));
  });
});

describe('super-admins', () => {
  it('are recognised from the explicit marker, on the public host only', async () => {
    const answer = await me(HOSTS.admin, tokens.admin);
    expect(answer.body).toMatchObject({ username: 'admin', superAdmin: true });
    expect(answer.body.permissions).toContain('tenant:manage');
  });

  it('are not made by being named admin, or by being the first user of a tenant', async () => {
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await t.core.tenants.create({
      id: 'fresh',
      name: 'Fresh Ltd',
      plan: 'standard',
      hosts: ['fresh.localhost'],
      expiresAt,
    });
    const fresh = (await t.core.hosts.resolve('fresh.localhost')) as TenantContext;
    // The very first user of the tenant, named admin, holding the tenant's admin role.
    await t.core.directory.createUser(fresh, { username: 'admin', password: PASSWORD, roles: ['admin'] });
    const signedIn = await login('fresh.localhost', 'admin', PASSWORD);
    expect(signedIn.body.user).toEqual({ username: 'admin', roles: ['admin'], superAdmin: false });
    const token = String(signedIn.body.token);
    const answer = await me('fresh.localhost', token);
    expect(answer.body.superAdmin).toBe(false);
    expect(answer.body.permissions).not.toContain('tenant:manage');
    expectProblem(await me(HOSTS.admin, token), 401, 'tenant admin named admin on the admin host');

    // A marker written straight into a tenant user's item is ignored too.
    await t.core.table.client.send(
      new UpdateCommand({
        TableName: t.core.table.name,
        Key: itemKey(fresh, 'USER', 'admin'),
        UpdateExpression: 'SET superAdmin = :yes',
        ExpressionAttributeValues: { ':yes': true },
      }),
    );
    // (A new session, so the user is read again rather than taken from the session cache.)
    const marked = String((await login('fresh.localhost', 'admin', PASSWORD)).body.token);
    expect((await me('fresh.localhost', marked)).body.superAdmin).toBe(false);

    // A tenant admin cannot create one either.
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/users',
        method: 'POST',
        token: tokens.alice,
        body: { username: 'wannabe', password: PASSWORD, roles: [], superAdmin: true },
      }),
      422,
      'superAdmin in a tenant',
    );
  });

  it('are not made by the name admin in the public domain without the marker', async () => {
    const key = itemKey(publicDomain, 'USER', 'admin');
    const setMarker = (value: boolean) =>
      t.core.table.client.send(
        new UpdateCommand({
          TableName: t.core.table.name,
          Key: key,
          UpdateExpression: 'SET superAdmin = :value',
          ExpressionAttributeValues: { ':value': value },
        }),
      );
    await setMarker(false);
    try {
      // A change made behind the platform's back (not through its API) reaches a session the
      // platform has seen within the session cache's bound; a new session sees it at once.
      const unmarked = await t.login(HOSTS.admin, 'admin');
      const answer = await me(HOSTS.admin, unmarked);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ username: 'admin', superAdmin: false, permissions: [] });
      expectProblem(await t.send({ host: HOSTS.admin, path: '/api/users', token: unmarked }), 403, 'list');
      expectProblem(
        await t.send({ host: HOSTS.admin, path: '/api/audit', token: unmarked }),
        403,
        'audit without the marker',
      );
    } finally {
      await setMarker(true);
    }
    expect((await me(HOSTS.admin, await t.login(HOSTS.admin, 'admin'))).body.superAdmin).toBe(true);
  });

  it('can come from the configured list (EXECFABRIC_SUPER_ADMINS), in the public domain only', async () => {
    expect(parseList(' root-ops, ,billing-lead ')).toEqual(['root-ops', 'billing-lead']);
    const listed = createCore({
      table: t.core.table,
      tokenSecret: t.tokenSecret,
      superAdmins: parseList('root-ops'),
    });
    await listed.directory.createUser(publicDomain, { username: 'root-ops', password: PASSWORD, roles: [] });
    await listed.directory.createUser(acme, { username: 'root-ops', password: PASSWORD, roles: [] });

    const publicLogin = await listed.auth.login(publicDomain, 'root-ops', PASSWORD);
    expect(publicLogin.user.superAdmin).toBe(true);
    const caller = await listed.auth.authenticate(publicDomain, `Bearer ${publicLogin.token}`);
    expect(caller.superAdmin).toBe(true);
    expect(caller.permissions.has('tenant:manage')).toBe(true);

    const tenantLogin = await listed.auth.login(acme, 'root-ops', PASSWORD);
    expect(tenantLogin.user.superAdmin).toBe(false);

    // The running platform has no list configured: the same user is nobody special there.
    expect((await me(HOSTS.admin, publicLogin.token)).body).toMatchObject({
      superAdmin: false,
      permissions: [],
    });
  });
});

describe('privilege escalation', () => {
  let hank = '';

  beforeAll(async () => {
    await createRole(HOSTS.acme, tokens.alice, 'helpdesk', ['user:manage', 'skill:read']);
    await createUser(HOSTS.acme, tokens.alice, { username: 'hank', password: PASSWORD, roles: ['helpdesk'] });
    hank = await t.login(HOSTS.acme, 'hank');
  });

  it('an operator can create neither users nor roles', async () => {
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/users',
        method: 'POST',
        token: tokens.bob,
        body: { username: 'bobs-friend', password: PASSWORD, roles: ['operator'] },
      }),
      403,
      'operator creates user',
    );
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/roles',
        method: 'POST',
        token: tokens.bob,
        body: { name: 'bobs-role', permissions: ['skill:read'] },
      }),
      403,
      'operator creates role',
    );
  });

  it('a user manager cannot grant a role holding permissions they lack', async () => {
    for (const roles of [['admin'], ['operator'], ['helpdesk', 'viewer']]) {
      expectProblem(
        await t.send({
          host: HOSTS.acme,
          path: '/api/users',
          method: 'POST',
          token: hank,
          body: { username: 'hanks-friend', password: PASSWORD, roles },
        }),
        403,
        `grant ${roles.join('+')}`,
      );
    }
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/users/bob',
        method: 'PATCH',
        token: hank,
        body: { roles: ['admin'] },
      }),
      403,
      'promote bob to admin',
    );
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/users/hank',
        method: 'PATCH',
        token: hank,
        body: { roles: ['admin'] },
      }),
      403,
      'promote self',
    );
  });

  it('a user manager cannot take over or lock out a user holding more than they do', async () => {
    for (const body of [{ password: 'taken-over-password' }, { disabled: true }, { roles: ['helpdesk'] }]) {
      expectProblem(
        await t.send({ host: HOSTS.acme, path: '/api/users/alice', method: 'PATCH', token: hank, body }),
        403,
        `hank changes alice: ${Object.keys(body).join()}`,
      );
    }
    expect((await me(HOSTS.acme, tokens.alice)).status).toBe(200);
    expect((await login(HOSTS.acme, 'alice', PASSWORD)).status).toBe(200);
  });

  it('a role manager cannot create or widen a role beyond their own permissions', async () => {
    await createRole(HOSTS.acme, tokens.alice, 'rolesmith', ['role:manage']);
    await createUser(HOSTS.acme, tokens.alice, { username: 'ivy', password: PASSWORD, roles: ['rolesmith'] });
    const ivy = await t.login(HOSTS.acme, 'ivy');
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/roles',
        method: 'POST',
        token: ivy,
        body: { name: 'auditors', permissions: ['audit:read'] },
      }),
      403,
      'create role with audit:read',
    );
    expectProblem(
      await t.send({
        host: HOSTS.acme,
        path: '/api/roles/rolesmith',
        method: 'PUT',
        token: ivy,
        body: { permissions: ['role:manage', 'user:manage'] },
      }),
      403,
      'widen own role',
    );
  });

  it('a custom role cannot contain unknown permissions, nor the other domain kind’s', async () => {
    for (const permissions of [['skill:read', 'root:all'], ['tenant:manage'], ['console:read']]) {
      const response = await t.send({
        host: HOSTS.acme,
        path: '/api/roles',
        method: 'POST',
        token: tokens.alice,
        body: { name: 'weird', permissions },
      });
      expectProblem(response, 422, `role with ${permissions.join()}`);
      expect(response.body.errors[0].path).toBe('permissions');
    }
  });

  it('a repeated role name in an assignment is one role, not a server error', async () => {
    // Fresh roles: their definitions are not in any process cache yet.
    await createRole(HOSTS.acme, tokens.alice, 'echo-one', ['skill:read']);
    await createRole(HOSTS.acme, tokens.alice, 'echo-two', ['execution:read']);
    const response = await t.send({
      host: HOSTS.acme,
      path: '/api/users',
      method: 'POST',
      token: tokens.alice,
      body: { username: 'twice', password: PASSWORD, roles: ['echo-one', 'echo-one'] },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.roles).toEqual(['echo-one']);
    const change = await t.send({
      host: HOSTS.acme,
      path: '/api/users/twice',
      method: 'PATCH',
      token: tokens.alice,
      body: { roles: ['echo-two', 'echo-two', 'echo-one'] },
    });
    expect(change.status, change.text).toBe(200);
    expect(change.body.roles).toEqual(['echo-two', 'echo-one']);
  });

  it("a super-admin's narrowly scoped token is not a super-admin", async () => {
    const created = await t.send({
      host: HOSTS.admin,
      path: '/api/tokens',
      method: 'POST',
      token: tokens.admin,
      body: { name: 'user-admin-only', scopes: ['user:manage'] },
    });
    expect(created.status).toBe(201);
    const pat = String(created.body.token);
    expect((await me(HOSTS.admin, pat)).body).toMatchObject({
      superAdmin: false,
      permissions: ['user:manage'],
    });
    expectProblem(
      await t.send({
        host: HOSTS.admin,
        path: '/api/users',
        method: 'POST',
        token: pat,
        body: { username: 'second-root', password: PASSWORD, roles: [], superAdmin: true },
      }),
      403,
      'scoped token creates a super-admin',
    );
  });
});

describe('menus', () => {
  it('follow the role: a viewer sees no admin menus, an admin does', async () => {
    await createUser(HOSTS.acme, tokens.alice, { username: 'vera', password: PASSWORD, roles: ['viewer'] });
    const vera = await t.login(HOSTS.acme, 'vera');
    const ids = async (token: string) =>
      (await t.send({ host: HOSTS.acme, path: '/api/menus', token })).body.items.map(
        (item: { id: string }) => item.id,
      );
    const viewerMenus: string[] = await ids(vera);
    expect(viewerMenus).toEqual(expect.arrayContaining(['skills', 'executions', 'announcements']));
    for (const adminMenu of ['users', 'parameters', 'audit', 'skill-admin', 'assets', 'tokens']) {
      expect(viewerMenus).not.toContain(adminMenu);
    }
    const adminMenus: string[] = await ids(tokens.alice);
    expect(adminMenus).toEqual(expect.arrayContaining(['users', 'parameters', 'audit', 'tokens']));
    const operatorMenus: string[] = await ids(tokens.bob);
    expect(operatorMenus).toContain('approvals');
    expect(operatorMenus).not.toContain('users');
    const mine = await me(HOSTS.acme, vera);
    expect(mine.body.menus.map((item: { id: string }) => item.id)).toEqual(viewerMenus);
  });
});

describe('the whitelisted cross-tenant console', () => {
  let consul = '';

  beforeAll(async () => {
    await createUser(HOSTS.admin, tokens.admin, {
      username: 'consul',
      password: PASSWORD,
      roles: ['tenant-console'],
      consoleTenants: ['acme'],
    });
    consul = await t.login(HOSTS.admin, 'consul');
  });

  it('shows only the whitelisted tenants', async () => {
    const listed = await t.send({ host: HOSTS.admin, path: '/api/console/tenants', token: consul });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((tenant: { id: string }) => tenant.id)).toEqual(['acme']);
    expect(listed.text).not.toMatch(/globex/i);
    const one = await t.send({ host: HOSTS.admin, path: '/api/console/tenants/acme', token: consul });
    expect(one.body).toMatchObject({ id: 'acme', name: 'Acme Corporation', hosts: ['acme.localhost'] });
    for (const id of ['globex', 'fresh', 'nope', '..', 'ACME']) {
      const other = await t.send({ host: HOSTS.admin, path: `/api/console/tenants/${id}`, token: consul });
      expectProblem(other, 404, `console tenant ${id}`);
      expect(other.text).not.toContain('Globex');
    }
  });

  it('gives nothing of governance: every governance permission answers 403', async () => {
    const { governance } = await enumerateRoutes(t.core);
    const guarded = governance.filter(
      ({ route }) => route.permission !== undefined && route.permission !== 'console:read',
    );
    expect(guarded.length).toBeGreaterThan(0);
    for (const { route, name } of guarded) {
      const body = sampleBody(route);
      const response = await t.send({
        host: HOSTS.admin,
        path: fillPath(route.path, () => 'acme'),
        method: route.method,
        token: consul,
        ...(body === undefined ? {} : { body }),
      });
      expectProblem(response, 403, `console user → ${name}`);
    }
    const menus = (await me(HOSTS.admin, consul)).body.menus.map((item: { id: string }) => item.id);
    expect(menus).toEqual(['console']);
  });

  it('is not reachable from a tenant host', async () => {
    expectProblem(
      await t.send({ host: HOSTS.acme, path: '/api/console/tenants', token: consul }),
      [401, 404],
    );
    expectProblem(
      await t.send({ host: HOSTS.acme, path: '/api/console/tenants', token: tokens.alice }),
      404,
      'console route on the tenant API',
    );
  });
});

describe('audit', () => {
  async function actions(host: string, token: string): Promise<{ action: string; target: string }[]> {
    const response = await t.send({ host, path: '/api/audit?limit=100', token });
    expect(response.status).toBe(200);
    return response.body.items;
  }

  it('records logins, failed logins, role and permission changes, token creation and revocation', async () => {
    const changed = await t.send({
      host: HOSTS.acme,
      path: '/api/roles/helpdesk',
      method: 'PUT',
      token: tokens.alice,
      body: { permissions: ['user:manage'] },
    });
    expect(changed.status).toBe(200);
    const entries = await actions(HOSTS.acme, tokens.alice);
    const has = (action: string, target?: string) =>
      entries.some((entry) => entry.action === action && (target === undefined || entry.target === target));
    expect(has('auth.login', 'user:alice')).toBe(true);
    expect(has('auth.login.failed', 'user:frank')).toBe(true);
    expect(has('auth.login.failed', 'user:nobody-here')).toBe(true);
    expect(has('auth.login.refused', 'user:frank')).toBe(true);
    expect(has('auth.logout', 'user:alice')).toBe(true);
    expect(has('role.created', 'role:helpdesk')).toBe(true);
    expect(has('role.updated', 'role:helpdesk')).toBe(true);
    expect(has('user.updated', 'user:dora')).toBe(true);
    expect(has('token.created')).toBe(true);
    expect(has('token.revoked')).toBe(true);
    const roleChange = entries.find((entry) => entry.action === 'role.updated') as unknown as {
      details: Record<string, unknown>;
    };
    expect(roleChange.details).toMatchObject({
      permissionsBefore: ['user:manage', 'skill:read'],
      permissionsAfter: ['user:manage'],
    });
    // Never a password or a token secret in the chain.
    const text = JSON.stringify(entries);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('wrong-password-1');
    expect(text).not.toContain(tokens.alice);

    const publicEntries = await actions(HOSTS.admin, tokens.admin);
    expect(
      publicEntries.some((entry) => entry.action === 'auth.login' && entry.target === 'user:admin'),
    ).toBe(true);
    expect(publicEntries.some((entry) => entry.target === 'user:alice')).toBe(false);
  });

  describe('verification detects tampering done directly in the table', () => {
    interface Row extends Record<string, unknown> {
      readonly PK: string;
      readonly SK: string;
      readonly type: string;
    }

    async function rows(pk: string): Promise<Row[]> {
      const found: Row[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await t.core.table.client.send(
          new QueryCommand({
            TableName: t.core.table.name,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        found.push(...((page.Items ?? []) as Row[]));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return found;
    }

    async function verify(host: string, token: string) {
      const response = await t.send({ host, path: '/api/audit/verify', token });
      expect(response.status).toBe(200);
      return response.body as { valid: boolean; seals: number; problems: { kind: string }[] };
    }

    const put = (item: Row) =>
      t.core.table.client.send(new PutCommand({ TableName: t.core.table.name, Item: item }));
    const remove = (item: Row) =>
      t.core.table.client.send(
        new DeleteCommand({ TableName: t.core.table.name, Key: { PK: item.PK, SK: item.SK } }),
      );

    /** Seals everything written so far (no settling window), then returns the sealed entries and seals. */
    async function sealNow(domain: DomainContext, pk: string) {
      const sealer = new AuditLog({
        table: t.core.table,
        settleMs: 0,
        now: () => new Date(Date.now() + 1000),
      });
      await sealer.seal(domain);
      const all = await rows(pk);
      const seals = all.filter((row) => row.type === 'AUDITSEAL').sort((a, b) => (a.SK < b.SK ? -1 : 1));
      const lastSealed = String(seals.at(-1)?.toSk);
      const entries = all.filter((row) => row.type === 'AUDIT' && row.SK <= lastSealed);
      return { entries, seals };
    }

    const cases: readonly {
      readonly name: string;
      readonly kinds: readonly string[];
      readonly tamper: (
        entries: Row[],
        seals: Row[],
      ) => { change: () => Promise<unknown>; undo: () => Promise<unknown> };
    }[] = [
      {
        name: "an entry's details changed",
        kinds: ['entry-altered'],
        tamper: (entries) => {
          const entry = entries[1] as Row;
          return {
            // Details are stored as JSON text (data-fidelity.md).
            change: () =>
              put({
                ...entry,
                detailsJson: JSON.stringify({
                  ...JSON.parse(String(entry.detailsJson)),
                  sourceIp: '203.0.113.9',
                }),
              }),
            undo: () => put(entry),
          };
        },
      },
      {
        name: "an entry's details and hash changed together",
        kinds: ['entries-altered'],
        tamper: (entries) => {
          const entry = entries[2] as Row;
          return {
            change: () =>
              put({
                ...entry,
                target: 'user:nobody',
                hash: createHash('sha256').update('forged').digest('hex'),
              }),
            undo: () => put(entry),
          };
        },
      },
      {
        name: 'an entry removed',
        kinds: ['entries-altered'],
        tamper: (entries) => {
          const entry = entries[0] as Row;
          return { change: () => remove(entry), undo: () => put(entry) };
        },
      },
      {
        name: "a seal's range rewritten",
        kinds: ['seal-altered'],
        tamper: (_, seals) => {
          const seal = seals.at(-1) as Row;
          return { change: () => put({ ...seal, toSk: String(seals[0]?.fromSk) }), undo: () => put(seal) };
        },
      },
      {
        name: "a seal's fields removed",
        kinds: ['seal-altered'],
        tamper: (_, seals) => {
          const seal = seals.at(-1) as Row;
          const { toSk: _toSk, seq: _seq, ...rest } = seal;
          return { change: () => put(rest as Row), undo: () => put(seal) };
        },
      },
      {
        name: 'a seal removed',
        kinds: ['seal-missing'],
        tamper: (_, seals) => {
          const seal = seals[0] as Row;
          return { change: () => remove(seal), undo: () => put(seal) };
        },
      },
    ];

    for (const { name, kinds, tamper } of cases) {
      it(`reports ${name}`, async () => {
        const domain = acme;
        const pk = tenantPk('acme');
        // Two seals, so that removing one leaves a gap in the chain.
        await sealNow(domain, pk);
        await t.core.audit.record(domain, {
          actor: { username: 'test', via: 'system' },
          action: 'test.mark',
          target: 'x',
        });
        const { entries, seals } = await sealNow(domain, pk);
        expect(seals.length).toBeGreaterThanOrEqual(2);
        expect(entries.length).toBeGreaterThanOrEqual(3);
        expect((await verify(HOSTS.acme, tokens.alice)).valid).toBe(true);

        const { change, undo } = tamper(entries, seals);
        await change();
        const report = await verify(HOSTS.acme, tokens.alice);
        expect(report.valid).toBe(false);
        expect(report.problems.map((problem) => problem.kind)).toEqual(expect.arrayContaining([...kinds]));

        await undo();
        expect(await verify(HOSTS.acme, tokens.alice)).toMatchObject({ valid: true, problems: [] });
      });
    }

    it('seals and verifies even when another sealer’s clock ran ahead of this one', async () => {
      const globex = (await t.core.hosts.resolve(HOSTS.globex)) as TenantContext;
      await t.core.audit.record(globex, {
        actor: { username: 'test', via: 'system' },
        action: 'test.mark',
        target: 'clock',
      });
      const ahead = new AuditLog({
        table: t.core.table,
        settleMs: 0,
        now: () => new Date(Date.now() + 5000),
      });
      expect(await ahead.seal(globex)).toBeGreaterThan(0);
      const behind = new AuditLog({ table: t.core.table, now: () => new Date(Date.now() - 5000) });
      expect(await behind.seal(globex)).toBe(0);
      expect(await verify(HOSTS.globex, tokens.gina)).toMatchObject({ valid: true, problems: [] });
    });

    it('keeps each domain its own chain', async () => {
      const publicRows = await rows(publicPk);
      expect(publicRows.some((row) => row.type === 'AUDIT' && row.target === 'user:alice')).toBe(false);
      expect((await verify(HOSTS.globex, tokens.gina)).valid).toBe(true);
      expect((await verify(HOSTS.admin, tokens.admin)).valid).toBe(true);
    });
  });
});

// Open bug in functions/http/routes/templates.ts (not fixed here, see the report): the template
// routes have no surface guard, so a session bound to the free host would be served them. Left
// uncommitted until the governance API refuses every caller route on the free entry.
describe('the free entry, for every governance route', () => {
  it('serves a caller nothing', async () => {
    const session = await t.core.auth.login(await t.core.hosts.resolve(HOSTS.free), 'admin', PASSWORD);
    const served: string[] = [];
    for (const { route, name } of (await enumerateRoutes(t.core)).governance) {
      if (route.auth === 'anonymous') continue;
      const body = sampleBody(route);
      const response = await t.send({
        host: HOSTS.free,
        path: fillPath(route.path, () => 'acme'),
        method: route.method,
        token: session.token,
        ...(body === undefined ? {} : { body }),
      });
      if (response.status < 400) served.push(`${name} → ${response.status}`);
    }
    expect(served).toEqual([]);
  });
});
