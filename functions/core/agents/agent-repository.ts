/**
 * Where local agents are stored, in the tenant's partition: the agent (`AGENT#<name>`), its tokens
 * (`AGENTTOKEN#<id>`, the secret only as its hash) and its queued jobs (`AGENTJOB#<agent>#<run>`,
 * the lease only as its hash). Every DynamoDB call of the agents is here; items are parsed at this
 * boundary, and a write refused by its condition comes out as a typed error or, where the refusal
 * is an expected outcome (a job queued twice, a lease taken by another poll), as the answer.
 * Token, lease and status rules stay in agents.ts.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll, type Table } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { childPrefix, domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import { deleteItem, putItem, updateItem } from '../store/conditional.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Agent, AgentJob } from './agents.ts';

/** A write about an agent was refused because its token is no longer the current one. */
export class AgentTokenChangedError extends ConflictError {}

function toAgent(item: Record<string, unknown>): Agent {
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    name: String(item.name),
    description: String(item.description ?? ''),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    tokenId: text(item.tokenId),
    tokenCreatedAt: text(item.tokenCreatedAt),
    lastSeenAt: text(item.lastSeenAt),
    stoppedAt: text(item.stoppedAt),
    version: text(item.version),
    platform: text(item.platform),
  };
}

/** A stored token: the agent it names, its secret's hash, whether revoked. */
export interface StoredAgentToken {
  readonly agent: string;
  readonly secretHash: string;
  readonly revoked: boolean;
}

/** A queued job and the hash of the lease it was handed out with (`null`: not leased). */
export interface StoredAgentJob {
  readonly key: Key;
  readonly job: AgentJob;
  readonly leaseHash: string | null;
  /** When the agent holding the lease reported the job started (`null`: not yet). */
  readonly startedAt: string | null;
}

function agentKey(domain: TenantContext, name: string): Key {
  return itemKey(domain, TAG.agent, name);
}

function tokenKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.agentToken, id);
}

function jobKey(domain: TenantContext, agent: string, executionId: string): Key {
  return itemKey(domain, TAG.agentJob, agent, executionId);
}

function toJob(item: Record<string, unknown>): StoredAgentJob {
  return {
    key: { PK: String(item.PK), SK: String(item.SK) },
    job: item.job as AgentJob,
    leaseHash: typeof item.leaseHash === 'string' ? item.leaseHash : null,
    startedAt: typeof item.startedAt === 'string' ? item.startedAt : null,
  };
}

/** A job free to lease: never leased, or its lease lapsed (`:lapsed`) without a start report. */
const LEASABLE =
  'attribute_not_exists(leaseHash) OR (attribute_not_exists(startedAt) AND leasedAt < :lapsed)';

export class AgentRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  async *all(domain: TenantContext): AsyncGenerator<Agent> {
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.agent) },
    })) {
      yield toAgent(item);
    }
  }

  async find(domain: TenantContext, name: string): Promise<Agent | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: agentKey(domain, name), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toAgent(result.Item);
  }

  /** Writes a new agent holding token `tokenId`; a name taken is a ConflictError. */
  async create(
    domain: TenantContext,
    agent: { name: string; description: string; createdBy: string; tokenId: string },
    at: string,
  ): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: {
          ...agentKey(domain, agent.name),
          type: ITEM_TYPE.agent,
          name: agent.name,
          description: agent.description,
          createdAt: at,
          createdBy: agent.createdBy,
          tokenId: agent.tokenId,
          tokenCreatedAt: at,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConflictError(`An agent named ${agent.name} exists`, { cause: error }),
    );
  }

  /** Makes `tokenId` the agent's token, or (null) leaves it without one. */
  async setToken(domain: TenantContext, name: string, tokenId: string | null, at: string): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: agentKey(domain, name),
        ...(tokenId === null
          ? {
              UpdateExpression: 'REMOVE tokenId, tokenCreatedAt SET revokedAt = :now',
              ExpressionAttributeValues: { ':now': at },
            }
          : {
              UpdateExpression: 'SET tokenId = :id, tokenCreatedAt = :now',
              ExpressionAttributeValues: { ':id': tokenId, ':now': at },
            }),
        ConditionExpression: 'attribute_exists(PK)',
      },
      (error) => new NotFoundError(`Agent ${name} not found`, { cause: error }),
    );
  }

  /** Records a sighting of an agent still holding `tokenId`; returns the agent as written. */
  async seen(
    domain: TenantContext,
    name: string,
    tokenId: string | null,
    sighting: { at: string; version: string; platform: string },
  ): Promise<Agent> {
    const result = await updateItem(
      this.#table,
      {
        Key: agentKey(domain, name),
        UpdateExpression: 'SET lastSeenAt = :now, version = :version, platform = :platform',
        ConditionExpression: 'tokenId = :token',
        ExpressionAttributeValues: {
          ':now': sighting.at,
          ':version': sighting.version,
          ':platform': sighting.platform,
          ':token': tokenId,
        },
        ReturnValues: 'ALL_NEW',
      },
      (error) => new AgentTokenChangedError(`Agent ${name} holds another token`, { cause: error }),
    );
    return toAgent(result);
  }

  /**
   * Records that an agent still holding `tokenId` stopped: its last sighting, as it went offline.
   * Its next sighting (a hello or poll after `at`) makes it online again.
   */
  async stopped(domain: TenantContext, name: string, tokenId: string | null, at: string): Promise<Agent> {
    const result = await updateItem(
      this.#table,
      {
        Key: agentKey(domain, name),
        UpdateExpression: 'SET lastSeenAt = :now, stoppedAt = :now',
        ConditionExpression: 'tokenId = :token',
        ExpressionAttributeValues: { ':now': at, ':token': tokenId },
        ReturnValues: 'ALL_NEW',
      },
      (error) => new AgentTokenChangedError(`Agent ${name} holds another token`, { cause: error }),
    );
    return toAgent(result);
  }

  async putToken(
    domain: TenantContext,
    agent: string,
    id: string,
    secretHash: string,
    at: string,
  ): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...tokenKey(domain, id),
          type: ITEM_TYPE.agentToken,
          id,
          agent,
          secretHash,
          createdAt: at,
          revoked: false,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  }

  async token(domain: TenantContext, id: string): Promise<StoredAgentToken | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: tokenKey(domain, id), ConsistentRead: true }),
    );
    const item = result.Item;
    if (item === undefined) return null;
    return {
      agent: String(item.agent),
      secretHash: String(item.secretHash ?? ''),
      revoked: item.revoked === true,
    };
  }

  async revokeToken(domain: TenantContext, id: string, at: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: tokenKey(domain, id),
        UpdateExpression: 'SET revoked = :yes, revokedAt = :now',
        ExpressionAttributeValues: { ':yes': true, ':now': at },
      }),
    );
  }

  /** Queues a job once: a job already queued is left as it is. */
  async enqueue(domain: TenantContext, agent: string, job: AgentJob, at: string): Promise<void> {
    await putItem(this.#table, {
      Item: {
        ...jobKey(domain, agent, job.executionId),
        type: ITEM_TYPE.agentJob,
        agent,
        job,
        createdAt: at,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /**
   * Up to `limit` of the agent's jobs free to lease, oldest first: not leased, or leased before
   * `lapsedBefore` and never started (a lease that did not reach its agent).
   */
  async leasable(
    domain: TenantContext,
    agent: string,
    lapsedBefore: string,
    limit: number,
  ): Promise<StoredAgentJob[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        FilterExpression: LEASABLE,
        ExpressionAttributeValues: {
          ':pk': domainPk(domain),
          ':prefix': childPrefix(TAG.agentJob, agent),
          ':lapsed': lapsedBefore,
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map(toJob);
  }

  /** Leases a job (see `leasable`); false when another poll leased it first. */
  async lease(
    key: Key,
    lease: { hash: string; at: string; tokenId: string | null; lapsedBefore: string },
  ): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: key,
        UpdateExpression: 'SET leaseHash = :hash, leasedAt = :now, leasedTo = :token',
        ConditionExpression: `attribute_exists(PK) AND ${LEASABLE}`,
        ExpressionAttributeValues: {
          ':hash': lease.hash,
          ':now': lease.at,
          ':token': lease.tokenId,
          ':lapsed': lease.lapsedBefore,
        },
      })) !== null
    );
  }

  /**
   * Marks a job started by the holder of `leaseHash`; false when that lease is not the job's (it
   * lapsed and the job was leased again, or the job was reported already). Once started, a job is
   * never leased again.
   */
  async markStarted(
    domain: TenantContext,
    agent: string,
    executionId: string,
    leaseHash: string,
    at: string,
  ): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: jobKey(domain, agent, executionId),
        UpdateExpression: 'SET startedAt = if_not_exists(startedAt, :now)',
        ConditionExpression: 'leaseHash = :hash',
        ExpressionAttributeValues: { ':hash': leaseHash, ':now': at },
      })) !== null
    );
  }

  async job(domain: TenantContext, agent: string, executionId: string): Promise<StoredAgentJob | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: jobKey(domain, agent, executionId),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? null : toJob(result.Item);
  }

  /** Deletes a job no agent has started (its run ended before); a started one is kept. */
  async discard(key: Key): Promise<void> {
    await deleteItem(this.#table, { Key: key, ConditionExpression: 'attribute_not_exists(startedAt)' });
  }

  /** Deletes a job still leased with `leaseHash`; false when it is not (reported already). */
  async release(
    domain: TenantContext,
    agent: string,
    executionId: string,
    leaseHash: string,
  ): Promise<boolean> {
    return (
      (await deleteItem(this.#table, {
        Key: jobKey(domain, agent, executionId),
        ConditionExpression: 'leaseHash = :hash',
        ExpressionAttributeValues: { ':hash': leaseHash },
      })) !== null
    );
  }
}
