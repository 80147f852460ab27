/**
 * The plan's count of users kept, over real HTTP through the local edge router, as the new-user trial
 * found it missing (a free personal space added any number of users): the free plan keeps 3 (the
 * owner and two more), whoever makes them — the space's admin, a super-admin from the console — and
 * however many ask at once; the fourth is a 403 `plan-limit` problem that writes nothing. A disabled
 * user keeps its place; a full space still converts, and a paid plan counts users without a limit.
 * A space whose users were written before the count existed is counted from its users. The free
 * entry says the limit before anyone signs up.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDomain } from '../../functions/core/governance/acting.ts';
import { DirectoryRepository } from '../../functions/core/identity/directory-repository.ts';
import { usageKey } from '../../functions/core/keys.ts';
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

const PASSWORD = 'demo-password-for-user-quota';
const SPACE_PASSWORD = 'a long personal passphrase';
const USER_PASSWORD = 'another long passphrase';

let t: TestPlatform;
let admin: ReturnType<typeof caller>;
const address = addresses(200);

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  admin = caller(t, HOSTS.admin, await t.login(HOSTS.admin, 'admin'));
}, 120_000);

afterAll(async () => {
  await t?.stop();
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

function newUser(as: ReturnType<typeof caller>, username: string): Promise<TestResponse> {
  return as('POST', '/api/users', { username, password: USER_PASSWORD, roles: ['operator'] });
}

async function usernames(as: ReturnType<typeof caller>): Promise<string[]> {
  const listed = await as('GET', '/api/users?limit=100');
  expect(listed.status, listed.text).toBe(200);
  return listed.body.items.map((user: { username: string }) => user.username).sort();
}

function expectUsersFull(response: TestResponse, context: string): void {
  expectProblem(response, 403, context);
  expect(response.body).toMatchObject({
    type: problemType('plan-limit'),
    quota: 'users',
    plan: 'free',
    limit: 3,
    remaining: 0,
  });
  // The refusal says what to do about it.
  expect(response.body.detail).toMatch(
    /at most 3 users; disabled users count too\. For more, a free space is converted to a standard tenant/,
  );
}

describe('the free plan’s users', () => {
  it('are said on the free entry before signing up', async () => {
    const offers = await t.send({ host: HOSTS.free, path: '/api/free/offers' });
    expect(offers.status, offers.text).toBe(200);
    expect(offers.body.plan).toMatchObject({ name: 'free', users: 3 });
  });

  it('accepts the third user, refuses the fourth with 403 plan-limit and writes nothing', async () => {
    const { owner } = await space('users-ann');
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 1, limit: 3, remaining: 2 });

    expect((await newUser(owner, 'second')).status).toBe(201);
    const third = await newUser(owner, 'third');
    expect(third.status, third.text).toBe(201);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });

    expectUsersFull(await newUser(owner, 'fourth'), 'fourth user');
    // Nothing of the fourth: no user, no audit entry, no place taken.
    expect(await usernames(owner)).toEqual(['second', 'third', 'users-ann']);
    const audit = await owner('GET', '/api/audit?action=user.created&limit=100');
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.items.map((entry: { target: string }) => entry.target).sort()).toEqual([
      'user:second',
      'user:third',
      'user:users-ann',
    ]);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
    // The name taken is still a 409, not a place.
    expectProblem(await newUser(owner, 'third'), 409, 'a name taken');

    // A disabled user keeps its place (it can be enabled again at any time).
    const disabled = await owner('PATCH', '/api/users/third', { disabled: true });
    expect(disabled.status, disabled.text).toBe(200);
    expectUsersFull(await newUser(owner, 'fourth'), 'fourth user, one disabled');
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
  }, 60_000);

  it('never passes the limit under a burst of concurrent creations', async () => {
    const { owner } = await space('users-burst');
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, index) => newUser(owner, `burst-${index}`)),
    );
    const created = responses.filter((response) => response.status === 201);
    expect(created.length, responses.map((response) => response.text).join('\n')).toBe(2);
    for (const response of responses.filter((answer) => answer.status !== 201)) {
      expectUsersFull(response, 'over the limit in the burst');
    }
    expect((await usernames(owner)).length).toBe(3);
    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
  }, 60_000);

  it('counts the admins a super-admin makes from the console as well', async () => {
    await space('users-console');
    const made = await Promise.all(
      ['first', 'second', 'third'].map((name) =>
        admin('POST', '/api/tenants/p-users-console/admins', {
          username: `console-${name}`,
          password: USER_PASSWORD,
        }),
      ),
    );
    expect(made.map((response) => response.status).sort()).toEqual([201, 201, 403]);
    expectUsersFull(made.find((response) => response.status === 403) as TestResponse, 'console admin');
    const users = await t.core.directory.usernames(tenantDomain(await t.core.tenants.get('p-users-console')));
    expect(users.length).toBe(3);
  }, 60_000);

  it('counts the users a space kept before the count existed', async () => {
    const { owner } = await space('users-before');
    const domain = tenantDomain(await t.core.tenants.get('p-users-before'));
    // As the platform wrote them before it counted users: straight to the store, and no counter.
    const store = new DirectoryRepository(t.core.table);
    for (const username of ['old-one', 'old-two']) {
      const at = new Date().toISOString();
      await store.createUser(domain, {
        username,
        passwordHash: 'not-a-real-hash',
        roles: ['operator'],
        superAdmin: false,
        consoleTenants: [],
        disabled: false,
        createdAt: at,
        updatedAt: at,
      });
    }
    await t.core.table.client.send(
      new DeleteCommand({ TableName: t.core.table.name, Key: usageKey(domain, 'users') }),
    );

    expect((await owner('GET', '/api/usage')).body.users).toEqual({ used: 3, limit: 3, remaining: 0 });
    expectUsersFull(await newUser(owner, 'newcomer'), 'a space full before the count existed');
    expect(await usernames(owner)).toEqual(['old-one', 'old-two', 'users-before']);
  }, 60_000);
});

describe('users on a paid plan', () => {
  it('are not limited, and the usage shows how many there are', async () => {
    const alice = caller(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
    const before = (await usernames(alice)).length;
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, index) => newUser(alice, `paid-${index}`)),
    );
    expect(
      responses.map((response) => response.status),
      responses.map((r) => r.text).join('\n'),
    ).toEqual([201, 201, 201, 201, 201]);
    const usage = await alice('GET', '/api/usage');
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body.users).toEqual({ used: before + 5, limit: null, remaining: null });
  }, 60_000);

  it('a full free space still converts, and then takes more users', async () => {
    const { owner } = await space('users-convert');
    expect((await newUser(owner, 'second')).status).toBe(201);
    expect((await newUser(owner, 'third')).status).toBe(201);
    const leads = await admin('GET', '/api/free/leads?q=users-convert');
    const leadId = String(
      leads.body.items.find((item: { handle: string }) => item.handle === 'users-convert').id,
    );
    const order = await admin('POST', `/api/free/leads/${leadId}/conversion`, {
      plan: 'standard',
      months: 12,
      amount: 990,
      hosts: ['users-convert.localhost'],
      admin: { username: 'convert-admin', password: USER_PASSWORD },
    });
    expect(order.status, order.text).toBe(201);
    const paid = await admin('POST', `/api/orders/${order.body.id}/confirm-payment`);
    expect(paid.status, paid.text).toBe(200);

    const converted = caller(
      t,
      'users-convert.localhost',
      await t.login('users-convert.localhost', 'convert-admin', USER_PASSWORD),
    );
    expect((await newUser(converted, 'fifth')).status).toBe(201);
    expect((await converted('GET', '/api/usage')).body.users).toEqual({
      used: 5,
      limit: null,
      remaining: null,
    });
  }, 60_000);
});
