/**
 * Bounded counters: one item per counted period (a day's scheduled fires, a rate window's
 * attempts), raised by one conditional update so concurrent callers never pass the limit between
 * them, and gone with its TTL.
 */
import type { Table } from '../db.ts';
import type { Key } from '../keys.ts';
import { updateItem } from './conditional.ts';

export interface BoundedCount {
  readonly key: Key;
  /** The counting attribute (`fires`, `hits`). */
  readonly attribute: string;
  /** The item's `type`. */
  readonly type: string;
  readonly limit: number;
  readonly expiresAtEpoch: number;
}

/** Counts one if the counter is below its limit; false when it is not (always, for a limit below one). */
export async function countWithin(table: Table, count: BoundedCount): Promise<boolean> {
  // The condition lets the first count through whatever the limit: a limit of zero is refused here.
  if (count.limit < 1) return false;
  const counted = await updateItem(table, {
    Key: count.key,
    UpdateExpression: 'ADD #count :one SET expiresAtEpoch = :ttl, #type = :type',
    ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
    ExpressionAttributeNames: { '#count': count.attribute, '#type': 'type' },
    ExpressionAttributeValues: {
      ':one': 1,
      ':limit': count.limit,
      ':ttl': count.expiresAtEpoch,
      ':type': count.type,
    },
  });
  return counted !== null;
}
