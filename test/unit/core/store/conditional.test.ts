/**
 * Conditional writes as repositories read them, against a real local store (dynalite) through the
 * real SDK client: a refusal by the condition is an answer (`written` false, `unlessRefused` null)
 * or the caller's typed error (`refusedAs`, with the refusal as its cause); any other failure
 * passes through unchanged. And the bounded counter: concurrent callers never pass its limit.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConditionFailure, type Table } from '../../../../functions/core/db.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import { tenantPk } from '../../../../functions/core/keys.ts';
import { refusedAs, unlessRefused, written } from '../../../../functions/core/store/conditional.ts';
import { countWithin } from '../../../../functions/core/store/counters.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;
let table: Table;
const PK = tenantPk('acme');

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  table = { client: DynamoDBDocumentClient.from(services.dynamodb), name: services.tableName };
});

afterAll(async () => {
  await services?.stop();
});

function putNew(sk: string, value: number) {
  return table.client.send(
    new PutCommand({
      TableName: table.name,
      Item: { PK, SK: sk, value },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

describe('conditional writes', () => {
  it('written: true when made, false when the condition refused it (and nothing changed)', async () => {
    expect(await written(putNew('W#1', 1))).toBe(true);
    expect(await written(putNew('W#1', 2))).toBe(false);
    const stored = await table.client.send(new GetCommand({ TableName: table.name, Key: { PK, SK: 'W#1' } }));
    expect(stored.Item?.value).toBe(1);
  });

  it('unlessRefused: the answer, or null for a refusal', async () => {
    expect(await unlessRefused(putNew('U#1', 1))).not.toBeNull();
    expect(await unlessRefused(putNew('U#1', 1))).toBeNull();
  });

  it('refusedAs: a refusal becomes the typed error, with the refusal as its cause', async () => {
    await putNew('R#1', 1);
    const error = await refusedAs(putNew('R#1', 2), (cause) => new ConflictError('taken', { cause })).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect(isConditionFailure((error as Error).cause)).toBe(true);
  });

  it('any other failure passes through unchanged (never taken for a refusal)', async () => {
    const invalid = table.client.send(
      new PutCommand({
        TableName: table.name,
        Item: { PK, SK: '' },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    const error = await written(invalid).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Error);
    expect(isConditionFailure(error)).toBe(false);
    const other = new Error('network');
    await expect(written(Promise.reject(other))).rejects.toBe(other);
    await expect(unlessRefused(Promise.reject(other))).rejects.toBe(other);
    await expect(refusedAs(Promise.reject(other), () => new ConflictError('no'))).rejects.toBe(other);
  });
});

describe('bounded counter', () => {
  const count = (limit: number) =>
    countWithin(table, {
      key: { PK, SK: `COUNT#${limit}` },
      attribute: 'hits',
      type: 'TEST',
      limit,
      expiresAtEpoch: 2_000_000_000,
    });

  it('counts up to its limit exactly, however many callers race for it', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => count(5)));
    expect(answers.filter(Boolean)).toHaveLength(5);
    const stored = await table.client.send(
      new GetCommand({ TableName: table.name, Key: { PK, SK: 'COUNT#5' }, ConsistentRead: true }),
    );
    expect(stored.Item).toMatchObject({ hits: 5, type: 'TEST', expiresAtEpoch: 2_000_000_000 });
  });

  it('a limit of one lets exactly one through; a limit of zero lets none', async () => {
    expect(await count(1)).toBe(true);
    expect(await count(1)).toBe(false);
    expect(await count(0)).toBe(false);
  });
});
