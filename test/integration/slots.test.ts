/**
 * Per-tenant concurrency slots on the real DynamoDB-compatible server: a tenant holds at most its
 * cap, a run holding a slot may take it again, releases free slots, expired leases are reclaimed,
 * and concurrent takers never exceed the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantSlots } from '../../functions/core/executions/slots.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';

let services: LocalServices;
let clock = 1_800_000_000_000;
let slots: TenantSlots;

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  slots = new TenantSlots({ client: services.dynamodb, table: services.claimsTableName, now: () => clock });
});

afterAll(async () => {
  await services?.stop();
});

describe('tenant slots', () => {
  it('gives a tenant at most its cap, again to a holder, and frees them on release', async () => {
    expect(await slots.acquire('acme', 'ex-1', 2, 60)).toBe(true);
    expect(await slots.acquire('acme', 'ex-2', 2, 60)).toBe(true);
    expect(await slots.acquire('acme', 'ex-3', 2, 60)).toBe(false);
    expect(await slots.acquire('acme', 'ex-1', 2, 60)).toBe(true); // a redelivery of a holder
    expect(await slots.acquire('globex', 'ex-9', 1, 60)).toBe(true); // tenants are counted apart
    await slots.release('acme', 'ex-1');
    await slots.release('acme', 'ex-1'); // twice is fine
    expect(await slots.acquire('acme', 'ex-3', 2, 60)).toBe(true);
    expect((await slots.holders('acme')).sort()).toEqual(['ex-2', 'ex-3']);
    await slots.release('nobody', 'ex-0'); // a tenant that never held a slot
  });

  it('reclaims the slot of a run whose lease expired (its dispatcher died)', async () => {
    expect(await slots.acquire('initech', 'ex-lost', 1, 30)).toBe(true);
    expect(await slots.acquire('initech', 'ex-next', 1, 30)).toBe(false);
    clock += 31_000;
    expect(await slots.acquire('initech', 'ex-next', 1, 30)).toBe(true);
    expect(await slots.holders('initech')).toEqual(['ex-next']);
  });

  it('never lets concurrent takers exceed the cap', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => slots.acquire('hooli', `ex-${index}`, 3, 60)),
    );
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(await slots.holders('hooli')).toHaveLength(3);
  });
});
