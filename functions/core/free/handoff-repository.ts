import type { Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { ITEM_TYPE } from '../keys.ts';
import { deleteItem, putItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { handoffKey } from './keys.ts';

/** A handoff as stored: hashes only. */
export interface StoredHandoff {
  readonly username: string;
  readonly secretHash: string;
  readonly browserHash: string;
  readonly createdAt: string;
  readonly expiresAtEpoch: number;
}

export class HandoffRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes a new handoff on the space's host; its id taken is ConflictError. */
  async create(domain: TenantContext, id: string, handoff: StoredHandoff): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: { ...handoffKey(domain, id), type: ITEM_TYPE.handoff, ...handoff, host: domain.host },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConflictError('A sign-in handoff collided; retry', { cause: error }),
    );
  }

  /**
   * Deletes the handoff if its secret and browser hashes, its host and its expiry (after `nowEpoch`)
   * all match; what it held, or null when it did not match or was not there.
   */
  async consume(
    domain: TenantContext,
    id: string,
    match: { readonly secretHash: string; readonly browserHash: string; readonly nowEpoch: number },
  ): Promise<{ readonly username: string; readonly secretHash: string } | null> {
    const result = await deleteItem(this.#table, {
      Key: handoffKey(domain, id),
      ConditionExpression:
        'secretHash = :hash AND browserHash = :browser AND host = :host AND expiresAtEpoch > :now',
      ExpressionAttributeValues: {
        ':hash': match.secretHash,
        ':browser': match.browserHash,
        ':host': domain.host,
        ':now': match.nowEpoch,
      },
      ReturnValues: 'ALL_OLD',
    });
    if (result === null) return null;
    return {
      username: String(result.username),
      secretHash: String(result.secretHash ?? ''),
    };
  }
}
