/**
 * The requests a tenant holds open, counted in the table as the API's Lambda instances count them
 * (store/leased-slots.ts): its run waits (executions/wait-slots.ts) and its agents' polls
 * (agents/poll-slots.ts). Several repositories on one table stand for several instances, each serving
 * one request at a time, on the local DynamoDB through the real SDK client, scoped to the request's
 * tenant as the tenant API's client is. Before, each instance counted only its own, so a tenant held
 * one wait (or one agent's token one poll) per instance, without bound.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agents } from '../../functions/core/agents/agents.ts';
import { MAX_POLLS_PER_AGENT, PollSlotRepository } from '../../functions/core/agents/poll-slots.ts';
import { AuditLog } from '../../functions/core/audit/chain.ts';
import { queryAll, type Table } from '../../functions/core/db.ts';
import { MAX_WAITS_PER_TENANT } from '../../functions/core/executions/run-ends.ts';
import { type WaitRelease, WaitSlotRepository } from '../../functions/core/executions/wait-slots.ts';
import { domainPk, TABLE_KEY_NAMES } from '../../functions/core/keys.ts';
import { LEASE_MARGIN_SECONDS, LeasedSlots } from '../../functions/core/store/leased-slots.ts';
import {
  PartitionScopeError,
  scopeTableClient,
  withTenantScope,
} from '../../functions/core/tenancy/tenant-scope.ts';
import { heldSlotsFromEnv } from '../../functions/http/api.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';

const tenant = (id: string) =>
  ({
    kind: 'tenant',
    host: `${id}.localhost`,
    tenant: { id, name: id, status: 'active', plan: 'p', expiresAt: '' },
  }) as const;
const acme = tenant('acme');
const globex = tenant('globex');

let services: LocalServices;
let table: Table;

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: services.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: services.credentials,
    }),
  );
  // As the tenant API's: a request outside its tenant's partitions is refused before it is sent.
  scopeTableClient(client);
  table = { client, name: services.tableName };
});

afterAll(async () => {
  await services.stop();
});

/** Takes as `domain`, in its scope (as a request of that tenant does). */
function take(slots: WaitSlotRepository, domain: ReturnType<typeof tenant>, seconds = 20) {
  return withTenantScope(domain.tenant.id, () => slots.take(domain, seconds));
}
/** The slot items under `prefix` in the tenant's partition, held or not. */
async function slotItems(domain: ReturnType<typeof tenant>, prefix: string): Promise<number> {
  let count = 0;
  for await (const _ of queryAll(table, {
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': TABLE_KEY_NAMES.pk, '#sk': TABLE_KEY_NAMES.sk },
    ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': prefix },
    ConsistentRead: true,
  }))
    count += 1;
  return count;
}
function release(domain: ReturnType<typeof tenant>, held: WaitRelease | null) {
  return withTenantScope(domain.tenant.id, async () => held?.());
}

describe('a tenant’s waits, counted in the table', () => {
  it('are at most MAX_WAITS_PER_TENANT across instances; another tenant’s are its own; a release frees one, once', async () => {
    const instances = [new WaitSlotRepository(table), new WaitSlotRepository(table)];
    const held: WaitRelease[] = [];
    for (let n = 0; n < MAX_WAITS_PER_TENANT; n += 1) {
      const slot = await take(instances[n % 2] as WaitSlotRepository, acme);
      expect(slot, `wait ${n + 1}`).not.toBeNull();
      if (slot !== null) held.push(slot);
    }
    // The next, on either instance: answered at once, unwaited.
    expect(await take(instances[0] as WaitSlotRepository, acme)).toBeNull();
    expect(await take(instances[1] as WaitSlotRepository, acme)).toBeNull();
    // Another tenant is not held back by acme's waits.
    const globexWait = await take(instances[0] as WaitSlotRepository, globex);
    expect(globexWait).not.toBeNull();
    // One of acme's ends: one more may wait, on the other instance; a second release frees nothing.
    await release(acme, held[0] ?? null);
    await release(acme, held[0] ?? null);
    const again = await take(instances[1] as WaitSlotRepository, acme);
    expect(again).not.toBeNull();
    expect(await take(instances[0] as WaitSlotRepository, acme)).toBeNull();
    for (const slot of [...held.slice(1), again]) await release(acme, slot);
    await release(globex, globexWait);
    expect(await take(instances[0] as WaitSlotRepository, acme)).not.toBeNull();
  });

  it('frees the slot of an instance killed mid-wait when its lease runs out, and its late release frees nothing of the next holder', async () => {
    let now = Date.parse('2026-12-03T12:00:00Z');
    const options = { max: 1, now: () => now };
    const killed = new WaitSlotRepository(table, options);
    const other = new WaitSlotRepository(table, options);
    const domain = tenant('initech');
    const lost = await take(killed, domain, 10);
    expect(lost).not.toBeNull();
    // Its lease: the wait's 10 s and the margin. Up to its last millisecond, the slot is held.
    now += (10 + LEASE_MARGIN_SECONDS) * 1000;
    expect(await take(other, domain, 10)).toBeNull();
    now += 1;
    const next = await take(other, domain, 10);
    expect(next).not.toBeNull();
    // The killed instance's release, arriving late, leaves the next holder's slot held.
    await release(domain, lost);
    expect(await take(other, domain, 10)).toBeNull();
    await release(domain, next);
    expect(await take(other, domain, 10)).not.toBeNull();
  });

  it('reaches only the tenant’s own partition: in another tenant’s scope it is refused before it is sent', async () => {
    const slots = new WaitSlotRepository(table);
    await expect(withTenantScope('globex', () => slots.take(acme, 5))).rejects.toBeInstanceOf(
      PartitionScopeError,
    );
  });

  it('refuses a cap it cannot key', () => {
    expect(() => new WaitSlotRepository(table, { max: 0 })).toThrow(RangeError);
    expect(() => new WaitSlotRepository(table, { max: 100 })).toThrow(RangeError);
  });
});

describe('an agent’s polls, counted in the table', () => {
  it('are at most MAX_POLLS_PER_AGENT across instances, agent by agent: a name that extends another’s is its own pool', async () => {
    const instances = [new PollSlotRepository(table), new PollSlotRepository(table)];
    const poll = (n: number, name: string) =>
      withTenantScope(acme.tenant.id, () => (instances[n % 2] as PollSlotRepository).take(acme, name, 10));
    const held: WaitRelease[] = [];
    for (let n = 0; n < MAX_POLLS_PER_AGENT; n += 1) {
      const slot = await poll(n, 'build');
      expect(slot, `poll ${n + 1}`).not.toBeNull();
      if (slot !== null) held.push(slot);
    }
    expect(await poll(0, 'build')).toBeNull();
    expect(await poll(1, 'build')).toBeNull();
    // `build-2`'s slots sort after `build#` and share no prefix with them; globex's `build` is its own.
    const other = await poll(0, 'build-2');
    expect(other).not.toBeNull();
    const globexPoll = await withTenantScope('globex', () =>
      (instances[1] as PollSlotRepository).take(globex, 'build', 10),
    );
    expect(globexPoll).not.toBeNull();
    await release(acme, held[0] ?? null);
    const again = await poll(1, 'build');
    expect(again).not.toBeNull();
    for (const slot of [held[1] ?? null, again, other]) await release(acme, slot);
    await release(globex, globexPoll);
  });

  it('a poll beyond its agent’s cap is turned away at once, while the agent’s two held polls wait, on two instances of the API', async () => {
    const audit = new AuditLog({ table });
    const options = { table, audit, pollIntervalMs: 50 };
    // Two instances: two Agents on the table, each with its own slots' repository.
    const [one, two] = [
      new Agents({ ...options, pollSlots: new PollSlotRepository(table) }),
      new Agents({ ...options, pollSlots: new PollSlotRepository(table) }),
    ] as const;
    const agent = { name: 'desk', tokenId: 't1' } as Parameters<Agents['poll']>[1];
    const domain = tenant('hooli');
    const inScope = <T>(work: () => Promise<T>) => withTenantScope(domain.tenant.id, work);
    const waiting = [inScope(() => one.poll(domain, agent, 2)), inScope(() => two.poll(domain, agent, 2))];
    const settled: boolean[] = [false, false];
    waiting.forEach((poll, i) => void poll.finally(() => (settled[i] = true)));
    // Until both hold their slots (read, not taken: a probe holding one would turn a poll away).
    for (
      let tries = 0;
      (await inScope(() => slotItems(domain, 'POLLSLOT#desk#'))) < MAX_POLLS_PER_AGENT;
      tries += 1
    ) {
      if (tries > 100) throw new Error('the two polls never held their slots');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The third, on either instance: no job, turned away at once (429, poll again in 1 s) while the
    // other two still wait.
    await expect(inScope(() => one.poll(domain, agent, 2))).rejects.toMatchObject({
      code: 'rate-limited',
      retryAfterSeconds: 1,
    });
    expect(settled).toEqual([false, false]);
    expect(await Promise.all(waiting)).toEqual([null, null]);
    // Given back.
    expect(await inScope(() => slotItems(domain, 'POLLSLOT#desk#'))).toBe(0);
  });
});

describe('the slots in the table', () => {
  it('are what the APIs count in on Lambda; the local platform, one process, counts its own', () => {
    const onLambda = heldSlotsFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'execfabric-tenant-api' }, table);
    expect(onLambda.waitSlots).toBeInstanceOf(WaitSlotRepository);
    expect(onLambda.pollSlots).toBeInstanceOf(PollSlotRepository);
    expect(heldSlotsFromEnv({}, table)).toEqual({});
  });

  it('refuse a scope that could reach into another pool', async () => {
    const slots = new LeasedSlots(table, { tag: 'POLLSLOT', max: 2 });
    for (const scope of [['a#b'], [''], ['a', '#']])
      await expect(withTenantScope('acme', () => slots.take(acme, scope, 1))).rejects.toBeInstanceOf(
        RangeError,
      );
  });
});
