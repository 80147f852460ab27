/**
 * Where script assets are stored: the asset item (`ASSET#<id>`: name, active and latest version,
 * state) and one immutable item per version (`ASSETV#<id>#<version>`, with its source), both in the
 * tenant's partition. Every DynamoDB call of the script assets is here; items are parsed at this
 * boundary, and a write refused by its condition comes out as a typed error (a version number taken:
 * ScriptVersionTakenError; the asset gone: NotFoundError). The rules stay in scripts.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AvailabilityState, stateOf } from '../availability.ts';
import type { Table } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { ordinalKey } from '../ids.ts';
import { childPrefix, domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import { stateUpdate } from '../store/state-update.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { ScriptAsset, ScriptVersion, ScriptVersionWithSource } from './scripts.ts';

/** Another upload took this version number first. Still a 409. */
export class ScriptVersionTakenError extends ConflictError {
  constructor(version: number, options: { cause?: unknown } = {}) {
    super(`Version ${version} already exists`, options);
  }
}

export function toAsset(item: Record<string, unknown>): ScriptAsset {
  return {
    id: String(item.id),
    kind: 'python-script',
    name: String(item.name),
    activeVersion: Number(item.activeVersion),
    latestVersion: Number(item.latestVersion),
    activationSeq: Number(item.activationSeq ?? 0),
    state: stateOf(item),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    createdBy: String(item.createdBy),
    ...(item.provenance === undefined ? {} : { provenance: item.provenance as Record<string, unknown> }),
  };
}

function toVersion(item: Record<string, unknown>): ScriptVersionWithSource {
  return {
    assetId: String(item.assetId),
    version: Number(item.version),
    sha256: String(item.sha256),
    sizeBytes: Number(item.sizeBytes),
    note: String(item.note ?? ''),
    author: String(item.author),
    createdAt: String(item.createdAt),
    source: String(item.source),
  };
}

export function withoutSource(version: ScriptVersionWithSource): ScriptVersion {
  const { source: _source, ...rest } = version;
  return rest;
}

export function scriptVersionKey(domain: TenantContext, assetId: string, version: number): Key {
  return itemKey(domain, TAG.assetVersion, assetId, ordinalKey(version));
}

function assetKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.asset, id);
}

export class ScriptRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  async get(domain: TenantContext, id: string): Promise<ScriptAsset | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: assetKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toAsset(result.Item);
  }

  /** Writes a new asset (its first version written before). */
  async create(domain: TenantContext, asset: ScriptAsset): Promise<void> {
    // A new asset is active without saying so (items written before states existed look the same).
    const { state: _state, ...stored } = asset;
    await putItem(
      this.#table,
      {
        Item: { ...assetKey(domain, asset.id), type: ITEM_TYPE.asset, ...stored },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConflictError(`Script ${asset.id} exists`, { cause: error }),
    );
  }

  /** A page of the tenant's scripts; archived ones only when asked for. */
  list(
    domain: TenantContext,
    limit: number,
    cursor: string | undefined,
    includeArchived: boolean,
  ): Promise<Page<ScriptAsset>> {
    return queryPageOf(
      this.#table,
      {
        partition: domainPk(domain),
        range: { prefix: typePrefix(TAG.asset) },
        ...(includeArchived
          ? {}
          : {
              filter: {
                expression: 'attribute_not_exists(#state) OR #state <> :archived',
                names: { '#state': 'state' },
                values: { ':archived': 'archived' },
              },
            }),
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      toAsset,
    );
  }

  async setState(
    domain: TenantContext,
    id: string,
    state: AvailabilityState,
    change: { readonly at: string; readonly by: string; readonly reason: string },
  ): Promise<ScriptAsset> {
    return this.#update(id, {
      Key: assetKey(domain, id),
      ...stateUpdate(state, change),
    });
  }

  /** Sets the script's name (a label: Skills and runs hold its id). */
  async rename(domain: TenantContext, id: string, name: string, at: string): Promise<ScriptAsset> {
    return this.#update(id, {
      Key: assetKey(domain, id),
      UpdateExpression: 'SET #name = :name, updatedAt = :now',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: { ':name': name, ':now': at },
    });
  }

  /** Moves the active pointer; the activation sequence counts every move. */
  async activate(domain: TenantContext, id: string, version: number, at: string): Promise<ScriptAsset> {
    return this.#update(id, {
      Key: assetKey(domain, id),
      UpdateExpression: 'SET activeVersion = :version, updatedAt = :now ADD activationSeq :one',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':version': version, ':now': at, ':one': 1 },
    });
  }

  /** Raises the latest version to `version`, unless a later one is recorded already. */
  async raiseLatest(domain: TenantContext, id: string, version: number, at: string): Promise<void> {
    await updateItem(this.#table, {
      Key: assetKey(domain, id),
      UpdateExpression: 'SET latestVersion = :version, updatedAt = :now',
      ConditionExpression: 'latestVersion < :version',
      ExpressionAttributeValues: { ':version': version, ':now': at },
    });
  }

  /** Writes an immutable version; a number taken already is a ScriptVersionTakenError. */
  async putVersion(domain: TenantContext, version: ScriptVersionWithSource): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: {
          ...scriptVersionKey(domain, version.assetId, version.version),
          type: ITEM_TYPE.assetVersion,
          ...version,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ScriptVersionTakenError(version.version, { cause: error }),
    );
  }

  async version(domain: TenantContext, id: string, version: number): Promise<ScriptVersionWithSource | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: scriptVersionKey(domain, id, version),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? null : toVersion(result.Item);
  }

  /** Newest first; without sources. */
  versions(domain: TenantContext, id: string, limit: number, cursor?: string): Promise<Page<ScriptVersion>> {
    return queryPageOf(
      this.#table,
      {
        partition: domainPk(domain),
        range: { prefix: childPrefix(TAG.assetVersion, id) },
        projection: 'PK, SK, assetId, version, sha256, sizeBytes, note, author, createdAt',
        newestFirst: true,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      (item) => withoutSource({ ...toVersion(item), source: '' }),
    );
  }

  async #update(
    id: string,
    input: {
      Key: Key;
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<ScriptAsset> {
    const result = await updateItem(
      this.#table,
      { ...input, ReturnValues: 'ALL_NEW' },
      (error) => new NotFoundError(`Script ${id} not found`, { cause: error }),
    );
    return toAsset(result);
  }
}
