/**
 * Where a tenant's records and its data usage are stored, in the tenant's partition: each record
 * (`DATA#<collection>#<key>`, its JSON text as written and its version) and the usage counter
 * (`DATAUSAGE`: records and bytes). Every DynamoDB call of the records is here; items are parsed at
 * this boundary. A write or delete refused by its version, and a reservation refused by the plan's
 * limits, are answers (`false`): what they mean (a conflict, a retry, a quota) stays in records.ts.
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { domainPk, ITEM_TYPE } from '../keys.ts';
import { deleteItem, putItem, updateItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { recordKey, recordPrefix, usageKey } from './keys.ts';
import type { StoredRecord } from './records.ts';

/** What a tenant's data takes, as its counter says. */
export interface StoredUsage {
  readonly records: number;
  readonly bytes: number;
}

function toRecord(item: Record<string, unknown>): StoredRecord {
  return {
    key: String(item.key),
    json: String(item.json),
    version: Number(item.version),
    bytes: Number(item.bytes),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    updatedBy: String(item.updatedBy),
  };
}

export class RecordRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** A record (strongly consistent), or null. */
  async find(domain: TenantContext, collection: string, key: string): Promise<StoredRecord | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: recordKey(domain, collection, key),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? null : toRecord(result.Item);
  }

  /**
   * Writes `record` over the one at `currentVersion` (null: there must be none); false when the
   * record moved meanwhile.
   */
  async write(
    domain: TenantContext,
    collection: string,
    record: StoredRecord,
    currentVersion: number | null,
  ): Promise<boolean> {
    return putItem(this.#table, {
      Item: {
        ...recordKey(domain, collection, record.key),
        type: ITEM_TYPE.dataRecord,
        collection,
        ...record,
      },
      ConditionExpression: currentVersion === null ? 'attribute_not_exists(PK)' : 'version = :version',
      ...(currentVersion === null ? {} : { ExpressionAttributeValues: { ':version': currentVersion } }),
    });
  }

  /** Deletes the record at `version`; false when it moved meanwhile. */
  async remove(domain: TenantContext, collection: string, key: string, version: number): Promise<boolean> {
    const removed = await deleteItem(this.#table, {
      Key: recordKey(domain, collection, key),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': version },
    });
    return removed !== null;
  }

  /**
   * Up to `limit` records of a collection whose keys start with `prefix`, in key order, after the
   * key `after` (strongly consistent). `more`: DynamoDB stopped before the range's end (its own read
   * limit, or `limit`).
   */
  async range(
    domain: TenantContext,
    collection: string,
    options: { readonly prefix: string; readonly limit: number; readonly after?: string },
  ): Promise<{ items: StoredRecord[]; more: boolean }> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: {
          ':pk': domainPk(domain),
          ':prefix': recordPrefix(domain, collection, options.prefix),
        },
        Limit: options.limit,
        ConsistentRead: true,
        ...(options.after === undefined
          ? {}
          : { ExclusiveStartKey: recordKey(domain, collection, options.after) }),
      }),
    );
    return { items: (result.Items ?? []).map(toRecord), more: result.LastEvaluatedKey !== undefined };
  }

  /** Whether a collection holds any record. */
  async any(domain: TenantContext, collection: string): Promise<boolean> {
    return (await this.range(domain, collection, { prefix: '', limit: 1 })).items.length > 0;
  }

  /** The tenant's usage counter (strongly consistent; zero before its first record). */
  async usage(domain: TenantContext): Promise<StoredUsage> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: usageKey(domain), ConsistentRead: true }),
    );
    return { records: Number(result.Item?.records ?? 0), bytes: Number(result.Item?.bytes ?? 0) };
  }

  /**
   * Adds `records` and `bytes` to the usage, if the counters stay within `limits` (checked only for
   * what grows); false when they would not.
   */
  async reserve(
    domain: TenantContext,
    records: number,
    bytes: number,
    limits: { readonly records: number; readonly bytes: number },
  ): Promise<boolean> {
    const conditions: string[] = [];
    const values: Record<string, number> = { ':records': records, ':bytes': bytes };
    if (records > 0) {
      conditions.push('(attribute_not_exists(records) OR records <= :maxRecords)');
      values[':maxRecords'] = limits.records - records;
    }
    if (bytes > 0) {
      conditions.push('(attribute_not_exists(bytes) OR bytes <= :maxBytes)');
      values[':maxBytes'] = limits.bytes - bytes;
    }
    return (
      (await updateItem(this.#table, {
        Key: usageKey(domain),
        UpdateExpression: 'ADD records :records, bytes :bytes SET #type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ...values, ':type': ITEM_TYPE.dataUsage },
        ...(conditions.length === 0 ? {} : { ConditionExpression: conditions.join(' AND ') }),
      })) !== null
    );
  }

  /** Takes `records` and `bytes` off the usage. */
  async release(domain: TenantContext, records: number, bytes: number): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: usageKey(domain),
        UpdateExpression: 'ADD records :records, bytes :bytes',
        ExpressionAttributeValues: { ':records': -records, ':bytes': -bytes },
      }),
    );
  }
}
