/**
 * Lifecycle scans against a real local store: each reminder and notice lands once even when a run
 * crashes after any of its writes and is run again, a scan reads only the tenants that can be due,
 * the expiry shutdown finds a tenant however long ago it expired (also one written before the
 * lifecycle index), and a scan the registry does not hold is an error rather than a silent success.
 */

import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Announcements } from '../../../../functions/core/foundation/announcements.ts';
import type { Acting } from '../../../../functions/core/governance/acting.ts';
import { DAY_MS } from '../../../../functions/core/governance/dates.ts';
import { ScanUnavailableError } from '../../../../functions/core/governance/errors.ts';
import { scanStateKey } from '../../../../functions/core/governance/keys.ts';
import { createScanRegistry, runScan } from '../../../../functions/core/governance/lifecycle.ts';
import { tenantKey } from '../../../../functions/core/keys.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { SimulatedCrash, startTestStore, type TestStore } from './store.ts';

const by: Acting = { actor: { username: 'root', via: 'session' } };
const EXPIRY = Date.parse('2031-05-20T10:00:00.000Z');

let store: TestStore;
let customerId = '';
let sequence = 0;

beforeAll(async () => {
  store = await startTestStore();
  customerId = (await store.governance.customers.create({ name: 'Scanco', contacts: [] }, by)).id;
  // The first scan ever marks the lifecycle index as complete; crash counts below start after it.
  await store.governance.lifecycle.expiryShutdown({ now: new Date(EXPIRY - 1000 * DAY_MS) });
});
afterAll(async () => {
  await store?.stop();
});

async function freshTenant(expiresAt: number, status: 'trial' | 'active' = 'active') {
  const id = `scan-${++sequence}`;
  return store.governance.tenants.create(
    {
      id,
      name: id,
      plan: 'standard',
      hosts: [`${id}.example.com`],
      expiresAt: new Date(expiresAt).toISOString(),
      status,
      customerId,
    },
    by,
  );
}

async function announcementsOf(tenantId: string) {
  const tenant = await store.governance.tenants.get(tenantId);
  const domain: TenantContext = { kind: 'tenant', host: tenant.hosts[0] ?? '', tenant };
  const reader = new Announcements({ table: store.table, audit: store.audit });
  const system = {
    username: 'system',
    roles: null,
    seesSkill: () => true,
    seesSkills: async (ids: readonly string[]) => new Set(ids),
  };
  return (await reader.list(domain, system, 100)).items;
}

async function ledgerOf(tenantId: string) {
  const page = await store.governance.customers.ledger(customerId, 100);
  return page.items.filter((entry) => entry.tenantId === tenantId);
}

async function runUntilDone(scan: () => Promise<unknown>): Promise<number> {
  let crashes = 0;
  for (;;) {
    try {
      await scan();
      return crashes;
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      crashes++;
    }
  }
}

describe('renewal reminders', () => {
  it('land once per tenant and threshold, whichever write a run crashed after', async () => {
    const now = new Date(EXPIRY - 7 * DAY_MS + 3_600_000);
    const lifecycle = store.governance.lifecycle;
    const probe = await freshTenant(EXPIRY);
    const before = store.writes();
    const result = await lifecycle.renewalReminders({ now });
    expect(result.changed).toEqual([{ tenantId: probe.id, action: 'reminder-7d' }]);
    const writesPerReminder = store.writes() - before;
    expect(writesPerReminder).toBeGreaterThanOrEqual(4);

    for (let crashAfter = 1; crashAfter <= writesPerReminder; crashAfter++) {
      const tenant = await freshTenant(EXPIRY);
      store.crashAfter(crashAfter);
      expect(await runUntilDone(() => lifecycle.renewalReminders({ now }))).toBe(1);
      await lifecycle.renewalReminders({ now });
      const reminders = (await announcementsOf(tenant.id)).filter((item) => item.source === 'system');
      expect(reminders, `crash after write ${crashAfter}`).toHaveLength(1);
      expect(reminders[0]).toMatchObject({ audience: ['admin'], severity: 'warning' });
      expect((await ledgerOf(tenant.id)).filter((entry) => entry.kind === 'renewal-reminder')).toHaveLength(
        1,
      );
    }
    // Replays change nothing, for any of them.
    expect((await lifecycle.renewalReminders({ now })).changed).toEqual([]);
  });

  it('reads only the buckets of its window', async () => {
    const far = await freshTenant(EXPIRY + 100 * DAY_MS);
    const now = new Date(EXPIRY - 7 * DAY_MS + 7_200_000);
    const result = await store.governance.lifecycle.renewalReminders({ now });
    // Every tenant read expires on a day of the window's buckets; the far one is never read.
    expect(result.scanned).toBe(sequence - 1);
    expect(result.changed.map((change) => change.tenantId)).not.toContain(far.id);
  });
});

describe('expiry shutdown', () => {
  it('owes the grace notice even when a run crashed right after the status change', async () => {
    const tenant = await freshTenant(EXPIRY + 200 * DAY_MS, 'trial');
    const now = new Date(EXPIRY + 200 * DAY_MS + 3_600_000);
    // Everything due before this tenant first, so the crash below hits its status change.
    await store.governance.lifecycle.expiryShutdown({ now: new Date(EXPIRY + 200 * DAY_MS - 1000) });
    store.crashAfter(1);
    await expect(store.governance.lifecycle.expiryShutdown({ now })).rejects.toBeInstanceOf(SimulatedCrash);
    expect((await store.governance.tenants.get(tenant.id)).status).toBe('grace');

    const retry = await store.governance.lifecycle.expiryShutdown({ now });
    expect(retry.changed).toEqual([]);
    const notices = (await announcementsOf(tenant.id)).filter((item) => /has expired/.test(item.title));
    expect(notices).toHaveLength(1);
    // The expiry in words a person reads, the same format as the approval notices; the grace in days.
    expect(notices[0]?.body).toMatch(/ expired on \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\. /);
    expect(notices[0]?.body).toContain('during a 14-day grace period');
    expect(notices[0]?.body).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect((await ledgerOf(tenant.id)).map((entry) => entry.kind)).toContain('tenant-grace');
  });
});

describe('expiry shutdown fails closed', () => {
  it('suspends a tenant that expired long before any run, reading only the tenants due', async () => {
    const now = new Date(EXPIRY + 900 * DAY_MS);
    await store.governance.lifecycle.expiryShutdown({ now: new Date(now.getTime() - DAY_MS) });
    const forgotten = await freshTenant(now.getTime() - 400 * DAY_MS);
    const future = await freshTenant(now.getTime() + 400 * DAY_MS);
    const result = await store.governance.lifecycle.expiryShutdown({ now });
    expect(result.changed).toEqual([{ tenantId: forgotten.id, action: 'suspended' }]);
    expect(result.scanned).toBe(1);
    expect((await store.governance.tenants.get(forgotten.id)).status).toBe('suspended');
    expect((await store.governance.tenants.get(future.id)).status).toBe('active');
    // Suspended, it leaves the index: the next run reads nothing.
    expect((await store.governance.lifecycle.expiryShutdown({ now })).scanned).toBe(0);
  });

  it('places tenants written before the lifecycle index in it, once', async () => {
    const now = new Date(EXPIRY + 1900 * DAY_MS);
    await store.governance.lifecycle.expiryShutdown({ now: new Date(now.getTime() - DAY_MS) });
    const legacy = await freshTenant(now.getTime() - 500 * DAY_MS);
    // The layout of before: an expiry-day bucket, no lifecycle phase; and the index unmarked.
    await store.table.client.send(
      new UpdateCommand({
        TableName: store.table.name,
        Key: tenantKey(legacy.id),
        UpdateExpression: 'SET GSI2PK = :bucket, GSI2SK = :id',
        ExpressionAttributeValues: { ':bucket': `EXPIRY#${legacy.expiresAt.slice(0, 10)}`, ':id': legacy.id },
      }),
    );
    await store.table.client.send(
      new DeleteCommand({ TableName: store.table.name, Key: scanStateKey('lifecycle-index') }),
    );
    const result = await store.governance.lifecycle.expiryShutdown({ now });
    expect(result.changed).toEqual([{ tenantId: legacy.id, action: 'suspended' }]);
  });
});

describe('the scan registry', () => {
  it('answers a scan it does not hold with a clear error', async () => {
    const registry = createScanRegistry(store.governance.lifecycle);
    await expect(runScan(registry, 'stale-executions', { now: new Date() })).rejects.toBeInstanceOf(
      ScanUnavailableError,
    );
    expect(Object.keys(registry).sort()).toEqual(['expiry-shutdown', 'renewal-reminder']);
  });
});
