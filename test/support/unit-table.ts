/**
 * For unit tests of the core against a real local store (dynalite): a tenant to work in, and the
 * platform's table for the test file — the local services started before its tests and stopped
 * after them, the table reached through a document client made as the platform makes it.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import type { Table } from '../../functions/core/db.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';

/** A tenant on a standard plan, active until 2030; `{ ...ACME, tenant: { ...ACME.tenant, id } }` for another. */
export const ACME: TenantContext = {
  kind: 'tenant',
  host: '',
  tenant: {
    id: 'acme',
    name: 'acme',
    status: 'active',
    plan: 'standard',
    expiresAt: '2030-01-01T00:00:00.000Z',
  },
};

/**
 * Call at the top of a test file; the table is there from its first test on (and in the file's own
 * `beforeAll`, registered after it). `claims`: the job-claims table instead of the platform's.
 */
export function localTable(which: 'platform' | 'claims' = 'platform'): () => Table {
  let services: LocalServices | undefined;
  let table: Table | undefined;
  beforeAll(async () => {
    services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
    table = {
      client: DynamoDBDocumentClient.from(services.dynamodb, {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      }),
      name: which === 'claims' ? services.claimsTableName : services.tableName,
    };
  }, 60_000);
  afterAll(async () => {
    await services?.stop();
  });
  return () => {
    if (table === undefined) throw new Error('the local table is made before the first test');
    return table;
  };
}
