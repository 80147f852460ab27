/**
 * The per-process session cache, attacked (docs/decisions/session-cache.md). Over HTTP against the
 * embedded platform, every session is first used twice so the platform holds it in its cache; then
 * what must end it ends it on the very next request: sign-out, sign-out everywhere, a disabling, a
 * new password, a change of roles or of a role's permissions. A suspended tenant's cached session
 * runs nothing; a token cached on one tenant's host signs in on no other host. Against the core,
 * with the store's requests counted: a cached session skips its read, another process (another Auth
 * on the same table) sees a sign-out within the cache's lifetime and never later, and an entry
 * never outlives its session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../../functions/core/identity/auth.ts';
import { DEFAULT_SESSION_CACHE_MS } from '../../functions/core/identity/session-cache.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'session-cache-suite-password';
let t: TestPlatform;
let alice: string;
let root: string;
let acme: TenantContext;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  [alice, root] = await Promise.all([t.login(HOSTS.acme, 'alice'), t.login(HOSTS.admin, 'admin')]);
  acme = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
});
afterAll(async () => {
  await t?.stop();
});

function me(host: string, token: string) {
  return t.send({ host, path: '/api/me', token });
}

/** Uses a session twice: from the second request on, the platform answers it from its cache. */
async function cached(host: string, token: string): Promise<void> {
  for (let i = 0; i < 2; i++) expect((await me(host, token)).status).toBe(200);
}

async function newUser(username: string, roles: string[]): Promise<string> {
  const created = await t.send({
    host: HOSTS.acme,
    path: '/api/users',
    method: 'POST',
    token: alice,
    body: { username, password: PASSWORD, roles },
  });
  expect(created.status, created.text).toBe(201);
  return t.login(HOSTS.acme, username);
}

function patchUser(username: string, body: Record<string, unknown>) {
  return t.send({ host: HOSTS.acme, path: `/api/users/${username}`, method: 'PATCH', token: alice, body });
}

describe('a cached session ends on the next request', () => {
  it('when it signs out — and only that session', async () => {
    const [first, second] = [await t.login(HOSTS.acme, 'alice'), await t.login(HOSTS.acme, 'alice')];
    await cached(HOSTS.acme, first);
    await cached(HOSTS.acme, second);
    const out = await t.send({ host: HOSTS.acme, path: '/api/auth/logout', method: 'POST', token: first });
    expect(out.status).toBe(204);
    const refused = await me(HOSTS.acme, first);
    expectProblem(refused, 401, 'signed-out token');
    expect(refused.body.type).toBe(problemType('unauthenticated'));
    expect((await me(HOSTS.acme, second)).status).toBe(200);
  });

  it('when its user signs out everywhere', async () => {
    const [here, there] = [await newUser('sam', ['viewer']), await t.login(HOSTS.acme, 'sam')];
    await cached(HOSTS.acme, here);
    await cached(HOSTS.acme, there);
    const out = await t.send({
      host: HOSTS.acme,
      path: '/api/auth/logout-everywhere',
      method: 'POST',
      token: here,
    });
    expect(out.status).toBe(204);
    expectProblem(await me(HOSTS.acme, here), 401, 'the session that signed out everywhere');
    expectProblem(await me(HOSTS.acme, there), 401, 'another session of that user');
  });

  it('when its user is disabled (suspended), and stays ended once re-enabled', async () => {
    const session = await newUser('dina', ['operator']);
    await cached(HOSTS.acme, session);
    expect((await patchUser('dina', { disabled: true })).status).toBe(200);
    expectProblem(await me(HOSTS.acme, session), 401, 'disabled user');
    expectProblem(await t.send({ host: HOSTS.acme, path: '/api/skills', token: session }), 401, 'skills');
    expect((await patchUser('dina', { disabled: false })).status).toBe(200);
    expectProblem(await me(HOSTS.acme, session), 401, 'session from before the disabling');
  });

  it('when its user is given a new password', async () => {
    const session = await newUser('pia', ['viewer']);
    await cached(HOSTS.acme, session);
    expect((await patchUser('pia', { password: 'another-password-123' })).status).toBe(200);
    expectProblem(await me(HOSTS.acme, session), 401, 'session from before the new password');
  });

  it('loses a role taken away at once, and gains none it was not given', async () => {
    const session = await newUser('ravi', ['operator']);
    await cached(HOSTS.acme, session);
    expect((await me(HOSTS.acme, session)).body.permissions).toContain('skill:run');
    expect((await patchUser('ravi', { roles: ['viewer'] })).status).toBe(200);
    const after = await me(HOSTS.acme, session);
    expect(after.body.roles).toEqual(['viewer']);
    expect(after.body.permissions).not.toContain('skill:run');
    expectProblem(
      await t.send({ host: HOSTS.acme, path: '/api/users', token: session }),
      403,
      'a viewer listing users',
    );
  });

  it('loses a permission taken out of its custom role at once', async () => {
    const role = await t.send({
      host: HOSTS.acme,
      path: '/api/roles',
      method: 'POST',
      token: alice,
      body: { name: 'user-clerk', permissions: ['user:manage'] },
    });
    expect(role.status, role.text).toBe(201);
    const session = await newUser('cleo', ['user-clerk']);
    await cached(HOSTS.acme, session);
    expect((await t.send({ host: HOSTS.acme, path: '/api/users', token: session })).status).toBe(200);
    const narrowed = await t.send({
      host: HOSTS.acme,
      path: '/api/roles/user-clerk',
      method: 'PUT',
      token: alice,
      body: { permissions: ['skill:read'] },
    });
    expect(narrowed.status, narrowed.text).toBe(200);
    expectProblem(
      await t.send({ host: HOSTS.acme, path: '/api/users', token: session }),
      403,
      'the narrowed role',
    );
  });
});

describe('a cached session is still bound to its tenant', () => {
  it("signs in on no other tenant's host, nor on the platform's own", async () => {
    await cached(HOSTS.acme, alice);
    for (const host of [HOSTS.globex, HOSTS.admin]) {
      const refused = await me(host, alice);
      expectProblem(refused, 401, `acme's cached token on ${host}`);
      expect(refused.body.type).toBe(problemType('unauthenticated'));
    }
    // And the core refuses it for another tenant's domain, whatever the cache holds.
    const globex = (await t.core.hosts.resolve(HOSTS.globex)) as TenantContext;
    await t.core.auth.authenticate(acme, `Bearer ${alice}`);
    await t.core.auth.authenticate(acme, `Bearer ${alice}`);
    await expect(t.core.auth.authenticate(globex, `Bearer ${alice}`)).rejects.toMatchObject({
      name: 'AuthenticationError',
    });
  });

  it('runs nothing once its tenant is suspended (reading stays allowed, as designed)', async () => {
    const skills = await t.send({ host: HOSTS.acme, path: '/api/skills', token: alice });
    expect(skills.status, skills.text).toBe(200);
    const skill = (skills.body.items as { id: string; state: string }[]).find((s) => s.state === 'active');
    expect(skill, 'an active demo Skill').toBeDefined();
    await cached(HOSTS.acme, alice);
    const suspend = (status: string) =>
      t.send({
        host: HOSTS.admin,
        path: '/api/tenants/acme',
        method: 'PATCH',
        token: root,
        body: { status },
      });
    expect((await suspend('suspended')).status).toBe(200);
    try {
      const refused = await t.send({
        host: HOSTS.acme,
        path: `/api/skills/${skill?.id}/executions`,
        method: 'POST',
        token: alice,
        body: { input: { name: 'cached' } },
      });
      expectProblem(refused, 403, 'a run of a suspended tenant');
      expect(refused.body.type).toBe(problemType('tenant-suspended'));
    } finally {
      expect((await suspend('active')).status).toBe(200);
    }
  });
});

describe('the cache in the core', () => {
  /** A second Auth on the same table: another Lambda container, with its own cache and clock. */
  function otherProcess(clock: { now: number }) {
    return new Auth({
      table: t.core.table,
      directory: t.core.directory,
      audit: t.core.audit,
      tokenSecret: t.tokenSecret,
      now: () => new Date(clock.now),
    });
  }

  /** Counts the BatchGet requests the suite's table client sends until `stop`. */
  function countBatchGets(): { readonly count: () => number; readonly stop: () => void } {
    let count = 0;
    const name = 'count-batch-gets';
    t.core.table.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'BatchGetItemCommand') count++;
        return next(args);
      },
      { step: 'initialize', name },
    );
    return { count: () => count, stop: () => void t.core.table.client.middlewareStack.remove(name) };
  }

  it('answers a cached session without reading the store, and reads again once the entry ends', async () => {
    const clock = { now: Date.now() };
    const auth = otherProcess(clock);
    const { token } = await auth.login(acme, 'alice', PASSWORD);
    const reads = countBatchGets();
    try {
      await auth.authenticate(acme, `Bearer ${token}`);
      await auth.authenticate(acme, `Bearer ${token}`);
      await auth.authenticateSessionToken(acme, token);
      expect(reads.count()).toBe(1);
      clock.now += DEFAULT_SESSION_CACHE_MS;
      await auth.authenticate(acme, `Bearer ${token}`);
      expect(reads.count()).toBe(2);
    } finally {
      reads.stop();
    }
  });

  it('sees a sign-out made by another process within its lifetime, never later', async () => {
    const clock = { now: Date.now() };
    const elsewhere = otherProcess(clock);
    const session = await t.core.auth.login(acme, 'alice', PASSWORD);
    const caller = await elsewhere.authenticate(acme, `Bearer ${session.token}`);
    await t.core.auth.logout(acme, await t.core.auth.authenticate(acme, `Bearer ${session.token}`));
    // The process that signed it out refuses it at once…
    await expect(t.core.auth.authenticate(acme, `Bearer ${session.token}`)).rejects.toMatchObject({
      name: 'AuthenticationError',
    });
    // …another may still take it until its entry ends, and not a millisecond later.
    clock.now += DEFAULT_SESSION_CACHE_MS - 1;
    expect((await elsewhere.authenticate(acme, `Bearer ${session.token}`)).credentialId).toBe(
      caller.credentialId,
    );
    clock.now += 1;
    await expect(elsewhere.authenticate(acme, `Bearer ${session.token}`)).rejects.toMatchObject({
      name: 'AuthenticationError',
    });
  });

  it('never keeps a session past its own end', async () => {
    const clock = { now: Date.now() };
    const shortLived = new Auth({
      table: t.core.table,
      directory: t.core.directory,
      audit: t.core.audit,
      tokenSecret: t.tokenSecret,
      now: () => new Date(clock.now),
      sessionSeconds: 2,
    });
    const { token } = await shortLived.login(acme, 'alice', PASSWORD);
    await shortLived.authenticate(acme, `Bearer ${token}`);
    clock.now += 2_000;
    await expect(shortLived.authenticate(acme, `Bearer ${token}`)).rejects.toMatchObject({
      name: 'AuthenticationError',
    });
  });
});
