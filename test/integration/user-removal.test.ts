/**
 * Removing a user (`DELETE /api/users/{username}`), over real HTTP through the local edge router, as
 * an attacker would try it: another tenant's user, a lesser user admin removing a more privileged
 * one, oneself, the last user admin (two admins removing each other at once), a name that is no
 * user. Once removed, every credential of theirs is refused (session, access token, AI client), the
 * name is never made again, what they owned is tidied (runs waiting for them, runs nobody left could
 * approve, schedules), and on the free plan their place is given back. A removal stopped midway is
 * finished by the next call. And a paid tenant moved back to the free plan is counted from its real
 * users, not from the count of its earlier free days.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANT_PERMISSIONS } from '../../functions/contract/permissions.ts';
import { tenantDomain } from '../../functions/core/governance/acting.ts';
import type { Caller } from '../../functions/core/identity/caller.ts';
import { DirectoryRepository } from '../../functions/core/identity/directory-repository.ts';
import { McpClientRepository } from '../../functions/core/mcp/client-repository.ts';
import { addresses, signUp } from '../support/free.ts';
import {
  caller,
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

const PASSWORD = 'demo-password-for-user-removal';
const USER_PASSWORD = 'a user passphrase of some length';
const SPACE_PASSWORD = 'a long personal passphrase';

let t: TestPlatform;
let gina: ReturnType<typeof caller>;
let superAdmin: ReturnType<typeof caller>;
const address = addresses(230);

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  gina = caller(t, HOSTS.globex, await t.login(HOSTS.globex, 'gina'));
  superAdmin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

async function addUser(
  as: ReturnType<typeof caller>,
  username: string,
  roles: readonly string[],
): Promise<void> {
  const created = await as('POST', '/api/users', { username, password: USER_PASSWORD, roles });
  expect(created.status, created.text).toBe(201);
}

async function usernames(as: ReturnType<typeof caller>): Promise<string[]> {
  const listed = await as('GET', '/api/users?limit=100');
  expect(listed.status, listed.text).toBe(200);
  return listed.body.items.map((user: { username: string }) => user.username).sort();
}

async function gatedSkill(as: ReturnType<typeof caller>, approval: 'one' | 'two'): Promise<string> {
  const script = await as('POST', '/api/assets/scripts', {
    name: `s${Math.random().toString(36).slice(2, 8)}.py`,
    source: 'def main(inputs, ctx):\n    return {}\n',
  });
  expect(script.status, script.text).toBe(201);
  const skill = await as('POST', '/api/skills', {
    name: `Transfer ${Math.random().toString(36).slice(2, 8)}`,
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    risk: approval === 'one' ? 'medium' : 'high',
    approval,
    asset: { kind: 'python-script', id: script.body.id, version: 'active' },
    limits: { timeoutSeconds: 10 },
  });
  expect(skill.status, skill.text).toBe(201);
  return String(skill.body.id);
}

describe('removing a user is refused', () => {
  it('for another tenant’s user, oneself, a name that is no user, and without user:manage', async () => {
    await addUser(gina, 'rm-target', ['operator']);
    const alice = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
    // Another tenant's user is no user here: 404, and nothing changes there.
    expectProblem(await alice('DELETE', '/api/users/rm-target'), 404, 'another tenant’s user');
    expectProblem(await alice('DELETE', '/api/users/gina'), 404, 'another tenant’s admin');
    // Nor does a token of one host work on another's.
    const crossHost = await t.send({
      host: HOSTS.globex,
      method: 'DELETE',
      path: '/api/users/rm-target',
      token: await t.login(HOSTS.acme, 'alice'),
    });
    expectProblem(crossHost, 401, 'acme’s session on globex');
    expect(await usernames(gina)).toContain('rm-target');

    const self = await gina('DELETE', '/api/users/gina');
    expectProblem(self, 403, 'oneself');
    expect(String(self.body.detail)).toMatch(/your own account/);
    expectProblem(await gina('DELETE', '/api/users/nobody-here'), 404, 'no such user');
    expectProblem(await gina('DELETE', '/api/users/Not%20A%20Name'), 404, 'not a username');

    const operator = caller(t, HOSTS.globex, await t.login(HOSTS.globex, 'rm-target', USER_PASSWORD));
    expectProblem(await operator('DELETE', '/api/users/gina'), 403, 'an operator');
    expect(await usernames(gina)).toEqual(expect.arrayContaining(['gina', 'rm-target']));
  }, 60_000);

  it('for a lesser user admin removing a user who holds more', async () => {
    const role = await gina('POST', '/api/roles', {
      name: 'user-clerk',
      permissions: ['user:manage', 'skill:read'],
    });
    expect(role.status, role.text).toBe(201);
    await addUser(gina, 'rm-clerk', ['user-clerk']);
    await addUser(gina, 'rm-admin', ['admin']);
    await addUser(gina, 'rm-viewer', ['viewer']);
    const clerk = caller(t, HOSTS.globex, await t.login(HOSTS.globex, 'rm-clerk', USER_PASSWORD));
    const refused = await clerk('DELETE', '/api/users/rm-admin');
    expectProblem(refused, 403, 'a clerk removing an admin');
    expect(String(refused.body.detail)).toMatch(/holds permissions you lack/);
    expectProblem(await clerk('DELETE', '/api/users/gina'), 403, 'a clerk removing the first admin');
    expect(await usernames(gina)).toEqual(expect.arrayContaining(['gina', 'rm-admin']));
    // A viewer holds execution:read, which the clerk lacks; a user of no role holds nothing.
    expectProblem(await clerk('DELETE', '/api/users/rm-viewer'), 403, 'a clerk removing a viewer');
    await addUser(gina, 'rm-nobody', []);
    expect((await clerk('DELETE', '/api/users/rm-nobody')).status).toBe(204);
  }, 60_000);

  it('for the last user admin: two admins removing each other at once never both go', async () => {
    // A tenant of its own with two admins and nobody else who may manage users.
    const { owner, host } = await space('rm-pair');
    await addUser(owner, 'rm-pair-two', ['admin']);
    const two = caller(t, host, await t.login(host, 'rm-pair-two', USER_PASSWORD));
    const [first, second] = await Promise.all([
      owner('DELETE', '/api/users/rm-pair-two'),
      two('DELETE', '/api/users/rm-pair'),
    ]);
    const statuses = [first.status, second.status];
    expect(statuses.filter((status) => status === 204).length, `${first.text} ${second.text}`).toBeLessThan(
      2,
    );
    for (const answer of [first, second]) {
      if (answer.status !== 204) expectProblem(answer, [401, 409], 'the other removal');
    }
    // Someone who may manage users is left, and signs in.
    const left = await t.core.directory.usernames(tenantDomain(await t.core.tenants.get('p-rm-pair')));
    expect(left.length).toBeGreaterThanOrEqual(1);
    const survivor = left[0] as string;
    await t.login(host, survivor, survivor === 'rm-pair' ? SPACE_PASSWORD : USER_PASSWORD);
  }, 60_000);

  it('for the last user admin, whoever asks', async () => {
    const { host } = await space('rm-last');
    const domain = tenantDomain(await t.core.tenants.get('p-rm-last'));
    // A caller holding user:manage who is no active user admin here (a session another process still
    // held, its user disabled meanwhile): the owner is the last one, and stays.
    const ghost: Caller = {
      username: 'ghost',
      roles: [],
      permissions: new Set(TENANT_PERMISSIONS),
      superAdmin: false,
      via: 'session',
      credentialId: 'test',
    };
    await expect(t.core.directory.removeUser(domain, 'rm-last', ghost)).rejects.toMatchObject({
      code: 'last-user-admin',
    });
    await t.login(host, 'rm-last', SPACE_PASSWORD);
  }, 60_000);
});

/** Signs `handle` up (no templates) and answers the space's host and its owner's requests. */
async function space(handle: string): Promise<{ host: string; owner: ReturnType<typeof caller> }> {
  const signed = await signUp(
    t,
    { handle, email: `${handle}@example.com`, password: SPACE_PASSWORD, templates: [] },
    address(),
  );
  expect(signed.status, signed.text).toBe(201);
  const host = String(signed.body.host);
  return { host, owner: caller(t, host, await t.login(host, handle, SPACE_PASSWORD)) };
}

describe('a removed user', () => {
  it('is refused with every credential, and their name is not given again', async () => {
    await addUser(gina, 'rm-leaver', ['operator']);
    const session = await t.login(HOSTS.globex, 'rm-leaver', USER_PASSWORD);
    const leaver = caller(t, HOSTS.globex, session);
    const token = await leaver('POST', '/api/tokens', { name: 'cli', scopes: ['skill:read'] });
    expect(token.status, token.text).toBe(201);
    const skillId = await gatedSkill(gina, 'one');
    const client = await leaver('POST', '/api/mcp-clients', { name: 'Agent', skills: [skillId] });
    expect(client.status, client.text).toBe(201);
    const mcp = (bearer: string) =>
      t.send({
        host: HOSTS.globex,
        path: '/mcp',
        method: 'POST',
        token: bearer,
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      });
    // Each works before.
    expect((await leaver('GET', '/api/me')).status).toBe(200);
    expect((await caller(t, HOSTS.globex, token.body.token)('GET', '/api/me')).status).toBe(200);
    expect((await mcp(client.body.token)).status).toBe(200);

    const removed = await gina('DELETE', '/api/users/rm-leaver');
    expect(removed.status, removed.text).toBe(204);

    expectProblem(await leaver('GET', '/api/me'), 401, 'their session');
    expectProblem(
      await caller(t, HOSTS.globex, token.body.token)('GET', '/api/me'),
      401,
      'their access token',
    );
    expect((await mcp(client.body.token)).status).toBe(401);
    const signIn = await t.send({
      host: HOSTS.globex,
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'rm-leaver', password: USER_PASSWORD },
    });
    expectProblem(signIn, 401, 'signing in');

    // Gone from the users; no change of them, and their name is kept for their history.
    expect(await usernames(gina)).not.toContain('rm-leaver');
    expectProblem(await gina('PATCH', '/api/users/rm-leaver', { disabled: false }), 404, 'a change');
    const again = await gina('POST', '/api/users', {
      username: 'rm-leaver',
      password: USER_PASSWORD,
      roles: ['operator'],
    });
    expectProblem(again, 409, 'their name again');
    expect(String(again.body.detail)).toMatch(/removed user/);

    // Their AI client is revoked as well as refused; the audit says who removed whom.
    const stored = await new McpClientRepository(t.core.table).find(
      tenantDomain(await t.core.tenants.get('globex')),
      String(client.body.id),
    );
    expect(stored).toMatchObject({ revoked: true });
    const audit = await gina('GET', '/api/audit?action=user.removed&limit=100');
    expect(audit.status, audit.text).toBe(200);
    expect(
      audit.body.items.find((entry: { target: string }) => entry.target === 'user:rm-leaver'),
    ).toMatchObject({ actor: { username: 'gina' }, details: { roles: ['operator'] } });
    const revoked = await gina('GET', '/api/audit?action=token.revoked&limit=100');
    expect(
      revoked.body.items.some((entry: { target: string }) => entry.target === `token:${token.body.id}`),
    ).toBe(true);
    const verified = await gina('GET', '/api/audit/verify');
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body.valid).toBe(true);
  }, 60_000);

  it('leaves no run to start as them, nor one nobody left could approve; their schedules pause', async () => {
    // A space of three: its owner (admin) and two operators, each of whom may approve.
    const { owner, host } = await space('rm-runs');
    await addUser(owner, 'rm-runs-ann', ['operator']);
    await addUser(owner, 'rm-runs-ben', ['operator']);
    const ann = caller(t, host, await t.login(host, 'rm-runs-ann', USER_PASSWORD));
    const ben = caller(t, host, await t.login(host, 'rm-runs-ben', USER_PASSWORD));
    const one = await gatedSkill(owner, 'one');
    const two = await gatedSkill(owner, 'two');
    const run = async (who: ReturnType<typeof caller>, skillId: string) => {
      const asked = await who('POST', `/api/skills/${skillId}/executions`, { input: {} });
      expect(asked.status, asked.text).toBe(202);
      expect(asked.body.status).toBe('pending_approval');
      return String(asked.body.id);
    };
    const status = async (id: string) => {
      const read = await owner('GET', `/api/executions/${id}`);
      expect(read.status, read.text).toBe(200);
      return read.body;
    };
    const bens = await run(ben, one); // approved, it would start as ben
    const ownersOne = await run(owner, one); // ann may still approve it
    const ownersTwo = await run(owner, two); // needs ann and ben
    const anns = await run(ann, two); // needs the owner and ben; ben approves now
    const vote = await ben('POST', `/api/executions/${anns}/approve`, { comment: 'fine' });
    expect(vote.status, vote.text).toBe(200);
    const schedule = await ben('POST', '/api/schedules', {
      name: 'Nightly',
      skillId: one,
      input: {},
      timing: { kind: 'cron', expression: '0 3 * * *' },
    });
    expect(schedule.status, schedule.text).toBe(201);

    expect((await owner('DELETE', '/api/users/rm-runs-ben')).status).toBe(204);

    expect(await status(bens)).toMatchObject({ status: 'cancelled', error: { type: 'RequesterRemoved' } });
    expect(await status(ownersTwo)).toMatchObject({
      status: 'cancelled',
      error: { type: 'ApproversUnavailable' },
    });
    expect((await status(ownersOne)).status).toBe('pending_approval');
    // Ben's vote was cast while he could decide: it stays, and the owner's gives the second.
    expect((await status(anns)).status).toBe('pending_approval');
    const second = await owner('POST', `/api/executions/${anns}/approve`, { comment: 'ok' });
    expect(second.status, second.text).toBe(200);
    expect(second.body.status).not.toBe('pending_approval');
    // Kept for a schedule manager to take over or delete; a fire would only be skipped.
    const paused = await owner('GET', `/api/schedules/${schedule.body.id}`);
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ state: 'paused', owner: 'rm-runs-ben' });
    // Resumed as it is, every fire would be skipped: the manager is told to take it over first.
    const resumed = await owner('POST', `/api/schedules/${schedule.body.id}/resume`);
    expectProblem(resumed, 409, 'resuming a removed owner’s schedule');
    expect(resumed.body).toMatchObject({ owner: 'rm-runs-ben' });
    expect(resumed.body.detail).toContain('save the schedule to become its owner');
    const saved = await owner('PUT', `/api/schedules/${schedule.body.id}`, {
      name: 'Nightly',
      skillId: one,
      input: {},
      timing: { kind: 'cron', expression: '0 3 * * *' },
      enabled: false,
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({ owner: 'rm-runs', state: 'paused' });
    const taken = await owner('POST', `/api/schedules/${schedule.body.id}/resume`);
    expect(taken.status, taken.text).toBe(200);
    expect(taken.body).toMatchObject({ owner: 'rm-runs', state: 'enabled' });
  }, 90_000);
});

describe('the free plan’s place of a removed user', () => {
  it('is given back: a fourth user can be made after one is removed', async () => {
    const { owner } = await space('rm-free');
    await addUser(owner, 'rm-free-two', ['operator']);
    await addUser(owner, 'rm-free-three', ['operator']);
    const full = await owner('POST', '/api/users', {
      username: 'rm-free-four',
      password: USER_PASSWORD,
      roles: ['operator'],
    });
    expectProblem(full, 403, 'a fourth user');
    expect(full.body.type).toBe(problemType('plan-limit'));

    expect((await owner('DELETE', '/api/users/rm-free-three')).status).toBe(204);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 2, limit: 3, remaining: 1 });
    await addUser(owner, 'rm-free-four', ['operator']);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
    // Removing the same user again is answered as done, and gives back nothing more.
    expect((await owner('DELETE', '/api/users/rm-free-three')).status).toBe(204);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
  }, 60_000);

  it('is given back by the next call when a removal stopped before it did', async () => {
    const { owner } = await space('rm-crash');
    await addUser(owner, 'rm-crash-two', ['operator']);
    await addUser(owner, 'rm-crash-three', ['operator']);
    const domain = tenantDomain(await t.core.tenants.get('p-rm-crash'));
    const store = new DirectoryRepository(t.core.table);
    // The removal's one write landed, and the process stopped there: the place is still taken.
    const crash = async (username: string) => {
      const user = await store.getUser(domain, username, true);
      await store.removeUser(domain, username, String(user?.updatedAt), new Date().toISOString(), 'rm-crash');
    };
    await crash('rm-crash-three');
    expect((await owner('GET', '/api/usage')).body.users.used).toBe(3);
    // The next creation finds the space full, gives back the removed user's place, and takes it.
    await addUser(owner, 'rm-crash-four', ['operator']);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
    expectProblem(
      await owner('POST', '/api/users', { username: 'rm-crash-five', password: USER_PASSWORD, roles: [] }),
      403,
      'full again',
    );
    // Or the removal asked again: answered as done, and its place given back.
    await crash('rm-crash-two');
    expect((await owner('DELETE', '/api/users/rm-crash-two')).status).toBe(204);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 2, limit: 3, remaining: 1 });
    expect((await owner('DELETE', '/api/users/rm-crash-two')).status).toBe(204);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 2, limit: 3, remaining: 1 });
  }, 60_000);
});

describe('a paid tenant moved back to the free plan', () => {
  it('is counted from its real users, not from its earlier free days', async () => {
    // A free space with its owner alone (its count: 1), converted to a paid plan.
    const { owner } = await space('rm-plan');
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 1, limit: 3, remaining: 2 });
    const leads = await superAdmin('GET', '/api/free/leads?q=rm-plan');
    const leadId = String(leads.body.items.find((item: { handle: string }) => item.handle === 'rm-plan').id);
    const order = await superAdmin('POST', `/api/free/leads/${leadId}/conversion`, {
      plan: 'standard',
      months: 12,
      amount: 990,
      hosts: ['rm-plan.localhost'],
      admin: { username: 'rm-plan-admin', password: USER_PASSWORD },
    });
    expect(order.status, order.text).toBe(201);
    expect((await superAdmin('POST', `/api/orders/${order.body.id}/confirm-payment`)).status).toBe(200);
    const converted = caller(
      t,
      'rm-plan.localhost',
      await t.login('rm-plan.localhost', 'rm-plan-admin', USER_PASSWORD),
    );
    // Paid: no limit, nothing counted.
    for (const name of ['rm-plan-a', 'rm-plan-b', 'rm-plan-c']) await addUser(converted, name, ['operator']);
    expect((await converted('GET', '/api/usage')).body.users).toEqual({
      used: 5,
      limit: null,
      remaining: null,
    });

    // No route puts a tenant on `free` (sign-up alone does); the registry, which every change of a
    // plan goes through, may.
    await t.core.tenants.update('p-rm-plan', { plan: 'free' });
    await expect
      .poll(async () => (await converted('GET', '/api/usage')).body.users, { timeout: 10_000 })
      .toEqual({ used: 5, limit: 3, remaining: 0 });
    const refused = await converted('POST', '/api/users', {
      username: 'rm-plan-d',
      password: USER_PASSWORD,
      roles: ['operator'],
    });
    expectProblem(refused, 403, 'a sixth user on the free plan');
    expect(refused.body).toMatchObject({ type: problemType('plan-limit'), quota: 'users', limit: 3 });

    // Removing users frees places only below the limit: 5 → 3 is still full, 2 leaves one.
    for (const name of ['rm-plan-a', 'rm-plan-b', 'rm-plan-c']) {
      expect((await converted('DELETE', `/api/users/${name}`)).status).toBe(204);
    }
    expect((await converted('GET', '/api/usage')).body.users).toEqual({ used: 2, limit: 3, remaining: 1 });
    await addUser(converted, 'rm-plan-d', ['operator']);
  }, 90_000);
});
