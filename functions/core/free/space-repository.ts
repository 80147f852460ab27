/**
 * The storage a personal space's sign-up undoes: the items of a space's partition left behind by a
 * sign-up that failed before its tenant record was written. Every DynamoDB call of that clean-up is
 * here, and it refuses, page by page, to touch a partition that holds a tenant record.
 */
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ConflictError, ServiceUnavailableError } from '../errors.ts';
import { TAG, tenantPk } from '../keys.ts';

/** Items deleted per batch (BatchWriteItem's limit). */
const BATCH = 25;
/** Batch requests one page makes for the deletes a throttled answer left unprocessed, before giving up. */
const ATTEMPTS = 5;

export class SpaceRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /**
   * Deletes every item of a tenant's partition, 25 at a time; ConflictError (and nothing more
   * deleted) as soon as a page holds the tenant record.
   */
  async clearPartition(tenantId: string): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#table.client.send(
        new QueryCommand({
          TableName: this.#table.name,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': tenantPk(tenantId) },
          ProjectionExpression: 'PK, SK',
          Limit: BATCH,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      const keys = (page.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
      if (keys.some((key) => key.SK === TAG.tenant)) {
        throw new ConflictError(`Tenant ${tenantId} exists; its partition is never cleared`);
      }
      let pending = keys.map((key) => ({ DeleteRequest: { Key: key } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= ATTEMPTS)
          throw new ServiceUnavailableError(`Could not clear the partition of ${tenantId}; retry`);
        const result = await this.#table.client.send(
          new BatchWriteCommand({ RequestItems: { [this.#table.name]: pending } }),
        );
        pending = (result.UnprocessedItems?.[this.#table.name] ?? []) as typeof pending;
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
}
