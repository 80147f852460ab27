/**
 * Where personal access tokens are stored (`PAT#<id>`, in the domain's own partition): each with the
 * SHA-256 of its secret, never the secret. Every DynamoDB call of access tokens is here; items are
 * parsed at this boundary, and a revocation refused by its condition comes out as NotFoundError.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessToken } from '../../contract/responses.ts';
import { queryAll, type Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import { domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import { updateItem } from '../store/conditional.ts';
import type { DomainContext } from '../tenancy/domain.ts';

/** An access token as stored: its public view, its owner and host, and the hash of its secret. */
export interface StoredAccessToken extends AccessToken {
  readonly username: string;
  readonly host: string;
  readonly secretHash: string;
}

function tokenKey(domain: DomainContext, id: string): Key {
  return itemKey(domain, TAG.personalAccessToken, id);
}

export function accessTokenView(item: Record<string, unknown>): AccessToken {
  return {
    id: String(item.id),
    name: String(item.name),
    scopes: (item.scopes as string[] | undefined) ?? [],
    createdAt: String(item.createdAt),
    expiresAt: String(item.expiresAt),
    lastUsedAt: typeof item.lastUsedAt === 'string' ? item.lastUsedAt : null,
    revoked: item.revoked === true,
  };
}

function storedFromItem(item: Record<string, unknown>): StoredAccessToken {
  return {
    ...accessTokenView(item),
    username: String(item.username),
    host: String(item.host),
    secretHash: String(item.secretHash),
  };
}

export class AccessTokenRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes a new token (its id is fresh: an id taken is a collision and fails loudly). */
  async create(domain: DomainContext, token: StoredAccessToken): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...tokenKey(domain, token.id),
          type: ITEM_TYPE.personalAccessToken,
          ...token,
          expiresAtEpoch: Math.floor(Date.parse(token.expiresAt) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  }

  /** The token as it is now (a consistent read), or null. */
  async get(domain: DomainContext, id: string): Promise<StoredAccessToken | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: tokenKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : storedFromItem(result.Item);
  }

  async markUsed(domain: DomainContext, id: string, at: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: tokenKey(domain, id),
        UpdateExpression: 'SET lastUsedAt = :now',
        ExpressionAttributeValues: { ':now': at },
      }),
    );
  }

  /** The tokens `username` owns in this domain (never their secrets). */
  async listOf(domain: DomainContext, username: string): Promise<AccessToken[]> {
    const tokens: AccessToken[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      FilterExpression: 'username = :username',
      ExpressionAttributeValues: {
        ':pk': domainPk(domain),
        ':prefix': typePrefix(TAG.personalAccessToken),
        ':username': username,
      },
    })) {
      tokens.push(accessTokenView(item));
    }
    return tokens;
  }

  /**
   * Revokes a token; with `owner`, only a token that user owns. None such (absent, or another's):
   * NotFoundError.
   */
  async revoke(domain: DomainContext, id: string, at: string, owner?: string): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: tokenKey(domain, id),
        UpdateExpression: 'SET revoked = :yes, revokedAt = :now',
        ConditionExpression:
          owner === undefined ? 'attribute_exists(PK)' : 'attribute_exists(PK) AND username = :username',
        ExpressionAttributeValues: {
          ':yes': true,
          ':now': at,
          ...(owner === undefined ? {} : { ':username': owner }),
        },
      },
      (error) => new NotFoundError('Token not found', { cause: error }),
    );
  }
}
