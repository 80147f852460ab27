/**
 * Where the free entry's fixed-window rate counters are stored: one item per rule, hashed subject
 * and window (`FREE#RATE#<rule>#<digest>`, `<window>`), gone with its TTL. Every DynamoDB call of the
 * counters is here; a window already full is an answer (`false`). The rules stay in rate-limits.ts.
 */
import type { Table } from '../db.ts';
import { ITEM_TYPE } from '../keys.ts';
import { countWithin } from '../store/counters.ts';
import { freeRateKey } from './keys.ts';

export class RateCounterRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Counts one hit in a window if it holds fewer than `limit`; false when it is full. */
  hit(
    counter: { readonly rule: string; readonly subjectDigest: string; readonly window: number },
    limit: number,
    expiresAtEpoch: number,
  ): Promise<boolean> {
    return countWithin(this.#table, {
      key: freeRateKey(counter.rule, counter.subjectDigest, counter.window),
      attribute: 'hits',
      type: ITEM_TYPE.freeRate,
      limit,
      expiresAtEpoch,
    });
  }
}
