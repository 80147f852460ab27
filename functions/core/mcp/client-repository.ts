/**
 * Where AI (MCP) clients are stored: the client (`MCPCLIENT#<id>`, with the hash of its secret and
 * the host it was issued on, never the secret) and its call log (`MCPCALL#<id>#<at>#<n>`, expiring),
 * in the tenant's partition. Every DynamoDB call of the clients is here; items are parsed at this
 * boundary and a write refused by its condition comes out as a typed error. Scopes, ownership and
 * token checks stay in clients.ts.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll, type Table } from '../db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { childPrefix, domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { DEFAULT_WAIT_SECONDS, type McpCall, type McpClient } from './clients.ts';

/** A revoked client is never changed again. A 422, as before the store was split out. */
export class McpClientRevokedError extends ValidationError {
  constructor(options: { cause?: unknown } = {}) {
    super('This AI client is revoked', [{ path: '', message: 'revoked' }], options);
  }
}

/** What a token is checked against: the client, its secret's hash and the host it was issued on. */
export interface StoredCredential {
  readonly client: McpClient;
  readonly secretHash: string;
  readonly host: string;
}

function toClient(item: Record<string, unknown>): McpClient {
  return {
    id: String(item.id),
    name: String(item.name),
    owner: String(item.owner),
    skills: Array.isArray(item.skills) ? item.skills.map(String) : [],
    tags: Array.isArray(item.tags) ? item.tags.map(String) : [],
    waitSeconds: Number(item.waitSeconds ?? DEFAULT_WAIT_SECONDS),
    createdAt: String(item.createdAt),
    expiresAt: String(item.expiresAt),
    lastUsedAt: typeof item.lastUsedAt === 'string' ? item.lastUsedAt : null,
    revoked: item.revoked === true,
    ...(typeof item.revokedAt === 'string' ? { revokedAt: item.revokedAt } : {}),
    ...(typeof item.revokedBy === 'string' ? { revokedBy: item.revokedBy } : {}),
  };
}

function toCall(item: Record<string, unknown>): McpCall {
  const error = item.error as { type?: unknown; message?: unknown } | undefined;
  return {
    at: String(item.at),
    tool: String(item.tool),
    ...(typeof item.skillId === 'string' ? { skillId: item.skillId } : {}),
    ...(typeof item.runId === 'string' ? { runId: item.runId } : {}),
    status: String(item.status),
    ...(error === undefined ? {} : { error: { type: String(error.type), message: String(error.message) } }),
  };
}

function clientKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.mcpClient, id);
}

export class McpClientRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  async create(domain: TenantContext, client: McpClient, secretHash: string): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: {
          ...clientKey(domain, client.id),
          type: ITEM_TYPE.mcpClient,
          ...client,
          host: domain.host,
          secretHash,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConflictError(`AI client ${client.id} exists`, { cause: error }),
    );
  }

  async find(domain: TenantContext, id: string): Promise<McpClient | null> {
    return (await this.credential(domain, id))?.client ?? null;
  }

  async credential(domain: TenantContext, id: string): Promise<StoredCredential | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: clientKey(domain, id), ConsistentRead: true }),
    );
    const item = result.Item;
    if (item === undefined) return null;
    return {
      client: toClient(item),
      secretHash: String(item.secretHash ?? ''),
      host: String(item.host ?? ''),
    };
  }

  /** The tenant's clients, optionally one owner's (bounded; read in pages). */
  async clientsOf(domain: TenantContext, owner: string | undefined): Promise<McpClient[]> {
    const clients: McpClient[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ...(owner === undefined
        ? {}
        : { FilterExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' } }),
      ExpressionAttributeValues: {
        ':pk': domainPk(domain),
        ':prefix': typePrefix(TAG.mcpClient),
        ...(owner === undefined ? {} : { ':owner': owner }),
      },
    })) {
      clients.push(toClient(item));
    }
    return clients;
  }

  /** Renames or re-scopes a client that is not revoked (else McpClientRevokedError). */
  async rescope(
    domain: TenantContext,
    id: string,
    change: Pick<McpClient, 'name' | 'skills' | 'tags' | 'waitSeconds'>,
  ): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: clientKey(domain, id),
        UpdateExpression: 'SET #name = :name, skills = :skills, tags = :tags, waitSeconds = :wait',
        ConditionExpression: 'attribute_exists(PK) AND revoked = :no',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: {
          ':name': change.name,
          ':skills': change.skills,
          ':tags': change.tags,
          ':wait': change.waitSeconds,
          ':no': false,
        },
      },
      (error) => new McpClientRevokedError({ cause: error }),
    );
  }

  async revoke(domain: TenantContext, id: string, at: string, by: string): Promise<void> {
    await this.#touch(id, {
      Key: clientKey(domain, id),
      UpdateExpression: 'SET revoked = :yes, revokedAt = :now, revokedBy = :by',
      ExpressionAttributeValues: { ':yes': true, ':now': at, ':by': by },
    });
  }

  async markUsed(domain: TenantContext, id: string, at: string): Promise<void> {
    await this.#touch(id, {
      Key: clientKey(domain, id),
      UpdateExpression: 'SET lastUsedAt = :now',
      ExpressionAttributeValues: { ':now': at },
    });
  }

  /** Keeps one call in the client's log until `expiresAtEpoch`. */
  async recordCall(
    domain: TenantContext,
    clientId: string,
    call: McpCall,
    unique: string,
    expiresAtEpoch: number,
  ): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...itemKey(domain, TAG.mcpCall, clientId, call.at, unique),
          type: ITEM_TYPE.mcpCall,
          clientId,
          ...call,
          expiresAtEpoch,
        },
      }),
    );
  }

  /** A client's calls, newest first. */
  calls(domain: TenantContext, id: string, limit: number, cursor?: string): Promise<Page<McpCall>> {
    return queryPageOf(
      this.#table,
      {
        partition: domainPk(domain),
        range: { prefix: childPrefix(TAG.mcpCall, id) },
        newestFirst: true,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      toCall,
    );
  }

  async #touch(
    id: string,
    input: { Key: Key; UpdateExpression: string; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<void> {
    await updateItem(
      this.#table,
      { ...input, ConditionExpression: 'attribute_exists(PK)' },
      (error) => new NotFoundError(`AI client ${id} not found`, { cause: error }),
    );
  }
}
