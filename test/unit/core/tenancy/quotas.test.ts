/**
 * The plan's kept counters (Skills, schedules) against a real local store (dynalite) through the real
 * SDK clients, where two requests meet on a tenant's first use: the counter is seeded by whichever
 * request comes first, and a request that found it unseeded must not take "seeded meanwhile" for
 * "full" (it did: a free space's 14 concurrent Skill creations kept 7 of its 10).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { PlanLimitError } from '../../../../functions/core/errors.ts';
import { usageKey } from '../../../../functions/core/keys.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { PlanQuotas } from '../../../../functions/core/tenancy/quotas.ts';
import { UsageRepository } from '../../../../functions/core/tenancy/usage-repository.ts';
import { LOCAL_REGION, type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;

/** A table on its own client; `afterFirstUpdate` runs once, after the first UpdateItem answered (or was refused). */
function tableOf(afterFirstUpdate?: () => Promise<void>): Table {
  const client = new DynamoDBClient({
    endpoint: services.dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: services.credentials,
  });
  if (afterFirstUpdate !== undefined) {
    let fired = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } finally {
          // Refused by its condition or not: the first UpdateItem is the reservation's first try.
          if (!fired && context.commandName === 'UpdateItemCommand') {
            fired = true;
            await afterFirstUpdate();
          }
        }
      },
      { step: 'initialize', name: 'afterFirstUpdate' },
    );
  }
  return { client: DynamoDBDocumentClient.from(client), name: services.tableName };
}

function freeSpace(id: string): TenantContext {
  return {
    kind: 'tenant',
    host: `${id}.example.com`,
    tenant: { id, name: id, status: 'active', plan: 'free', expiresAt: '2027-01-01T00:00:00.000Z' },
  };
}

const nothingKept = { skills: async () => [], schedules: async () => [], users: async () => [] };

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

describe('PlanQuotas kept counters', () => {
  it('takes a place when the counter was seeded by another request between its two reads', async () => {
    const domain = freeSpace('first-use');
    const other = new PlanQuotas({ table: tableOf(), keptIds: nothingKept });
    // The other request seeds the counter (and takes its place) just after this one found it unseeded.
    const racing = new PlanQuotas({
      table: tableOf(async () => {
        await other.reserveSkill(domain, 'skl-other');
      }),
      keptIds: nothingKept,
    });
    await racing.reserveSkill(domain, 'skl-mine');
    expect(await new UsageRepository(tableOf()).counter(usageKey(domain, 'skills'))).toEqual({
      size: 2,
      seeded: true,
    });
  });

  it('still refuses with plan-limit when the counter is full, seeded or not by this request', async () => {
    const domain = freeSpace('full');
    const quotas = new PlanQuotas({ table: tableOf(), keptIds: nothingKept });
    for (let index = 0; index < 10; index++) await quotas.reserveSkill(domain, `skl-${index}`);
    await expect(quotas.reserveSkill(domain, 'skl-eleventh')).rejects.toBeInstanceOf(PlanLimitError);
    // A place already held is held again, harmlessly.
    await expect(quotas.reserveSkill(domain, 'skl-3')).resolves.toBeDefined();
  });
});
