/**
 * The stored form of a run and of what hangs off it: a run's item with its places in the indexes
 * (the approvals inbox, the sharded index of unfinished runs, the filtered listings), and the parsers
 * that turn stored items back into runs, votes and log chunks. Pure: no DynamoDB call here; the
 * calls are in execution-repository.ts.
 */
import type { LogChunk } from '../../contract/responses.ts';
import { sha256 } from '../hashing.ts';
import { parseJson, stringifyJson } from '../json.ts';
import {
  ACTIVE_EXECUTION_SHARDS,
  activeExecutionSort,
  activeExecutionsShard,
  approvalsInbox,
  approvalsInboxSort,
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
  withoutKeys,
} from '../keys.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Vote } from './approvals.ts';
import type { Execution } from './model.ts';

export const INBOX = indexKeyNames(INDEX.listing);
const ACTIVE = indexKeyNames(INDEX.lifecycle);
export const BY_STATUS = indexKeyNames(FILTER_INDEXES.executionStatus);
/** The index attributes a run loses when it leaves the inbox, or every place of an unfinished run. */
export const INBOX_INDEXES = [INBOX.pk, INBOX.sk] as const;
export const ALL_INDEXES = [INBOX.pk, INBOX.sk, ACTIVE.pk, ACTIVE.sk] as const;
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
export function toExecution(item: Record<string, unknown>): Execution {
  const {
    type: _type,
    inputJson,
    outputJson,
    metricsJson,
    sandboxJson,
    ...rest
  } = withoutKeys(item, RUN_INDEXES);
  return {
    ...(rest as unknown as Execution),
    ...(typeof inputJson === 'string' ? { input: parseJson(inputJson) } : {}),
    ...(typeof outputJson === 'string' ? { output: parseJson(outputJson) } : {}),
    ...(typeof metricsJson === 'string' ? { metrics: parseJson(metricsJson) as Execution['metrics'] } : {}),
    ...(typeof sandboxJson === 'string' ? { sandbox: parseJson(sandboxJson) as Execution['sandbox'] } : {}),
  };
}

/**
 * A result's metrics and containment plan as stored: JSON text, like input and output. An agent
 * reports both, and a DynamoDB marshaller reads a map with a key named `constructor` as a class
 * instance (a 500 that left the run running). Runs recorded before carry maps, read as they are.
 */
export function reportedRecords(report: {
  readonly metrics?: Readonly<Record<string, unknown>>;
  readonly sandbox?: Readonly<Record<string, unknown>>;
}): { metricsJson?: string; sandboxJson?: string } {
  return {
    ...(report.metrics === undefined ? {} : { metricsJson: stringifyJson(report.metrics) }),
    ...(report.sandbox === undefined ? {} : { sandboxJson: stringifyJson(report.sandbox) }),
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

export function toVote(item: Record<string, unknown>): Vote {
  return {
    approver: String(item.approver),
    decision: item.decision as Vote['decision'],
    comment: String(item.comment ?? ''),
    admin: item.admin === true,
    at: String(item.at),
  };
}

export function toLogChunk(item: Record<string, unknown>): LogChunk {
  return {
    seq: Number(item.seq),
    stream: item.stream === 'stderr' ? 'stderr' : 'stdout',
    text: String(item.text ?? ''),
    ...(typeof item.at === 'string' ? { at: item.at } : {}),
  };
}

export function executionKey(domain: TenantContext, id: string): Key {
  return itemKey(domain, TAG.execution, id);
}

function shardOf(id: string): number {
  return Number.parseInt(sha256(id).slice(0, 4), 16) % ACTIVE_EXECUTION_SHARDS;
}

/** A run's place in the sharded index of unfinished runs. */
export function activeIndex(domain: TenantContext, id: string, deadline: string): Record<string, string> {
  return indexAttributes(INDEX.lifecycle, {
    partition: activeExecutionsShard(shardOf(id)),
    sort: activeExecutionSort(deadline, domain.tenant.id, id),
  });
}

/**
 * A new run's item: the run, its place in the index of unfinished runs (by its deadline), in the
 * listings by status, Skill and requester and, while it waits for approval, in the inbox.
 */
export function newRunItem(domain: TenantContext, execution: Execution): Record<string, unknown> {
  const { id } = execution;
  return {
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
  };
}
