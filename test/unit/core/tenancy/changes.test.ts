/**
 * The per-tenant read-through cache that change notices forget (tenancy/changes.ts), the one place the
 * tenant-record and catalogue caches take their notices: a notice forgets only the tenant it names,
 * only in caches of its own kind and of a table of the same name, and a cache that does not listen
 * (a test's stand-in for another process) forgets nothing.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import {
  announceChange,
  type TenantChange,
  TenantReadCache,
} from '../../../../functions/core/tenancy/changes.ts';

// No request is sent: the table is only a name the notices are matched on.
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const table: Table = { client, name: 'changes-test' };
const otherTable: Table = { client, name: 'changes-test-other' };

async function warm(cache: TenantReadCache<string>, ...tenants: string[]): Promise<void> {
  for (const tenant of tenants) await cache.read(tenant, 60_000, async () => `${tenant}@1`);
}

/** What the cache answers now for `tenant`: the kept value, or `read again` when it had to read. */
async function answer(cache: TenantReadCache<string>, tenant: string): Promise<string> {
  return cache.read(tenant, 60_000, async () => 'read again');
}

function cache(forgetOn: TenantChange, options: { table?: Table; listens?: boolean } = {}) {
  return new TenantReadCache<string>({
    table: options.table ?? table,
    forgetOn,
    ...(options.listens === undefined ? {} : { listens: options.listens }),
    maxEntries: 10,
    lifetimeOf: () => 60_000,
  });
}

describe('TenantReadCache', () => {
  it('forgets the tenant a notice of its kind names, and nothing else', async () => {
    const records = cache('tenant');
    const catalogues = cache('catalog');
    await warm(records, 'acme', 'globex');
    await warm(catalogues, 'acme', 'globex');

    announceChange(table, { catalog: 'acme' });
    expect(await answer(catalogues, 'acme')).toBe('read again');
    expect(await answer(catalogues, 'globex')).toBe('globex@1');
    expect(await answer(records, 'acme')).toBe('acme@1');

    announceChange(table, { tenant: 'globex' });
    expect(await answer(records, 'globex')).toBe('read again');
    expect(await answer(records, 'acme')).toBe('acme@1');
    expect(await answer(catalogues, 'globex')).toBe('globex@1');

    // A host notice names a host, never a tenant: it forgets nothing here, even one spelt like a tenant.
    announceChange(table, { host: 'acme' });
    expect(await answer(records, 'acme')).toBe('acme@1');
    expect(await answer(catalogues, 'globex')).toBe('globex@1');
  });

  it('hears only its own table, and nothing at all when it does not listen', async () => {
    const elsewhere = cache('tenant', { table: otherTable });
    const deaf = cache('tenant', { listens: false });
    await warm(elsewhere, 'acme');
    await warm(deaf, 'acme');
    announceChange(table, { tenant: 'acme' });
    expect(await answer(elsewhere, 'acme')).toBe('acme@1');
    expect(await answer(deaf, 'acme')).toBe('acme@1');
    announceChange(otherTable, { tenant: 'acme' });
    expect(await answer(elsewhere, 'acme')).toBe('read again');
  });
});
