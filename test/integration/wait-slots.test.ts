/**
 * A tenant's waits counted in the table (functions/core/executions/wait-slots.ts), as the API's
 * Lambda instances count them: several repositories on one table stand for several instances, each
 * serving one request at a time, on the local DynamoDB through the real SDK client, scoped to the
 * request's tenant as the tenant API's client is. Before, each instance counted only its own waits,
 * so a tenant held one wait per instance, without bound.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../functions/core/db.ts';
import { MAX_WAITS_PER_TENANT } from '../../functions/core/executions/run-ends.ts';
import {
  WAIT_LEASE_MARGIN_SECONDS,
  type WaitRelease,
  WaitSlotRepository,
} from '../../functions/core/executions/wait-slots.ts';
import {
  PartitionScopeError,
  scopeTableClient,
  withTenantScope,
} from '../../functions/core/tenancy/tenant-scope.ts';
import { waitSlotsFromEnv } from '../../functions/http/api.ts';
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
    now += (10 + WAIT_LEASE_MARGIN_SECONDS) * 1000;
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

  it('are what the APIs count in on Lambda; the local platform, one process, counts its own', () => {
    expect(
      waitSlotsFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'execfabric-tenant-api' }, table).waitSlots,
    ).toBeInstanceOf(WaitSlotRepository);
    expect(waitSlotsFromEnv({}, table)).toEqual({});
  });

  it('refuses a cap it cannot key', () => {
    expect(() => new WaitSlotRepository(table, { max: 0 })).toThrow(RangeError);
    expect(() => new WaitSlotRepository(table, { max: 100 })).toThrow(RangeError);
  });
});
