/**
 * Demo data of a first local start (DESIGN §8), written through the core's own services so the
 * demo is exactly what a user could have created: the public hosts, tenants `acme` and `globex`
 * with their hosts. Each step is idempotent, and a marker item records that seeding finished, so
 * an interrupted first start completes on the next one.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../../functions/core/db.ts';
import { ConflictError } from '../../functions/core/errors.ts';
import { seedKey } from '../../functions/core/keys.ts';
import { TenantRegistry } from '../../functions/core/tenancy/tenants.ts';

export const SEED_VERSION = 'demo-v1';

export interface SeedOptions {
  readonly table: Table;
  readonly adminHosts: readonly string[];
  readonly freeHosts: readonly string[];
  readonly now?: () => Date;
}

export interface SeedResult {
  /** False when the data folder had been seeded already. */
  readonly seeded: boolean;
}

export const DEMO_TENANTS = [
  { id: 'acme', name: 'Acme Corporation', hosts: ['acme.localhost'] },
  { id: 'globex', name: 'Globex', hosts: ['globex.localhost'] },
] as const;

async function ignoreConflict(step: Promise<unknown>): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

export async function seedDemo(options: SeedOptions): Promise<SeedResult> {
  const { table } = options;
  const marker = await table.client.send(
    new GetCommand({ TableName: table.name, Key: seedKey(SEED_VERSION), ConsistentRead: true }),
  );
  if (marker.Item !== undefined) return { seeded: false };
  const now = options.now ?? (() => new Date());
  const tenants = new TenantRegistry({ table, now });

  for (const host of options.adminHosts) await tenants.bindPublicHost(host, 'governance');
  for (const host of options.freeHosts) await tenants.bindPublicHost(host, 'free');
  const expiresAt = new Date(now().getTime() + 365 * 24 * 3600 * 1000).toISOString();
  for (const tenant of DEMO_TENANTS) {
    await ignoreConflict(
      tenants.create({ ...tenant, hosts: [...tenant.hosts], plan: 'standard', expiresAt, status: 'active' }),
    );
  }

  await table.client.send(
    new PutCommand({
      TableName: table.name,
      Item: { ...seedKey(SEED_VERSION), seededAt: now().toISOString() },
    }),
  );
  return { seeded: true };
}
