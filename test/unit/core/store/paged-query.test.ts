/**
 * The one paged query, attacked with its own cursors: a cursor from another tenant, another
 * listing, another index or another range is refused (a ValidationError, 422 at the edge) before
 * DynamoDB reads anything, even when it carries a valid signature (an insider who holds the cursor
 * key, or a cursor of a different query); honest cursors walk every page exactly once. Against a
 * real local store (dynalite) through the real SDK client.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { ValidationError } from '../../../../functions/core/errors.ts';
import { INDEX, tenantPk } from '../../../../functions/core/keys.ts';
import { encodeCursor } from '../../../../functions/core/pagination.ts';
import { type PagedQuery, queryPage } from '../../../../functions/core/store/paged-query.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;
let table: Table;

const ACME = tenantPk('acme');
const GLOBEX = tenantPk('globex');

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const client = DynamoDBDocumentClient.from(services.dynamodb);
  table = { client, name: services.tableName };
  for (const pk of [ACME, GLOBEX]) {
    for (let n = 0; n < 7; n++) {
      const id = String(n).padStart(3, '0');
      await client.send(
        new PutCommand({
          TableName: table.name,
          Item: {
            PK: pk,
            SK: `WIDGET#${id}`,
            n,
            // A tenant's own GSI partition, as the schedule logs and the approvals inbox use.
            GSI1PK: `${pk}#WIDGETS`,
            GSI1SK: id,
          },
        }),
      );
      await client.send(new PutCommand({ TableName: table.name, Item: { PK: pk, SK: `GADGET#${id}`, n } }));
    }
  }
});

afterAll(async () => {
  await services?.stop();
});

async function all(query: PagedQuery): Promise<unknown[]> {
  const seen: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = await queryPage(table, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    seen.push(...page.items.map((item) => item.n));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return seen;
}

async function firstCursor(query: PagedQuery): Promise<string> {
  const page = await queryPage(table, query);
  if (page.cursor === undefined) throw new Error('expected a cursor');
  return page.cursor;
}

async function refused(query: PagedQuery): Promise<void> {
  await expect(queryPage(table, query)).rejects.toBeInstanceOf(ValidationError);
}

const acmeWidgets: PagedQuery = { partition: ACME, range: { prefix: 'WIDGET#' }, limit: 2 };

describe('queryPage', () => {
  it('walks every item of the range once, in either order, bounds included', async () => {
    expect(await all(acmeWidgets)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await all({ ...acmeWidgets, newestFirst: true })).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(await all({ ...acmeWidgets, range: { from: 'WIDGET#002', to: 'WIDGET#005' } })).toEqual([
      2, 3, 4, 5,
    ]);
    expect(
      await all({ index: INDEX.listing, partition: `${ACME}#WIDGETS`, owner: { partition: ACME }, limit: 3 }),
    ).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("refuses another tenant's cursor for the same listing", async () => {
    const globex = await firstCursor({ ...acmeWidgets, partition: GLOBEX });
    await refused({ ...acmeWidgets, cursor: globex });
  });

  it('refuses a cursor of another listing in the same partition', async () => {
    const gadgets = await firstCursor({ ...acmeWidgets, range: { prefix: 'GADGET#' } });
    await refused({ ...acmeWidgets, cursor: gadgets });
  });

  it('refuses a cursor outside the bounds of the query it is given to', async () => {
    const early = await firstCursor(acmeWidgets);
    await refused({ ...acmeWidgets, range: { from: 'WIDGET#004', to: 'WIDGET#~' }, cursor: early });
  });

  it('refuses a signed key that leaves the range, the partition or the key shape', async () => {
    // What an insider holding the cursor key could forge: each is still refused by the range check.
    const forged = [
      { PK: GLOBEX, SK: 'WIDGET#001' },
      { PK: ACME, SK: 'USER#root' },
      { PK: ACME, SK: 'WIDGET#001', extra: 'x' },
      { PK: ACME },
      { PK: ACME, SK: 7 },
    ];
    for (const key of forged) await refused({ ...acmeWidgets, cursor: encodeCursor(key) });
  });

  it("refuses an index cursor whose table key is another tenant's, or that lacks the table key", async () => {
    const query: PagedQuery = {
      index: INDEX.listing,
      partition: `${ACME}#WIDGETS`,
      owner: { partition: ACME, prefix: 'WIDGET#' },
      limit: 2,
    };
    const honest = await firstCursor(query);
    expect((await queryPage(table, { ...query, cursor: honest })).items).toHaveLength(2);
    await refused({
      ...query,
      cursor: encodeCursor({ GSI1PK: `${ACME}#WIDGETS`, GSI1SK: '001', PK: GLOBEX, SK: 'WIDGET#001' }),
    });
    await refused({
      ...query,
      cursor: encodeCursor({ GSI1PK: `${ACME}#WIDGETS`, GSI1SK: '001', PK: ACME, SK: 'USER#root' }),
    });
    await refused({ ...query, cursor: encodeCursor({ GSI1PK: `${ACME}#WIDGETS`, GSI1SK: '001' }) });
    // A table cursor is not an index cursor, nor the other way round.
    await refused({ ...query, cursor: await firstCursor(acmeWidgets) });
    await refused({ ...acmeWidgets, cursor: honest });
  });

  it('refuses a tampered or unsealed cursor', async () => {
    const honest = await firstCursor(acmeWidgets);
    const sealed = Buffer.from(honest, 'base64url');
    const flipped = Buffer.from(sealed);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    const plain = Buffer.from(JSON.stringify({ PK: ACME, SK: 'WIDGET#005' })).toString('base64url');
    for (const cursor of [
      plain,
      flipped.toString('base64url'),
      sealed.subarray(0, sealed.length - 1).toString('base64url'),
      `${honest}x`,
      `${honest}.x`,
      '',
    ]) {
      await refused({ ...acmeWidgets, cursor });
    }
  });
});
