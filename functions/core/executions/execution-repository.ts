/**
 * Where runs are stored: the run (`EXEC#<id>`, in its tenant's partition) with its places in the
 * approvals inbox (GSI1, while it waits for approval), the sharded index of unfinished runs by
 * deadline (GSI2, until it ends) and the filtered listings (GSI3–GSI5: by status, Skill and
 * requester); its idempotency claims (`IDEMP#<hash>`), streamed log chunks (`EXECLOG#<id>#<seq>`)
 * and approval votes (`VOTE#<id>#<approver>`). Every DynamoDB call of runs is here; items are parsed
 * at this boundary and a write refused by its condition comes out as a typed error or, where a
 * refusal is an expected answer (a transition a racing writer made first, a chunk or vote written
 * before), as that answer. The rules — which moves are allowed, what a report makes of a run, who
 * may read or cancel it — stay in executions.ts and the modules beside it.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LogChunk } from '../../contract/responses.ts';
import { toSkill } from '../catalog/skill-repository.ts';
import type { Skill } from '../catalog/skills.ts';
import { batchGetAll, queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { sha256 } from '../hashing.ts';
import { parseJson, stringifyJson } from '../json.ts';
import {
  ACTIVE_EXECUTION_SHARDS,
  activeExecutionSort,
  activeExecutionsShard,
  approvalsInbox,
  approvalsInboxSort,
  childPrefix,
  domainPk,
  executionLogKey,
  executionLogPrefix,
  executionsByRequester,
  executionsBySkill,
  executionsByStatus,
  FILTER_INDEXES,
  INDEX,
  ITEM_TYPE,
  indexAttributes,
  indexKeyNames,
  itemKey,
  type Key,
  TAG,
  tenantKey,
  typePrefix,
  withoutKeys,
} from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { TenantContext, TenantSummary } from '../tenancy/domain.ts';
import { tenantSummaryOf } from '../tenancy/tenant-repository.ts';
import type { Vote } from './approvals.ts';
import type { Execution } from './model.ts';
import type { ExecutionStatus } from './state-machine.ts';

/** A run of this id exists already (written by a concurrent replay of the same request). A 409. */
export class ExecutionExistsError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Execution ${id} exists already`, options);
  }
}

/** An approver's vote on this run exists already. A 409, as before the store was split out. */
export class VoteCastError extends ConflictError {
  constructor(options: { cause?: unknown } = {}) {
    super('You have already decided on this run', options);
  }
}

/**
 * The store refused a run's item itself (too large, or a value it cannot hold): never a transient
 * fault, so the caller records the run's failure instead of retrying. Its message is the store's.
 */
export class RunNotStorableError extends Error {
  override readonly name = 'RunNotStorableError';
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/** A conditional move of a run to another status, with what it writes on the way. */
export interface Move {
  readonly to: ExecutionStatus;
  /** The statuses it may leave. */
  readonly from: readonly ExecutionStatus[];
  readonly set: Readonly<Record<string, unknown>>;
  /** Fields set only where the run has none yet. */
  readonly ifAbsent?: Readonly<Record<string, unknown>>;
  /** Fields the run must hold for the move to apply. */
  readonly where?: Readonly<Record<string, string | number>>;
  /** The run's new deadline in the index of unfinished runs. */
  readonly activeUntil?: string;
  /** What the run leaves: the approvals inbox, or the inbox and the index of unfinished runs (it ended). */
  readonly leaves?: 'inbox' | 'all';
}

/** Which listing a page of runs is read from, and the run ids it covers (inclusive). */
export interface RunQuery {
  readonly lower: string;
  readonly upper: string;
  readonly status?: ExecutionStatus;
  readonly skillId?: string;
  readonly requestedBy?: string;
}

/** An idempotency claim: won by this request, or held by an earlier one (absent if it just vanished). */
export type IdempotencyClaim =
  | { readonly won: true }
  | { readonly won: false; readonly held?: { readonly executionId: string; readonly fingerprint: string } };

const INBOX = indexKeyNames(INDEX.listing);
const ACTIVE = indexKeyNames(INDEX.lifecycle);
const BY_STATUS = indexKeyNames(FILTER_INDEXES.executionStatus);
/** The index attributes a run loses when it leaves the inbox, or every place of an unfinished run. */
const INBOX_INDEXES = [INBOX.pk, INBOX.sk] as const;
const ALL_INDEXES = [INBOX.pk, INBOX.sk, ACTIVE.pk, ACTIVE.sk] as const;
/** Every index a run is in (none of them part of the run). */
const RUN_INDEXES = [
  INDEX.listing,
  INDEX.lifecycle,
  FILTER_INDEXES.executionStatus,
  FILTER_INDEXES.executionSkill,
  FILTER_INDEXES.executionRequester,
];

/**
 * Input and output are stored as JSON text (`inputJson`, `outputJson`), exactly as received: a
 * DynamoDB map cannot hold 12345678901234567890, 1e-300 or a `__proto__` key, and a marshalling
 * failure in the recorder used to leave a run `running` until the sweep called it lost. Items
 * written before this change carry `input` / `output` maps, read as they are.
 */
function toExecution(item: Record<string, unknown>): Execution {
  const { type: _type, inputJson, outputJson, ...rest } = withoutKeys(item, RUN_INDEXES);
  return {
    ...(rest as unknown as Execution),
    ...(typeof inputJson === 'string' ? { input: parseJson(inputJson) } : {}),
    ...(typeof outputJson === 'string' ? { output: parseJson(outputJson) } : {}),
  };
}

/** The stored form of an execution (see toExecution). */
function executionItem(execution: Execution): Record<string, unknown> {
  const { input, output, ...rest } = execution;
  return {
    ...rest,
    inputJson: stringifyJson(input),
    ...(output === undefined ? {} : { outputJson: stringifyJson(output) }),
  };
}

function toVote(item: Record<string, unknown>): Vote {
  return {
    approver: String(item.approver),
    decision: item.decision as Vote['decision'],
    comment: String(item.comment ?? ''),
    admin: item.admin === true,
    at: String(item.at),
  };
}

function executionKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.execution, id);
}

function shardOf(id: string): number {
  return Number.parseInt(sha256(id).slice(0, 4), 16) % ACTIVE_EXECUTION_SHARDS;
}

/** A run's place in the sharded index of unfinished runs. */
function activeIndex(domain: TenantContext, id: string, deadline: string): Record<string, string> {
  return indexAttributes(INDEX.lifecycle, {
    partition: activeExecutionsShard(shardOf(id)),
    sort: activeExecutionSort(deadline, domain.tenant.id, id),
  });
}

export class ExecutionRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The run as it is now (strongly consistent), or null. */
  async find(domain: TenantContext, id: string): Promise<Execution | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: executionKey(domain, id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toExecution(result.Item);
  }

  /** A run's status alone (strongly consistent), or null. */
  async status(domain: TenantContext, id: string): Promise<ExecutionStatus | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: executionKey(domain, id),
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    const status = result.Item?.status;
    return typeof status === 'string' ? (status as ExecutionStatus) : null;
  }

  /**
   * The head of a Skill and its tenant's summary, both read consistently in one batch (a request
   * sees a suspension at once without a read of its own); either null when absent.
   */
  async skillAndTenant(
    domain: TenantContext,
    skillId: string,
  ): Promise<{ skill: Skill | null; tenant: TenantSummary | null }> {
    const skillKey = itemKey(domain, TAG.skill, skillId);
    const tenantRecord = tenantKey(domain.tenant.id);
    const found = await batchGetAll(this.#table, [skillKey, tenantRecord], { consistent: true });
    const isItem = (key: Key) => (item: Record<string, unknown>) => item.PK === key.PK && item.SK === key.SK;
    const skillItem = found.find(isItem(skillKey));
    const tenantItem = found.find(isItem(tenantRecord));
    return {
      skill: skillItem === undefined ? null : toSkill(skillItem),
      tenant: tenantItem === undefined ? null : tenantSummaryOf(tenantItem),
    };
  }

  /**
   * Claims an idempotency key (its hash) for `executionId` and a request fingerprint, unless a live
   * claim holds it; an expired one (TTL deletion is lazy, and absent locally) is taken over.
   */
  async claimIdempotency(
    domain: TenantContext,
    keyHash: string,
    executionId: string,
    fingerprint: string,
    nowEpoch: number,
    expiresAtEpoch: number,
  ): Promise<IdempotencyClaim> {
    const key = itemKey(domain, TAG.idempotency, keyHash);
    const won = await putItem(this.#table, {
      Item: { ...key, type: ITEM_TYPE.idempotency, executionId, fingerprint, expiresAtEpoch },
      ConditionExpression: 'attribute_not_exists(PK) OR expiresAtEpoch < :now',
      ExpressionAttributeValues: { ':now': nowEpoch },
    });
    if (won) return { won: true };
    const existing = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: key, ConsistentRead: true }),
    );
    const item = existing.Item;
    return item === undefined
      ? { won: false }
      : {
          won: false,
          held: { executionId: String(item.executionId), fingerprint: String(item.fingerprint) },
        };
  }

  /**
   * Writes a new run with its places in the listings, the index of unfinished runs (by its deadline)
   * and, while it waits for approval, the inbox. ExecutionExistsError when the id is taken.
   */
  async create(domain: TenantContext, execution: Execution): Promise<void> {
    const { id } = execution;
    await putItem(
      this.#table,
      {
        Item: {
          ...executionKey(domain, id),
          type: ITEM_TYPE.execution,
          ...executionItem(execution),
          ...activeIndex(domain, id, execution.deadline ?? ''),
          ...(execution.status === 'pending_approval'
            ? indexAttributes(INDEX.listing, {
                partition: approvalsInbox(domain),
                sort: approvalsInboxSort(execution.createdAt, id),
              })
            : {}),
          ...indexAttributes(FILTER_INDEXES.executionStatus, {
            partition: executionsByStatus(domain, execution.status),
            sort: id,
          }),
          ...indexAttributes(FILTER_INDEXES.executionSkill, {
            partition: executionsBySkill(domain, execution.skillId),
            sort: id,
          }),
          ...indexAttributes(FILTER_INDEXES.executionRequester, {
            partition: executionsByRequester(domain, execution.requestedBy),
            sort: id,
          }),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (cause) => new ExecutionExistsError(id, { cause }),
    );
  }

  /**
   * One conditional move; the status listing moves with the status in the same write. Null when the
   * run was not in a status it may leave (or does not hold `where`); RunNotStorableError when the
   * store refuses what the move writes.
   */
  async move(domain: TenantContext, id: string, move: Move): Promise<Execution | null> {
    const names: Record<string, string> = { '#status': 'status', '#statusIndex': BY_STATUS.pk };
    const values: Record<string, unknown> = {
      ':to': move.to,
      ':statusIndex': executionsByStatus(domain, move.to),
    };
    const sets = ['#status = :to', '#statusIndex = :statusIndex'];
    const fields = {
      ...move.set,
      ...(move.activeUntil === undefined ? {} : activeIndex(domain, id, move.activeUntil)),
    };
    Object.entries(fields).forEach(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      sets.push(`#f${index} = :f${index}`);
    });
    Object.entries(move.ifAbsent ?? {}).forEach(([field, value], index) => {
      names[`#a${index}`] = field;
      values[`:a${index}`] = value;
      sets.push(`#a${index} = if_not_exists(#a${index}, :a${index})`);
    });
    const allowed = move.from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    const matches = Object.entries(move.where ?? {}).map(([field, value], index) => {
      names[`#w${index}`] = field;
      values[`:w${index}`] = value;
      return ` AND #w${index} = :w${index}`;
    });
    const remove = move.leaves === undefined ? [] : move.leaves === 'inbox' ? INBOX_INDEXES : ALL_INDEXES;
    let item: Record<string, unknown> | null;
    try {
      item = await updateItem(this.#table, {
        Key: executionKey(domain, id),
        UpdateExpression: `SET ${sets.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: `attribute_exists(PK) AND #status IN (${allowed.join(', ')})${matches.join('')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      });
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ValidationException')
        throw new RunNotStorableError(error as Error);
      throw error;
    }
    return item === null ? null : toExecution(item);
  }

  /**
   * Records a cancel request on a run a runtime may hold (requested, queued or running). Null when
   * the run is in none of those statuses, or gone.
   */
  async requestCancel(domain: TenantContext, id: string, at: string, by: string): Promise<Execution | null> {
    const item = await updateItem(this.#table, {
      Key: executionKey(domain, id),
      UpdateExpression: 'SET cancelRequested = :yes, cancelRequestedAt = :at, cancelRequestedBy = :by',
      ConditionExpression: 'attribute_exists(PK) AND #status IN (:requested, :queued, :running)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':yes': true,
        ':at': at,
        ':by': by,
        ':requested': 'requested',
        ':queued': 'queued',
        ':running': 'running',
      },
      ReturnValues: 'ALL_NEW',
    });
    return item === null ? null : toExecution(item);
  }

  /**
   * A page of runs, newest first, from the listing the query names (requester, then Skill, then
   * status; none: the tenant's own key range), between two run ids; the other filters narrow the page.
   */
  async page(
    domain: TenantContext,
    query: RunQuery,
    limit: number,
    cursor?: string,
  ): Promise<Page<Execution>> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const narrow: string[] = [];
    const also = (field: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      narrow.push(`#${field} = :${field}`);
    };
    let listing: { index?: string; partition: string; prefix: string };
    if (query.requestedBy !== undefined) {
      listing = {
        index: FILTER_INDEXES.executionRequester,
        partition: executionsByRequester(domain, query.requestedBy),
        prefix: '',
      };
      also('skillId', query.skillId);
      also('status', query.status);
    } else if (query.skillId !== undefined) {
      listing = {
        index: FILTER_INDEXES.executionSkill,
        partition: executionsBySkill(domain, query.skillId),
        prefix: '',
      };
      also('status', query.status);
    } else if (query.status !== undefined) {
      listing = {
        index: FILTER_INDEXES.executionStatus,
        partition: executionsByStatus(domain, query.status),
        prefix: '',
      };
    } else {
      listing = { partition: domainPk(domain), prefix: typePrefix(TAG.execution) };
    }
    return queryPageOf(
      this.#table,
      {
        ...(listing.index === undefined ? {} : { index: listing.index }),
        partition: listing.partition,
        range: { from: `${listing.prefix}${query.lower}`, to: `${listing.prefix}${query.upper}` },
        ...(listing.index === undefined
          ? {}
          : { owner: { partition: domainPk(domain), prefix: typePrefix(TAG.execution) } }),
        newestFirst: true,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
        ...(narrow.length > 0 ? { filter: { expression: narrow.join(' AND '), names, values } } : {}),
      },
      toExecution,
    );
  }

  /** Runs waiting for approval in a tenant (the inbox), oldest first. */
  async pendingApprovals(domain: TenantContext): Promise<Execution[]> {
    const items: Execution[] = [];
    for await (const item of queryAll(this.#table, {
      IndexName: INDEX.listing,
      KeyConditionExpression: '#pk = :inbox',
      ExpressionAttributeNames: { '#pk': INBOX.pk },
      ExpressionAttributeValues: { ':inbox': approvalsInbox(domain) },
    })) {
      items.push(toExecution(item));
    }
    return items;
  }

  /** Unfinished runs (any tenant) whose deadline is before `before`, shard by shard. */
  async *overdue(before: Date): AsyncGenerator<Execution> {
    const { pk, sk } = indexKeyNames(INDEX.lifecycle);
    for (let shard = 0; shard < ACTIVE_EXECUTION_SHARDS; shard++) {
      for await (const item of queryAll(this.#table, {
        IndexName: INDEX.lifecycle,
        KeyConditionExpression: `${pk} = :shard AND ${sk} < :before`,
        ExpressionAttributeValues: {
          ':shard': activeExecutionsShard(shard),
          ':before': before.toISOString(),
        },
      })) {
        yield toExecution(item);
      }
    }
  }

  /** Up to `limit` streamed chunks of a run's log with a sequence number above `after`, in order. */
  async logChunks(
    domain: TenantContext,
    id: string,
    after: number,
    limit: number,
  ): Promise<{ chunks: LogChunk[]; more: boolean }> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': domainPk(domain),
          ':from': executionLogKey(domain, id, after + 1).SK,
          ':to': `${executionLogPrefix(domain, id)}~`,
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const chunks = (result.Items ?? []).map(
      (item): LogChunk => ({
        seq: Number(item.seq),
        stream: item.stream === 'stderr' ? 'stderr' : 'stdout',
        text: String(item.text ?? ''),
        ...(typeof item.at === 'string' ? { at: item.at } : {}),
      }),
    );
    return { chunks, more: result.LastEvaluatedKey !== undefined };
  }

  /** Writes one streamed chunk of a run's log; false when that chunk was written before. */
  async putLogChunk(domain: TenantContext, executionId: string, chunk: Required<LogChunk>): Promise<boolean> {
    return putItem(this.#table, {
      Item: {
        ...executionLogKey(domain, executionId, chunk.seq),
        type: ITEM_TYPE.executionLog,
        executionId,
        seq: chunk.seq,
        stream: chunk.stream,
        text: chunk.text,
        at: chunk.at,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** Records an approver's vote on a run, once: VoteCastError when that approver voted already. */
  async castVote(domain: TenantContext, executionId: string, vote: Vote): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: {
          ...itemKey(domain, TAG.vote, executionId, vote.approver),
          type: ITEM_TYPE.vote,
          executionId,
          ...vote,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (cause) => new VoteCastError({ cause }),
    );
  }

  /** The votes cast on a run (strongly consistent), in key order. */
  async votes(domain: TenantContext, executionId: string): Promise<Vote[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: {
          ':pk': domainPk(domain),
          ':prefix': childPrefix(TAG.vote, executionId),
        },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map(toVote);
  }
}
