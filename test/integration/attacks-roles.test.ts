/**
 * An attacker's pass at custom roles, through the real local platform, as a role manager holding
 * `role:manage` and little else.
 *
 * - Changing a role checked only the permissions it was given, not those it held: a role manager
 *   could strip a role of what they lack (an admin's helpers lost `skill:run`), and deleting one
 *   checked nothing but built-in status. Changing or deleting a custom role now needs every
 *   permission it holds as it is now (403 naming those lacked).
 * - A deleted role stayed on its users, granting nothing until a role of the same name was created:
 *   then it silently granted that role's permissions to them. A role still held is not deleted (409
 *   naming how many hold it), and a role is not created under a name users still hold.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userKey } from '../../functions/core/identity/directory-repository.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { caller, expectProblem, HOSTS, startTestPlatform } from '../support/platform.ts';
import { unique } from '../support/runs.ts';

const PASSWORD = 'attacks-roles-password';
const t = await startTestPlatform(PASSWORD);
let alice: ReturnType<typeof caller>;
/** rita holds role:manage only. */
let rita: ReturnType<typeof caller>;

/** A fresh role name (role names: a-z, 0-9, hyphens). */
function roleName(prefix: string): string {
  return unique(prefix).replace(/[^a-z0-9-]/g, '');
}

async function createRole(name: string, permissions: readonly string[]): Promise<void> {
  const made = await alice('POST', '/api/roles', { name, permissions });
  expect(made.status, made.text).toBe(201);
}

/** A new acme user holding `roles`, signed in. */
async function user(roles: readonly string[]): Promise<{ username: string; api: ReturnType<typeof caller> }> {
  const username = roleName('u');
  const made = await alice('POST', '/api/users', { username, password: `${username}-password`, roles });
  expect(made.status, made.text).toBe(201);
  return {
    username,
    api: caller(t, HOSTS.acme, await t.login(HOSTS.acme, username, `${username}-password`)),
  };
}

async function roleNamed(name: string): Promise<{ permissions: string[] } | undefined> {
  const listed = await alice('GET', '/api/roles');
  expect(listed.status, listed.text).toBe(200);
  return listed.body.items.find((role: { name: string }) => role.name === name);
}

beforeAll(async () => {
  alice = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
  const rolemgr = roleName('rolemgr');
  await createRole(rolemgr, ['role:manage']);
  rita = (await user([rolemgr])).api;
}, 120_000);

afterAll(async () => {
  await t.stop();
});

describe('a role manager and roles holding more than they do', () => {
  it('cannot narrow, strip or rewrite a role holding permissions they lack', async () => {
    const custom = roleName('custom');
    await createRole(custom, ['skill:read', 'skill:run']);
    for (const permissions of [['role:manage'], []]) {
      const changed = await rita('PUT', `/api/roles/${custom}`, { permissions });
      expectProblem(changed, 403, `to ${permissions.join() || 'nothing'}`);
      expect(changed.body.detail).toContain('skill:run');
      expect(changed.body.permissions).toEqual(expect.arrayContaining(['skill:run']));
    }
    // Keeping what the role holds and they lack is granting it anew, refused as ever.
    expectProblem(await rita('PUT', `/api/roles/${custom}`, { permissions: ['skill:read'] }), 403);
    expect((await roleNamed(custom))?.permissions).toEqual(['skill:read', 'skill:run']);
  });

  it('cannot delete a role holding permissions they lack, held or not', async () => {
    const custom = roleName('custom');
    await createRole(custom, ['skill:read', 'skill:run']);
    const usermgr = roleName('usermgr');
    await createRole(usermgr, ['user:manage']);
    const mallory = await user([usermgr]);
    for (const name of [custom, usermgr]) {
      const deleted = await rita('DELETE', `/api/roles/${name}`);
      expectProblem(deleted, 403, name);
      expect(deleted.text).not.toContain('role:manage');
    }
    expect(await roleNamed(custom)).toBeDefined();
    const me = await mallory.api('GET', '/api/me');
    expect(me.body.roles).toEqual([usermgr]);
    expect(me.body.permissions).toContain('user:manage');
  });

  it('still changes and deletes roles holding nothing beyond their own', async () => {
    const mine = roleName('mine');
    await createRole(mine, []);
    const widened = await rita('PUT', `/api/roles/${mine}`, { permissions: ['role:manage'] });
    expect(widened.status, widened.text).toBe(200);
    const narrowed = await rita('PUT', `/api/roles/${mine}`, { permissions: [] });
    expect(narrowed.status, narrowed.text).toBe(200);
    expect((await rita('DELETE', `/api/roles/${mine}`)).status).toBe(204);
    expect(await roleNamed(mine)).toBeUndefined();
  });

  it('answers odd, built-in and missing names with a problem, never a 500', async () => {
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'a%2Fb',
      'a%00b',
      'A'.repeat(300),
      'x'.repeat(41),
    ]) {
      expectProblem(await rita('DELETE', `/api/roles/${name}`), [404, 422], name);
      expectProblem(await rita('PUT', `/api/roles/${name}`, { permissions: [] }), [404, 422], name);
    }
    expectProblem(await rita('DELETE', `/api/roles/${roleName('nope')}`), 404);
    expectProblem(await rita('PUT', `/api/roles/${roleName('nope')}`, { permissions: [] }), 404);
    expectProblem(await alice('DELETE', '/api/roles/admin'), 409);
    // `constructor` is no built-in role (it was, as a key of a plain object): only missing.
    const notBuiltIn = await alice('DELETE', '/api/roles/constructor');
    expectProblem(notBuiltIn, 404);
    expect(notBuiltIn.body.detail).not.toContain('built-in');
  });
});

describe('a deleted role never lingers on users', () => {
  it('is not deleted while users hold it, even by an admin; once taken from them, it is', async () => {
    const usermgr = roleName('usermgr');
    await createRole(usermgr, ['user:manage']);
    const mallory = await user([usermgr]);
    const other = await user([usermgr, 'viewer']);
    const refused = await alice('DELETE', `/api/roles/${usermgr}`);
    expectProblem(refused, 409);
    expect(refused.body.holders).toBe(2);
    expect(refused.body.detail).toContain('2 users');
    expect(await roleNamed(usermgr)).toBeDefined();
    expect((await mallory.api('GET', '/api/me')).body.permissions).toContain('user:manage');

    expect((await alice('PATCH', `/api/users/${other.username}`, { roles: ['viewer'] })).status).toBe(200);
    const still = await alice('DELETE', `/api/roles/${usermgr}`);
    expectProblem(still, 409);
    expect(still.body.holders).toBe(1);
    expect(still.body.detail).toContain('1 user');

    expect((await alice('PATCH', `/api/users/${mallory.username}`, { roles: [] })).status).toBe(200);
    expect((await alice('DELETE', `/api/roles/${usermgr}`)).status).toBe(204);
    // A role created later under that name grants nothing to its former holders.
    await createRole(usermgr, ['user:manage', 'audit:read']);
    const me = await mallory.api('GET', '/api/me');
    expect(me.body.roles).toEqual([]);
    expect(me.body.permissions).not.toContain('user:manage');
  });

  it('is not created again under a name users still hold (a role deleted before this mend)', async () => {
    // A holder left behind, as the old deletion (or an assignment racing a deletion) left them.
    const ghost = roleName('ghost');
    const mallory = await user(['viewer']);
    const domain = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    await t.core.table.client.send(
      new UpdateCommand({
        TableName: t.core.table.name,
        Key: userKey(domain, mallory.username),
        UpdateExpression: 'SET #roles = :roles',
        ExpressionAttributeNames: { '#roles': 'roles' },
        ExpressionAttributeValues: { ':roles': ['viewer', ghost] },
      }),
    );
    const recreated = await alice('POST', '/api/roles', { name: ghost, permissions: ['user:manage'] });
    expectProblem(recreated, 409);
    expect(recreated.body.holders).toBe(1);
    expect(recreated.body.detail).toContain(ghost);
    expect(await roleNamed(ghost)).toBeUndefined();
    expect((await mallory.api('GET', '/api/me')).body.permissions).not.toContain('user:manage');
    // The admin takes the leftover away; then the name is free.
    expect((await alice('PATCH', `/api/users/${mallory.username}`, { roles: ['viewer'] })).status).toBe(200);
    await createRole(ghost, ['user:manage']);
    expect((await mallory.api('GET', '/api/me')).body.permissions).not.toContain('user:manage');
  });

  it('holds against assignments racing the deletion: a later role of that name reaches no one', async () => {
    for (let round = 0; round < 5; round++) {
      const contested = roleName('contested');
      await createRole(contested, ['skill:read']);
      const target = await user(['viewer']);
      const [assigned, deleted] = await Promise.all([
        alice('PATCH', `/api/users/${target.username}`, { roles: ['viewer', contested] }),
        alice('DELETE', `/api/roles/${contested}`),
      ]);
      expect([200, 409, 422], assigned.text).toContain(assigned.status);
      expect([204, 409], deleted.text).toContain(deleted.status);
      // Whichever came first (or the residual race of directory.ts `deleteRole`, which leaves the
      // name on the user with the role gone), a role made now under that name gives the user nothing
      // they were not given.
      const again = await alice('POST', '/api/roles', { name: contested, permissions: ['user:manage'] });
      if (again.status !== 201) expectProblem(again, 409, `round ${round}`);
      expect((await target.api('GET', '/api/me')).body.permissions).not.toContain('user:manage');
    }
  });
});

describe('the governance console', () => {
  it('lets nobody change roles there, a super-admin included: its domain has no role:manage', async () => {
    const admin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
    expectProblem(await admin('POST', '/api/roles', { name: 'pub-role', permissions: ['audit:read'] }), 403);
    expectProblem(await admin('PUT', '/api/roles/pub-role', { permissions: [] }), 403);
    expectProblem(await admin('DELETE', '/api/roles/pub-role'), 403);
    expectProblem(await admin('DELETE', '/api/roles/billing'), 403);
  });
});
