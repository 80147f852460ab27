/**
 * Where a tenant's collection definitions are stored (`DATACOL#<name>` in the tenant's partition).
 * Every DynamoDB call of the definitions is here; items are parsed at this boundary, and a write
 * refused by its condition is CollectionConflictError (still a 409). What a valid definition is,
 * the plan's count and who uses a collection stay in collections.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { JsonSchema } from '../catalog/schemas.ts';
import { queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { storedJson, stringifyJson } from '../json.ts';
import { domainPk, ITEM_TYPE } from '../keys.ts';
import { deleteItem, putItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Collection } from './collections.ts';
import { COLLECTION_PREFIX, collectionKey } from './keys.ts';

/** A collection's name is taken, or its definition changed since it was read. Still a 409. */
export class CollectionConflictError extends ConflictError {}

function changedConcurrently(name: string, cause: unknown): CollectionConflictError {
  return new CollectionConflictError(`Collection ${name} changed concurrently; retry`, { cause });
}

/**
 * A definition as stored: its schema and key rule as JSON text, as a Skill's schemas are (a schema
 * with a property named `constructor` was a map the marshaller took for a class instance: a 500).
 * Definitions written before carry maps, read as they are.
 */
function collectionItem(domain: TenantContext, collection: Collection): Record<string, unknown> {
  const { schema, key, ...rest } = collection;
  return {
    ...collectionKey(domain, collection.name),
    type: ITEM_TYPE.dataCollection,
    ...rest,
    schemaJson: stringifyJson(schema),
    keyJson: stringifyJson(key),
  };
}

function toCollection(item: Record<string, unknown>): Collection {
  const key = (storedJson(item.keyJson, item.key) ?? {}) as {
    field?: unknown;
    schema?: unknown;
  };
  return {
    name: String(item.name),
    description: String(item.description ?? ''),
    schema: storedJson(item.schemaJson, item.schema) as JsonSchema,
    key: {
      ...(typeof key.field === 'string' ? { field: key.field } : {}),
      ...(key.schema === undefined ? {} : { schema: key.schema as JsonSchema }),
    },
    revision: Number(item.revision),
    schemaSha256: String(item.schemaSha256),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    updatedAt: String(item.updatedAt),
    updatedBy: String(item.updatedBy),
  };
}

export class CollectionRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Every definition of the tenant (bounded by its plan), in key order. */
  async all(domain: TenantContext): Promise<Collection[]> {
    const collections: Collection[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': COLLECTION_PREFIX },
    })) {
      collections.push(toCollection(item));
    }
    return collections;
  }

  /** A definition (strongly consistent), or null. */
  async find(domain: TenantContext, name: string): Promise<Collection | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: collectionKey(domain, name), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toCollection(result.Item);
  }

  /** Writes a new definition; its name taken is CollectionConflictError. */
  async create(domain: TenantContext, collection: Collection): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: collectionItem(domain, collection),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) =>
        new CollectionConflictError(`A collection named ${collection.name} already exists`, {
          cause: error,
        }),
    );
  }

  /** Writes `collection` over the definition at `expectedRevision`; any other is CollectionConflictError. */
  async replace(domain: TenantContext, collection: Collection, expectedRevision: number): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: collectionItem(domain, collection),
        ConditionExpression: 'revision = :current',
        ExpressionAttributeValues: { ':current': expectedRevision },
      },
      (error) => changedConcurrently(collection.name, error),
    );
  }

  /** Deletes the definition at `expectedRevision`; any other is CollectionConflictError. */
  async delete(domain: TenantContext, name: string, expectedRevision: number): Promise<void> {
    await deleteItem(
      this.#table,
      {
        Key: collectionKey(domain, name),
        ConditionExpression: 'revision = :current',
        ExpressionAttributeValues: { ':current': expectedRevision },
      },
      (error) => changedConcurrently(name, error),
    );
  }
}
