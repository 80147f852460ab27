/**
 * A page of notices holds what its reader may see, through the local platform: the tenant home page
 * (`GET /api/announcements?unread=true&limit=50`) reads on past the notices hidden from the reader
 * (no longer current, addressed to others) until it holds its 50 or the listing ends, and never reads
 * more than MAX_NOTICES_READ notices for one page; the approval notice of a decided run is removed.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromEnv } from '../../functions/clients/dynamodb.ts';
import { MAX_NOTICES_READ } from '../../functions/core/foundation/announcements.ts';
import { itemKey, TAG } from '../../functions/core/keys.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scriptSkill, unique } from '../support/runs.ts';

const PASSWORD = 'notices-page-password';
const tokens: Record<string, string> = {};
let platform: TestPlatform;

function as(user: string, host: string, method: string, path: string, body?: unknown) {
  return platform.send({ host, token: tokens[user], method, path, body });
}

/** The ids on a page of `user`'s unread notices, and its cursor. */
async function home(
  user: string,
  host: string,
  cursor?: string,
): Promise<{ ids: string[]; cursor?: string }> {
  const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
  const response = await as(user, host, 'GET', `/api/announcements?unread=true&limit=50${query}`);
  expect(response.status, response.text).toBe(200);
  return {
    ids: response.body.items.map((item: { id: string }) => item.id),
    ...(response.body.cursor === undefined ? {} : { cursor: String(response.body.cursor) }),
  };
}

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  tokens.alice = await platform.login(HOSTS.acme, 'alice');
  tokens.bob = await platform.login(HOSTS.acme, 'bob');
  tokens.gina = await platform.login(HOSTS.globex, 'gina');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('the home page', () => {
  it('shows a live notice behind the notices of many decided runs, and removes theirs', async () => {
    const live = await as('alice', HOSTS.acme, 'POST', '/api/announcements', {
      title: 'Maintenance on Sunday',
      body: 'The platform is read-only from 02:00 to 03:00 UTC.',
    });
    expect(live.status, live.text).toBe(201);
    const { skillId } = await scriptSkill(
      (token, method, path, body) => platform.send({ host: HOSTS.acme, token, method, path, body }),
      tokens.alice ?? '',
      'def main(inputs, ctx):\n    return {}\n',
      { skill: { name: unique('Refund'), risk: 'medium', approval: 'one' } },
    );
    // More decided runs than a page: each leaves an approval notice (to the approvers) and a
    // decision notice (to its requester), and both sort before every dated notice.
    const runs: string[] = [];
    for (let n = 0; n < 55; n++) {
      const requested = await as('bob', HOSTS.acme, 'POST', `/api/skills/${skillId}/executions`, {
        input: {},
      });
      expect(requested.status, requested.text).toBe(202);
      const id = String(requested.body.id);
      const rejected = await as('alice', HOSTS.acme, 'POST', `/api/executions/${id}/reject`, {
        comment: 'not now',
      });
      expect(rejected.status, rejected.text).toBe(200);
      runs.push(id);
    }

    const page = await home('alice', HOSTS.acme);
    expect(page.ids).toContain(live.body.id);
    expect(page.ids.filter((id) => id.startsWith('approval-') || id.startsWith('decided-'))).toEqual([]);
    // The notices of the decided runs are gone from the tenant's partition; the requester's remain.
    const table = tableFromEnv(platform.platform.env);
    const domain = (await platform.core.hosts.resolve(HOSTS.acme)) as TenantContext;
    const stored = async (id: string) =>
      (
        await table.client.send(
          new GetCommand({ TableName: table.name, Key: itemKey(domain, TAG.announcement, id) }),
        )
      ).Item;
    for (const id of runs) {
      expect(await stored(`approval-${id}`), id).toBeUndefined();
      expect(await stored(`decided-${id}`), id).toBeDefined();
    }
    expect((await home('bob', HOSTS.acme)).ids).toHaveLength(50);
  }, 120_000);

  it(`reads at most ${MAX_NOTICES_READ} notices for a page, and its cursor goes on from there`, async () => {
    const domain = (await platform.core.hosts.resolve(HOSTS.globex)) as TenantContext;
    const post = (id: string, stale: boolean) =>
      platform.core.announcements.post(
        domain,
        {
          id,
          title: stale ? 'Your tenant is suspended' : 'Live',
          body: stale ? 'It was, in 2000.' : 'Still true.',
          // The state of a tenant long renewed: a notice no longer current.
          ...(stale ? { tenantState: { statuses: ['suspended'], expiryDay: '2000-01-01' } } : {}),
        },
        { username: 'system', via: 'system' },
        'system',
      );
    // Ids sort newest first: every `zz-b-…` notice is read before `zz-a-live`.
    await post('zz-a-live', false);
    const stale = (n: number) => `zz-b-${String(n).padStart(4, '0')}`;
    for (let start = 0; start < MAX_NOTICES_READ - 1; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, MAX_NOTICES_READ - 1 - start) }, (_, i) =>
          post(stale(start + i), true),
        ),
      );
    }

    // The live notice is the last one a page may read: it is on the page.
    expect((await home('gina', HOSTS.globex)).ids[0]).toBe('zz-a-live');

    // One stale notice more, and the page stops before it, with a cursor that finds it.
    await post(stale(MAX_NOTICES_READ - 1), true);
    const first = await home('gina', HOSTS.globex);
    expect(first.ids).toEqual([]);
    expect(first.cursor).toBeDefined();
    const next = await home('gina', HOSTS.globex, first.cursor);
    expect(next.ids[0]).toBe('zz-a-live');
  }, 120_000);

  it('that ends inside what it read goes on after its last notice', async () => {
    // Alice's listing starts with the decision notices of the first test, addressed to bob.
    const posted: string[] = [];
    for (const title of ['First', 'Second', 'Third']) {
      const response = await as('alice', HOSTS.acme, 'POST', '/api/announcements', { title, body: title });
      expect(response.status, response.text).toBe(201);
      posted.unshift(String(response.body.id));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (const _ of posted) {
      const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const response = await as('alice', HOSTS.acme, 'GET', `/api/announcements?limit=1${query}`);
      expect(response.status, response.text).toBe(200);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.cursor;
      expect(cursor).toBeDefined();
    }
    expect(seen).toEqual(posted);
  });
});
