/**
 * The approvals inbox through the local platform: `GET /api/approvals` is paged like the other
 * listings (`limit`, a sealed `cursor`, `{ items, cursor? }`), oldest first; a page of the runs a
 * caller may see reads on past the runs of Skills hidden from them until it is full, MAX_INBOX_READ
 * runs at most (its cursor then goes on); a bad limit, a tampered cursor or a cursor of another
 * listing or tenant is a problem, never a 500 nor a read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DECIDABLE_COUNTED, MAX_INBOX_READ } from '../../functions/core/executions/approvals.ts';
import { ExecutionRepository } from '../../functions/core/executions/execution-repository.ts';
import { newExecutionId } from '../../functions/core/executions/executions.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { caller, expectProblem, HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';

const PASSWORD = 'approvals-inbox-password';
let t: TestPlatform;
const tokens = new Map<string, string>();
let visible: string;
let hidden: string;

function as(user: string, host: string = HOSTS.acme) {
  return caller(t, host, tokens.get(user) ?? '');
}

async function request(user: string, skillId: string, host: string = HOSTS.acme): Promise<string> {
  const response = await as(user, host)('POST', `/api/skills/${skillId}/executions`, { input: {} });
  expect(response.status, response.text).toBe(202);
  expect(response.body.status).toBe('pending_approval');
  return String(response.body.id);
}

/** One page of `user`'s inbox: its run ids and its cursor. */
async function inbox(
  user: string,
  query: { limit?: number; cursor?: string } = {},
  host: string = HOSTS.acme,
): Promise<{ ids: string[]; cursor?: string }> {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  const response = await as(user, host)('GET', `/api/approvals?${params}`);
  expect(response.status, response.text).toBe(200);
  return {
    ids: response.body.items.map((item: { id: string }) => item.id),
    ...(response.body.cursor === undefined ? {} : { cursor: String(response.body.cursor) }),
  };
}

/** Every run of `user`'s inbox, page after page of `limit`. */
async function wholeInbox(user: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await inbox(user, { limit, ...(cursor === undefined ? {} : { cursor }) });
    expect(page.ids.length).toBeLessThanOrEqual(limit);
    ids.push(...page.ids);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}

async function addUser(admin: string, host: string, username: string, roles: string[]): Promise<void> {
  const created = await as(admin, host)('POST', '/api/users', { username, password: PASSWORD, roles });
  expect(created.status, created.text).toBe(201);
  tokens.set(username, await t.login(host, username));
}

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  tokens.set('alice', await t.login(HOSTS.acme, 'alice'));
  tokens.set('bob', await t.login(HOSTS.acme, 'bob'));
  tokens.set('gina', await t.login(HOSTS.globex, 'gina'));
  await addUser('alice', HOSTS.acme, 'carol', ['operator']);
  // A second admin, so an admin-only Skill's runs asked for by alice may be approved.
  await addUser('alice', HOSTS.acme, 'adam', ['admin']);
  await addUser('gina', HOSTS.globex, 'gus', ['operator']);
  const send = (host: string) => (token: string, method: string, path: string, body?: unknown) =>
    t.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });
  const source = 'def main(inputs, ctx):\n    return {}\n';
  visible = (
    await scriptSkill(send(HOSTS.acme), tokens.get('alice') ?? '', source, {
      skill: { risk: 'medium', approval: 'one' },
    })
  ).skillId;
  hidden = (
    await scriptSkill(send(HOSTS.acme), tokens.get('alice') ?? '', source, {
      skill: { risk: 'medium', approval: 'one', visibility: { roles: ['admin'] } },
    })
  ).skillId;
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('the approvals inbox', () => {
  it('pages oldest first, and a page of what the caller may see reads on past hidden runs', async () => {
    const order: string[] = [];
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) order.push(await request('alice', hidden));
    for (let i = 0; i < 3; i++) {
      const id = await request('bob', visible);
      order.push(id);
      seen.push(id);
    }
    for (let i = 0; i < 2; i++) order.push(await request('alice', hidden));
    const last = await request('bob', visible);
    order.push(last);
    seen.push(last);

    // carol (operator) may not see the admin-only Skill: two full pages, past the hidden runs.
    const first = await inbox('carol', { limit: 2 });
    expect(first.ids).toEqual(seen.slice(0, 2));
    expect(first.cursor).toBeDefined();
    const second = await inbox('carol', { limit: 2, ...(first.cursor ? { cursor: first.cursor } : {}) });
    expect(second.ids).toEqual(seen.slice(2));
    expect(second.cursor).toBeUndefined();

    // adam (admin) sees every run, page after page, in the order they were asked for.
    expect(await wholeInbox('adam', 3)).toEqual(order);
    // The default page is 25, and it says when more follow.
    expect((await inbox('adam')).ids).toEqual(order);

    // The badge counts the runs waiting for the caller's decision (not their own, a Skill they see).
    const counts = await as('carol')('GET', '/api/notifications');
    expect(counts.status, counts.text).toBe(200);
    expect(counts.body.approvalsWaiting).toBe(seen.length);
    expect(counts.body.approvalsWaitingMore).toBe(false);
    const mine = await as('alice')('GET', '/api/notifications');
    expect(mine.body.approvalsWaiting).toBe(seen.length);
  });

  it('refuses a bad limit with a problem', async () => {
    for (const limit of ['0', '101', '-1', '2.5', 'abc', '']) {
      const response = await as('carol')('GET', `/api/approvals?limit=${encodeURIComponent(limit)}`);
      expectProblem(response, 422, `limit=${limit}`);
      expect(response.body.errors?.[0]?.path).toBe('limit');
    }
  });

  it('refuses a tampered cursor, a cursor of another listing and one of another tenant', async () => {
    const page = await inbox('adam', { limit: 1 });
    const cursor = page.cursor ?? '';
    expect(cursor).not.toBe('');
    const flipped = `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`;
    const runs = await as('adam')('GET', '/api/executions?limit=1');
    expect(runs.body.cursor).toBeDefined();
    // A globex inbox cursor, from a run gus asked for there.
    const globexSkill = (
      await scriptSkill(
        (token, method, path, body) =>
          t.send({ host: HOSTS.globex, token, method, path, ...(body === undefined ? {} : { body }) }),
        tokens.get('gina') ?? '',
        'def main(inputs, ctx):\n    return {}\n',
        { skill: { risk: 'medium', approval: 'one' } },
      )
    ).skillId;
    await request('gus', globexSkill, HOSTS.globex);
    await request('gus', globexSkill, HOSTS.globex);
    const foreign = (await inbox('gina', { limit: 1 }, HOSTS.globex)).cursor ?? '';
    expect(foreign).not.toBe('');
    for (const bad of [flipped, 'not-a-cursor', String(runs.body.cursor), foreign]) {
      const response = await as('adam')('GET', `/api/approvals?limit=1&cursor=${encodeURIComponent(bad)}`);
      expectProblem(response, 422, bad);
      expect(response.body.errors?.[0]?.path).toBe('cursor');
    }
    // The cursor of its own listing still goes on.
    expect((await inbox('adam', { limit: 1, cursor })).ids).toHaveLength(1);
  });

  it(`reads at most ${MAX_INBOX_READ} waiting runs for a page, and its cursor goes on from there`, async () => {
    // A clean inbox: every run waiting so far is rejected.
    for (const id of await wholeInbox('adam', 100)) {
      const rejected = await as('adam')('POST', `/api/executions/${id}/reject`, {});
      expect(rejected.status, rejected.text).toBe(200);
    }
    // More hidden runs than a page reads, written to the store directly (as a tenant from before the
    // cap on waiting runs could hold), older than the one carol may see.
    const domain = (await t.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    const store = new ExecutionRepository(t.core.table);
    const template = await store.find(domain, await request('alice', hidden));
    if (template === null) throw new Error('the run just requested is not stored');
    const start = Date.now() - 3_600_000;
    const write = async (from: number, to: number) => {
      for (let offset = from; offset < to; offset += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, to - offset) }, (_, i) => {
            const at = new Date(start + offset + i);
            return store.create(domain, {
              ...template,
              id: newExecutionId(at),
              createdAt: at.toISOString(),
            });
          }),
        );
      }
    };
    const badge = async () => {
      const counts = await as('adam')('GET', '/api/notifications');
      expect(counts.status, counts.text).toBe(200);
      return [counts.body.approvalsWaiting, counts.body.approvalsWaitingMore];
    };
    // adam's badge counts up to MAX_DECIDABLE_COUNTED, and says when more wait ("100+").
    await write(0, MAX_DECIDABLE_COUNTED - 1);
    expect(await badge()).toEqual([MAX_DECIDABLE_COUNTED, false]);
    await write(MAX_DECIDABLE_COUNTED - 1, MAX_INBOX_READ);
    expect(await badge()).toEqual([MAX_DECIDABLE_COUNTED, true]);
    const seen = await request('bob', visible);

    const first = await inbox('carol', { limit: 5 });
    expect(first.ids).toEqual([]);
    expect(first.cursor).toBeDefined();
    const next = await inbox('carol', { limit: 5, ...(first.cursor ? { cursor: first.cursor } : {}) });
    expect(next.ids).toEqual([seen]);
    expect(next.cursor).toBeUndefined();
  }, 120_000);
});
