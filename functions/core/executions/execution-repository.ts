/**
 * Where runs are stored: the run (`EXEC#<id>`, in its tenant's partition) with its places in the
 * approvals inbox (GSI1, while it waits for approval), the sharded index of unfinished runs by
 * deadline (GSI2, until it ends) and the filtered listings (GSI3–GSI5: by status, Skill and
 * requester); its idempotency claims (`IDEMP#<hash>`), streamed log chunks (`EXECLOG#<id>#<seq>`)
 * and approval votes (`VOTE#<id>#<approver>`). Every DynamoDB call of runs is here; items are parsed
 * at this boundary and a write refused by its condition comes out as a typed error or, where a
 * refusal is an expected answer (a transition a racing writer made first, a chunk or vote written
 * before), as that answer. The rules — which moves are allowed, what a report makes of a run, who
 * may read or cancel it — stay in executions.ts and the modules beside it; the items themselves (what
 * a run is stored as, and parsed from) are built in execution-items.ts.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LogChunk } from '../../contract/responses.ts';
import { toSkill } from '../catalog/skill-repository.ts';
import type { Skill } from '../catalog/skills.ts';
import { batchGetAll, batchGetMany, queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import {
  ACTIVE_EXECUTION_SHARDS,
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
  indexKeyNames,
  itemKey,
  type Key,
  TAG,
  tenantKey,
  typePrefix,
} from '../keys.ts';
import { encodeCursor, MAX_PAGE_SIZE, type Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { TenantContext, TenantSummary } from '../tenancy/domain.ts';
import { tenantSummaryOf } from '../tenancy/tenant-repository.ts';
import type { Vote } from './approvals.ts';
import {
  ALL_INDEXES,
  activeIndex,
  BY_STATUS,
  executionKey,
  INBOX,
  INBOX_INDEXES,
  newRunItem,
  toExecution,
  toLogChunk,
  toVote,
} from './execution-items.ts';
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

  /**
   * The statuses of runs, as they are now, by id; runs that do not exist are left out. One batch read
   * per BATCH_GET_KEYS ids (the callers bound how many: a page, a plan's schedules).
   */
  async statuses(domain: TenantContext, ids: readonly string[]): Promise<Map<string, ExecutionStatus>> {
    // The status alone: a run's item carries its input, output and log tail (up to ~350 KB).
    const items = await batchGetMany(
      this.#table,
      [...new Set(ids)].map((id) => executionKey(domain, id)),
      { projection: ['id', 'status'] },
    );
    const statuses = new Map<string, ExecutionStatus>();
    for (const item of items) {
      if (typeof item.id === 'string' && typeof item.status === 'string') {
        statuses.set(item.id, item.status as ExecutionStatus);
      }
    }
    return statuses;
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
        Item: newRunItem(domain, execution),
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
   * Records a cancel request on a run a runtime may hold (requested, queued or running), with the
   * canceller's reason when there is one. Null when the run is in none of those statuses, or gone.
   */
  async requestCancel(
    domain: TenantContext,
    id: string,
    at: string,
    by: string,
    reason = '',
  ): Promise<Execution | null> {
    const item = await updateItem(this.#table, {
      Key: executionKey(domain, id),
      UpdateExpression: `SET cancelRequested = :yes, cancelRequestedAt = :at, cancelRequestedBy = :by${reason === '' ? '' : ', cancelReason = :reason'}`,
      ConditionExpression: 'attribute_exists(PK) AND #status IN (:requested, :queued, :running)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':yes': true,
        ':at': at,
        ':by': by,
        ...(reason === '' ? {} : { ':reason': reason }),
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

  /**
   * One page of the runs waiting for approval in a tenant (the inbox), oldest first. A cursor of
   * another listing or tenant is refused (paged-query.ts) before any read.
   */
  async pendingApprovalsPage(
    domain: TenantContext,
    limit: number,
    cursor?: string,
  ): Promise<Page<Execution>> {
    return queryPageOf(
      this.#table,
      {
        index: INDEX.listing,
        partition: approvalsInbox(domain),
        owner: { partition: domainPk(domain), prefix: typePrefix(TAG.execution) },
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      toExecution,
    );
  }

  /** The cursor of the inbox (`pendingApprovalsPage`) that goes on after `execution`. */
  pendingApprovalsCursorAfter(domain: TenantContext, execution: Execution): string {
    return encodeCursor({
      ...executionKey(domain, execution.id),
      [INBOX.pk]: approvalsInbox(domain),
      [INBOX.sk]: approvalsInboxSort(execution.createdAt, execution.id),
    });
  }

  /**
   * Every run waiting for approval in a tenant, oldest first, one page of the store at a time: a
   * caller that goes through them all (revalidation) never holds them all at once.
   */
  async *pendingApprovals(domain: TenantContext): AsyncGenerator<Execution> {
    for await (const item of queryAll(this.#table, {
      IndexName: INDEX.listing,
      KeyConditionExpression: '#pk = :inbox',
      ExpressionAttributeNames: { '#pk': INBOX.pk },
      ExpressionAttributeValues: { ':inbox': approvalsInbox(domain) },
      Limit: MAX_PAGE_SIZE,
    })) {
      yield toExecution(item);
    }
  }

  /** The ids of every run waiting for approval in a tenant (the ids alone: to seed its count). */
  async pendingApprovalIds(domain: TenantContext): Promise<string[]> {
    const ids: string[] = [];
    for await (const item of queryAll(this.#table, {
      IndexName: INDEX.listing,
      KeyConditionExpression: '#pk = :inbox',
      ProjectionExpression: '#id',
      ExpressionAttributeNames: { '#pk': INBOX.pk, '#id': 'id' },
      ExpressionAttributeValues: { ':inbox': approvalsInbox(domain) },
    })) {
      if (typeof item.id === 'string') ids.push(item.id);
    }
    return ids;
  }

  /**
   * The tenant's runs not started yet (`requested`, then `queued`), from the listings by status,
   * oldest first: what a Skill or script taken out of use still has waiting (a tenant's queue is
   * bounded by its plan's slots and what they have not caught up on).
   */
  async *waitingToStart(domain: TenantContext): AsyncGenerator<Execution> {
    const { pk } = indexKeyNames(FILTER_INDEXES.executionStatus);
    for (const status of ['requested', 'queued'] as const) {
      for await (const item of queryAll(this.#table, {
        IndexName: FILTER_INDEXES.executionStatus,
        KeyConditionExpression: `${pk} = :listing`,
        ExpressionAttributeValues: { ':listing': executionsByStatus(domain, status) },
      })) {
        yield toExecution(item);
      }
    }
  }

  /**
   * How many of the tenant's runs of asset `kind` are running, counted up to `upTo` (the reader
   * only asks whether a cap is full): ids alone, from the listing by status.
   */
  async countRunning(domain: TenantContext, kind: string, upTo: number): Promise<number> {
    const { pk } = indexKeyNames(FILTER_INDEXES.executionStatus);
    let count = 0;
    for await (const _ of queryAll(this.#table, {
      IndexName: FILTER_INDEXES.executionStatus,
      KeyConditionExpression: `${pk} = :listing`,
      FilterExpression: '#asset.#kind = :kind',
      ProjectionExpression: '#id',
      ExpressionAttributeNames: { '#asset': 'asset', '#kind': 'kind', '#id': 'id' },
      ExpressionAttributeValues: { ':listing': executionsByStatus(domain, 'running'), ':kind': kind },
    })) {
      count++;
      if (count >= upTo) break;
    }
    return count;
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

  /**
   * Of the runs `ids`: those that still wait for approval with no vote of `approver` on them, and
   * those decided for good — found, and no longer waiting (a run is created waiting or not, and never
   * waits again, so even a stale read of it cannot take a waiting run for a decided one). The runs'
   * statuses and that approver's votes, in one batch read per BATCH_GET_KEYS / 2 runs (the callers
   * bound how many: the approval notices of one read of announcements).
   */
  async awaitingDecision(
    domain: TenantContext,
    approver: string,
    ids: readonly string[],
  ): Promise<{ awaiting: Set<string>; decided: Set<string> }> {
    const runs = [...new Set(ids)];
    const items = await batchGetMany(
      this.#table,
      runs.flatMap((id) => [executionKey(domain, id), itemKey(domain, TAG.vote, id, approver)]),
      { projection: ['type', 'id', 'status', 'executionId'] },
    );
    const waiting = new Set<string>();
    const voted = new Set<string>();
    const decided = new Set<string>();
    for (const item of items) {
      if (item.type === ITEM_TYPE.vote && typeof item.executionId === 'string') voted.add(item.executionId);
      else if (typeof item.id !== 'string') continue;
      else if (item.status === 'pending_approval') waiting.add(item.id);
      else decided.add(item.id);
    }
    return { awaiting: new Set([...waiting].filter((id) => !voted.has(id))), decided };
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
    const chunks = (result.Items ?? []).map(toLogChunk);
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
