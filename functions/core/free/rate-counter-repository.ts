/**
 * Where the free entry's fixed-window rate counters are stored: one item per rule, hashed subject
 * and window (`FREE#RATE#<rule>#<digest>`, `<window>`), gone with its TTL. Every DynamoDB call of the
 * counters is here; a window already full is an answer (`false`). The rules stay in rate-limits.ts.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, type Table } from '../db.ts';
import { ITEM_TYPE } from '../keys.ts';
import { freeRateKey } from './keys.ts';

export class RateCounterRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Counts one hit in a window if it holds fewer than `limit`; false when it is full. */
  async hit(
    counter: { readonly rule: string; readonly subjectDigest: string; readonly window: number },
    limit: number,
    expiresAtEpoch: number,
  ): Promise<boolean> {
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: freeRateKey(counter.rule, counter.subjectDigest, counter.window),
          UpdateExpression: 'ADD hits :one SET expiresAtEpoch = :expires, #type = :type',
          ConditionExpression: 'attribute_not_exists(hits) OR hits < :limit',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': limit,
            ':expires': expiresAtEpoch,
            ':type': ITEM_TYPE.freeRate,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
