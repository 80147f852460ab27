/**
 * Where the templates offered to new personal spaces are stored: one item per template in the free
 * edition's offers partition (`FREE#OFFERS`). Every DynamoDB call of the offers is here; items are
 * parsed at this boundary. Which templates may be offered stays in offers.ts.
 */
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ITEM_TYPE } from '../keys.ts';
import { OFFERS_PARTITION, offerKey } from './keys.ts';
import type { FreeOffer } from './offers.ts';

function offerFromItem(item: Record<string, unknown>): FreeOffer {
  return {
    templateId: String(item.templateId),
    name: String(item.name),
    description: String(item.description ?? ''),
    offeredAt: String(item.offeredAt),
    offeredBy: String(item.offeredBy),
  };
}

export class OfferRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The offers, at most `limit` (in key order). */
  async all(limit: number): Promise<FreeOffer[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': OFFERS_PARTITION },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map(offerFromItem);
  }

  /** Writes an offer (over the one of the same template, if any). */
  async put(offer: FreeOffer): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...offerKey(offer.templateId), type: ITEM_TYPE.freeOffer, ...offer },
      }),
    );
  }

  async delete(templateId: string): Promise<void> {
    await this.#table.client.send(
      new DeleteCommand({ TableName: this.#table.name, Key: offerKey(templateId) }),
    );
  }
}
