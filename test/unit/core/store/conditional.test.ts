/**
 * Conditional writes as repositories read them, against a real local store (dynalite) through the
 * real SDK client: a refusal by the condition is an answer (`putItem` false, `updateItem` and
 * `deleteItem` null) or the typed error the caller names (with the refusal as its cause); any other
 * failure passes through unchanged. And the bounded counter: concurrent callers never pass its limit.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConditionFailure, type Table } from '../../../../functions/core/db.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import { tenantPk } from '../../../../functions/core/keys.ts';
import { deleteItem, putItem, updateItem } from '../../../../functions/core/store/conditional.ts';
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
  return putItem(table, { Item: { PK, SK: sk, value }, ConditionExpression: 'attribute_not_exists(PK)' });
}

describe('conditional writes', () => {
  const taken = (cause: unknown) => new ConflictError('taken', { cause });
  const read = async (sk: string) =>
    (
      await table.client.send(
        new GetCommand({ TableName: table.name, Key: { PK, SK: sk }, ConsistentRead: true }),
      )
    ).Item;

  it('putItem: true when made, false when the condition refused it (and nothing changed)', async () => {
    expect(await putNew('W#1', 1)).toBe(true);
    expect(await putNew('W#1', 2)).toBe(false);
    expect((await read('W#1'))?.value).toBe(1);
  });

  it('updateItem: the attributes asked for ({} for none), or null for a refusal', async () => {
    await putNew('U#1', 1);
    const bump = (expected: number, returnValues?: 'ALL_NEW') =>
      updateItem(table, {
        Key: { PK, SK: 'U#1' },
        UpdateExpression: 'SET #value = #value + :one',
        ConditionExpression: '#value = :expected',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: { ':one': 1, ':expected': expected },
        ...(returnValues === undefined ? {} : { ReturnValues: returnValues }),
      });
    expect(await bump(1)).toEqual({});
    expect(await bump(2, 'ALL_NEW')).toEqual({ PK, SK: 'U#1', value: 3 });
    expect(await bump(2)).toBeNull();
    expect((await read('U#1'))?.value).toBe(3);
  });

  it('deleteItem: the old attributes asked for, or null for a refusal (and the item stays)', async () => {
    await putNew('D#1', 1);
    const remove = (value: number) =>
      deleteItem(table, {
        Key: { PK, SK: 'D#1' },
        ConditionExpression: '#value = :value',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: { ':value': value },
        ReturnValues: 'ALL_OLD',
      });
    expect(await remove(2)).toBeNull();
    expect(await read('D#1')).toBeDefined();
    expect(await remove(1)).toEqual({ PK, SK: 'D#1', value: 1 });
    expect(await read('D#1')).toBeUndefined();
  });

  it('a refusal becomes the typed error the caller names, with the refusal as its cause', async () => {
    await putNew('R#1', 1);
    const setTwo = (condition: string) => ({
      Key: { PK, SK: 'R#1' },
      UpdateExpression: 'SET #value = :two',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#value': 'value' },
      ExpressionAttributeValues: { ':two': 2 },
    });
    const refusals = [
      putItem(
        table,
        { Item: { PK, SK: 'R#1', value: 2 }, ConditionExpression: 'attribute_not_exists(PK)' },
        taken,
      ),
      updateItem(table, setTwo('attribute_not_exists(PK)'), taken),
      deleteItem(table, { Key: { PK, SK: 'R#1' }, ConditionExpression: 'attribute_not_exists(PK)' }, taken),
    ];
    for (const refusal of refusals) {
      const error = await refusal.catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(ConflictError);
      expect(isConditionFailure((error as Error).cause)).toBe(true);
    }
    expect((await read('R#1'))?.value).toBe(1);
    // A write its condition lets through answers as it would without a refusal named.
    expect(
      await updateItem(table, { ...setTwo('attribute_exists(PK)'), ReturnValues: 'UPDATED_NEW' }, taken),
    ).toEqual({ value: 2 });
  });

  it('any other failure passes through unchanged (never taken for a refusal)', async () => {
    const invalid = { Item: { PK, SK: '' }, ConditionExpression: 'attribute_not_exists(PK)' };
    for (const write of [putItem(table, invalid), putItem(table, invalid, taken)]) {
      const error = await write.catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ConflictError);
      expect(isConditionFailure(error)).toBe(false);
    }
    const other = new Error('network');
    const failing: Table = {
      name: table.name,
      client: { send: () => Promise.reject(other) } as unknown as Table['client'],
    };
    const key = { Key: { PK, SK: 'X#1' } };
    await expect(putItem(failing, { Item: { PK, SK: 'X#1' } })).rejects.toBe(other);
    await expect(updateItem(failing, { ...key, UpdateExpression: 'SET a = :a' }, taken)).rejects.toBe(other);
    await expect(deleteItem(failing, key)).rejects.toBe(other);
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
