/**
 * Where plan quota counters are stored: one item per counter (`USAGE#<counter>[#<period>]`) in the
 * tenant's partition, holding the set of ids it counts, changed only by single-item conditional
 * writes. Every DynamoDB call of the quotas is here; a reservation refused by its condition is
 * answered as `false`, for quotas.ts — which holds the limits, the refusals and when a counter is
 * seeded — to decide what it means.
 */
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ITEM_TYPE, type Key } from '../keys.ts';
import { putItem, updateItem } from '../store/conditional.ts';

/** A counter as stored. */
export interface Counter {
  /** How many ids it holds. */
  readonly size: number;
  /** Whether it was seeded from what the tenant kept (counters of what is kept only). */
  readonly seeded: boolean;
}

export class UsageRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /**
   * Adds `id` to a period's counter (created as needed, expiring at `expiresAtEpoch`) if it holds
   * fewer than `limit` ids or holds `id` already. False when the counter is full.
   */
  async reservePeriod(key: Key, id: string, limit: number, expiresAtEpoch: number): Promise<boolean> {
    return this.#update({
      Key: key,
      UpdateExpression: 'ADD ids :ids SET #type = :type, expiresAtEpoch = :ttl',
      ConditionExpression: 'attribute_not_exists(ids) OR size(ids) < :limit OR contains(ids, :id)',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':ids': new Set([id]),
        ':id': id,
        ':limit': limit,
        ':type': ITEM_TYPE.usage,
        ':ttl': expiresAtEpoch,
      },
    });
  }

  /**
   * Adds `id` to a seeded counter if it holds fewer than `limit` ids or holds `id` already. False
   * when the counter is full or not seeded yet (`counter` tells which).
   */
  async reserveSeeded(key: Key, id: string, limit: number): Promise<boolean> {
    return this.#update({
      Key: key,
      UpdateExpression: 'ADD ids :ids',
      ConditionExpression:
        'attribute_exists(seededAt) AND (attribute_not_exists(ids) OR size(ids) < :limit OR contains(ids, :id))',
      ExpressionAttributeValues: { ':ids': new Set([id]), ':id': id, ':limit': limit },
    });
  }

  /** A counter (strongly consistent), or null when it does not exist. */
  async counter(key: Key): Promise<Counter | null> {
    const held = await this.held(key);
    return held === null ? null : { size: held.size, seeded: held.seeded };
  }

  /** A counter with the ids it holds (strongly consistent), or null when it does not exist. */
  async held(key: Key): Promise<(Counter & { readonly ids: readonly string[] }) | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: key, ConsistentRead: true }),
    );
    if (result.Item === undefined) return null;
    const ids = result.Item.ids instanceof Set ? [...result.Item.ids].map(String) : [];
    return { size: ids.length, ids, seeded: result.Item.seededAt !== undefined };
  }

  /** Takes `id` out of a counter; a no-op when the counter does not exist. */
  async remove(key: Key, id: string): Promise<void> {
    await this.removeAll(key, [id]);
  }

  /** Takes `ids` out of a counter (those it holds); a no-op when the counter does not exist. */
  async removeAll(key: Key, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#update({
      Key: key,
      UpdateExpression: 'DELETE ids :ids',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':ids': new Set(ids) },
    });
  }

  /** Deletes a counter, to be seeded again from what it counts when next needed. */
  async forget(key: Key): Promise<void> {
    await this.#table.client.send(new DeleteCommand({ TableName: this.#table.name, Key: key }));
  }

  /** Writes a counter's first count, unless another request wrote it meanwhile (then its count holds). */
  async seed(key: Key, ids: readonly string[], at: string): Promise<void> {
    await putItem(this.#table, {
      Item: {
        ...key,
        type: ITEM_TYPE.usage,
        seededAt: at,
        ...(ids.length === 0 ? {} : { ids: new Set(ids) }),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  async #update(input: Omit<Parameters<typeof updateItem>[1], 'ReturnValues'>): Promise<boolean> {
    return (await updateItem(this.#table, input)) !== null;
  }
}
