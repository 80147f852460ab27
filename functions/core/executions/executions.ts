/**
 * Executions in the store: requesting runs, applying runtimes' reports, cancels, approvals'
 * transitions, listings and logs. The rules they apply live beside this module, without I/O:
 * state-machine.ts (the statuses and the moves between them), requests.ts (ids, input, idempotency
 * keys, approvals needed), recording.ts (reports and what a run keeps of them), views.ts (the API's
 * shape of a run); this module re-exports their public names, so callers import from here.
 *
 * Every transition is a conditional write naming the states it may leave (`sourcesOf`),
 * so a redelivered message or a racing writer can neither lose nor repeat a transition; each
 * transition's audit entry has a deterministic key, so a retry writes it once.
 *
 * Input is validated against the Skill's input schema before anything is written; output against
 * the output schema of the revision that ran before `succeeded` is recorded. Unfinished executions
 * sit in a sharded sparse index by deadline, which the sweep reads to close runs whose worker died.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LogChunk } from '../../contract/responses.ts';
import { type AuditActor, type AuditLog, actorOf, canonicalJson } from '../audit/chain.ts';
import { toSkill } from '../catalog/skill-repository.ts';
import { canSee, SKILL_ID_PATTERN, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import { batchGetAll, isConditionFailure, queryAll, type Table } from '../db.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TenantSuspendedError,
  unlessNotFound,
  ValidationError,
} from '../errors.ts';
import { jobId } from '../executors/python-script.ts';
import type { ExecutionLimits, ExecutorRegistry, ResolvedAsset } from '../executors/registry.ts';
import { DAY_MS, GRACE_PERIOD_DAYS } from '../governance/dates.ts';
import type { EgressUse } from '../http-resources/jobs.ts';
import type { Caller } from '../identity/caller.ts';
import { parseJson, stringifyJson } from '../json.ts';
import {
  ACTIVE_EXECUTION_SHARDS,
  activeExecutionsShard,
  approvalsInbox,
  domainPk,
  executionLogKey,
  executionLogPrefix,
  executionsByRequester,
  executionsBySkill,
  executionsByStatus,
  FILTER_INDEXES,
  itemKey,
  tenantKey,
} from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';
import { type TenantContext, type TenantSummary, tenantMayExecute } from '../tenancy/domain.ts';
import { readTenantSummary, tenantSummaryOf } from '../tenancy/hosts.ts';
import { CANCEL_CLAIM_SECONDS, type JobClaims } from './claims.ts';
import {
  capError,
  capLogs,
  logRoom,
  MAX_LOG_BYTES,
  MAX_OUTPUT_BYTES,
  type ResultReport,
  reportedStartOf,
  type StartedReport,
  truncateUtf8,
} from './recording.ts';
import {
  approvalHashOf,
  approvalsRequiredOf,
  assertIdempotencyKey,
  EXECUTION_ID_PATTERN,
  IDEMPOTENCY_SECONDS,
  idAt,
  MAX_INPUT_BYTES,
  newExecutionId,
  runInputJson,
  sha256,
} from './requests.ts';
import {
  type ExecutionStatus,
  endOf,
  mayMove,
  REPORTABLE,
  type RecordOutcome,
  refusedReport,
  sourcesOf,
  TERMINAL,
  type TerminalStatus,
} from './state-machine.ts';

/** First pause while a caller waits for its run to settle; it doubles up to SETTLE_MAX_POLL_MS. */
export const SETTLE_FIRST_POLL_MS = 10;
export const SETTLE_MAX_POLL_MS = 500;

// The module's public API, whose rules now live beside it: callers import them from here as before.
export {
  MAX_LOG_BYTES,
  MAX_OUTPUT_BYTES,
  type ResultReport,
  type StartedReport,
  TRUNCATION_MARKER,
  truncateUtf8,
} from './recording.ts';
export {
  approvalHashOf,
  EXECUTION_ID_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_SECONDS,
  MAX_INPUT_BYTES,
  newExecutionId,
} from './requests.ts';
export {
  EXECUTION_STATUSES,
  type ExecutionStatus,
  type RecordOutcome,
  TERMINAL,
  type TerminalStatus,
} from './state-machine.ts';
export { executionView } from './views.ts';
// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { LogChunk };

/** How long a queued run may wait for a worker before it is declared lost. */
export const START_DEADLINE_SECONDS = 15 * 60;
/** Slack past a running job's own timeout before its worker is declared lost. */
export const RUNNING_GRACE_SECONDS = 120;
/** How long a run may wait for its approvals before it expires. @default 72 hours */
export const APPROVAL_TTL_SECONDS = 72 * 3600;

export interface ExecutionError {
  readonly type: string;
  readonly message: string;
  readonly trace?: string;
  readonly limit?: string;
  readonly issues?: readonly { path: string; message: string }[];
}

export interface ExecutionLogs {
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

export interface Execution {
  readonly id: string;
  readonly tenantId: string;
  readonly skillId: string;
  readonly skillName: string;
  readonly skillRevision: number;
  readonly status: ExecutionStatus;
  readonly input: unknown;
  readonly inputHash: string;
  readonly asset: ResolvedAsset;
  readonly limits: ExecutionLimits;
  readonly requestedBy: string;
  /** The AI (MCP) client the requester acted through, if any: approvers see that an agent asked. */
  readonly client?: { readonly id: string; readonly name: string };
  /** The schedule whose fire requested the run, if any. */
  readonly schedule?: { readonly id: string; readonly name: string };
  readonly createdAt: string;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly deadline?: string;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly logs?: ExecutionLogs;
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** The containment the job ran under, as its runtime reported it (`network`, `memory`, …). */
  readonly sandbox?: Readonly<Record<string, unknown>>;
  /** The HTTP resources the script called through `ctx.http`. */
  readonly egress?: readonly EgressUse[];
  /** The id of the report that ended the run (a replayed report is recognised by it). */
  readonly resultReportId?: string;
  /** Approvals needed before the run is queued (0 when none). */
  readonly approvalsRequired: number;
  /** Whether one approver must be a tenant admin (critical risk). */
  readonly adminApprovalRequired?: boolean;
  /**
   * Hash of exactly what approvers approve: the input, the resolved asset version and the Skill's
   * definition. If any changes before the approvals complete, the run is invalidated.
   */
  readonly approvalHash?: string;
  /** The name of the script or HTTP resource the run uses, as it was when requested. */
  readonly assetName?: string;
  /** The run this one repeats (the same or an edited input). */
  readonly rerunOf?: string;
  /**
   * Someone asked to cancel the run after a runtime had taken its job. The runtime is expected to
   * stop the job and report it (a `cancelled` result); the field is never cleared.
   */
  readonly cancelRequested?: boolean;
  readonly cancelRequestedAt?: string;
  readonly cancelRequestedBy?: string;
  /** Who cancelled a run that never started (or `system` for an expiry), and when. */
  readonly cancelledBy?: string;
}

/** Filters of the run history; every one is served by an index or the key range, never a scan. */
export interface ExecutionFilter {
  readonly status?: ExecutionStatus;
  readonly skillId?: string;
  readonly requestedBy?: string;
  /** Runs requested at or after this instant (ISO 8601). */
  readonly from?: string;
  /** Runs requested at or before this instant (ISO 8601). */
  readonly to?: string;
}

/** A page of a run's log, after a cursor; `complete` once the run ended and nothing is left. */
export interface LogPage {
  readonly status: ExecutionStatus;
  readonly chunks: readonly LogChunk[];
  /** Give it back as `after` to read on from here. */
  readonly cursor: string;
  readonly complete: boolean;
  readonly truncated: boolean;
}

/** Chunks answered per logs request. */
export const LOG_PAGE_CHUNKS = 200;
/** Largest text of one streamed chunk, in UTF-8 bytes. */
export const MAX_LOG_CHUNK_BYTES = 16 * 1024;
/** Most chunks a run may stream (with the chunk size, bounds what one run stores). */
export const MAX_LOG_CHUNKS = 2_000;
/** How long after a run ended its last streamed chunks are still taken (they may trail its result). */
export const LATE_LOG_SECONDS = 300;
/** Longest reason a cancel may give. */
export const MAX_CANCEL_REASON = 500;

/** What a finished run leaves: the approvals inbox and the active (sweep) index. */
const FINISHED_INDEXES = ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'] as const;

function shardOf(id: string): number {
  return Number.parseInt(sha256(id).slice(0, 4), 16) % ACTIVE_EXECUTION_SHARDS;
}

/**
 * Input and output are stored as JSON text (`inputJson`, `outputJson`), exactly as received: a
 * DynamoDB map cannot hold 12345678901234567890, 1e-300 or a `__proto__` key, and a marshalling
 * failure in the recorder used to leave a run `running` until the sweep called it lost. Items
 * written before this change carry `input` / `output` maps, read as they are.
 */
function toExecution(item: Record<string, unknown>): Execution {
  const {
    PK: _pk,
    SK: _sk,
    GSI1PK: _g1,
    GSI1SK: _g1s,
    GSI2PK: _g2,
    GSI2SK: _g2s,
    GSI3PK: _g3,
    GSI3SK: _g3s,
    GSI4PK: _g4,
    GSI4SK: _g4s,
    GSI5PK: _g5,
    GSI5SK: _g5s,
    type: _type,
    inputJson,
    outputJson,
    ...rest
  } = item;
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

/** What a runnable Skill's check learnt on the way: its asset's name, and the asset resolved when it read it. */
export interface Runnable {
  readonly assetName?: string;
  /** The asset version the run would use; when absent the executor resolves it. */
  readonly asset?: ResolvedAsset;
}

export interface ExecutionsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly skills: SkillCatalog;
  readonly executors: ExecutorRegistry;
  readonly now?: () => Date;
  /** How long a run may wait for approvals in a tenant. @default APPROVAL_TTL_SECONDS */
  readonly approvalTtlSeconds?: (domain: TenantContext) => Promise<number>;
  /** Called once a run waits for approval (to notify approvers). */
  readonly onPendingApproval?: (domain: TenantContext, execution: Execution) => Promise<void>;
  /**
   * Refuses a run of a Skill that may not run now (it, its script or its HTTP resource is disabled
   * or archived) with the reason, and names the Skill's asset for the run's record.
   * @default every Skill may run; no asset name
   */
  readonly runnable?: (domain: TenantContext, skill: Skill) => Promise<Runnable>;
  /** Claims of queued jobs, so a cancelled run is never started. @default none (see `cancel`) */
  readonly claims?: JobClaims;
  /**
   * Why a run no runtime picked up before its start deadline was not picked up, when its executor
   * can tell (an offline local agent); such a run is closed as `timed_out` with that reason.
   * @default none: the run is closed as `failed` (`NotStarted`)
   */
  readonly notStartedError?: (domain: TenantContext, execution: Execution) => Promise<ExecutionError | null>;
  /**
   * The plan's daily run quota (tenancy/quotas.ts): a run takes its place, by id, just before it is
   * written — after the idempotency claim, so a replay never counts twice — and gives it back if it
   * is not written. @default no daily quota
   */
  readonly runQuota?: (domain: TenantContext, executionId: string) => Promise<{ release(): Promise<void> }>;
}

export interface RequestResult {
  readonly execution: Execution;
  /** False when an Idempotency-Key named an execution requested before. */
  readonly created: boolean;
}

export class Executions {
  readonly #table: Table;
  readonly #audit: AuditLog;
  readonly #skills: SkillCatalog;
  readonly #executors: ExecutorRegistry;
  readonly #now: () => Date;
  readonly #approvalTtl: (domain: TenantContext) => Promise<number>;
  readonly #onPendingApproval: (domain: TenantContext, execution: Execution) => Promise<void>;
  readonly #runnable: NonNullable<ExecutionsOptions['runnable']>;
  readonly #claims: JobClaims | undefined;
  readonly #notStartedError: NonNullable<ExecutionsOptions['notStartedError']>;
  readonly #runQuota: NonNullable<ExecutionsOptions['runQuota']>;

  constructor(options: ExecutionsOptions) {
    this.#runQuota = options.runQuota ?? (async () => ({ release: async () => undefined }));
    this.#table = options.table;
    this.#audit = options.audit;
    this.#skills = options.skills;
    this.#executors = options.executors;
    this.#now = options.now ?? (() => new Date());
    this.#approvalTtl = options.approvalTtlSeconds ?? (async () => APPROVAL_TTL_SECONDS);
    this.#onPendingApproval = options.onPendingApproval ?? (async () => undefined);
    this.#runnable = options.runnable ?? (async () => ({}));
    this.#claims = options.claims;
    this.#notStartedError = options.notStartedError ?? (async () => null);
  }

  /**
   * Requests a run of a Skill. Order of steps (no transactions): the Skill and the tenant (one
   * consistent batch) → idempotency claim (names the execution id) → execution item, written
   * `queued` when it needs no approval (`pending_approval` otherwise) → its `execution.requested`
   * audit entry → dispatch. A crash anywhere leaves either nothing, or an execution the same request
   * (same key) completes, or a `queued` one whose job may not have been sent: the sweep hands every
   * waiting run to its executor again (a duplicate is refused by the worker's claim).
   */
  async request(
    domain: TenantContext,
    caller: Caller,
    skillId: string,
    input: unknown,
    idempotencyKey?: string,
    options: { readonly rerunOf?: string } = {},
  ): Promise<RequestResult> {
    const { skill, tenant } = await this.#skillAndTenant(domain, skillId);
    if (!canSee(caller, skill)) throw new NotFoundError(`Skill ${skillId} not found`);
    const runnable = await this.#runnable(domain, skill);
    const { assetName } = runnable;
    if (options.rerunOf !== undefined) {
      // A re-run names a run of the same Skill the caller may read.
      const earlier = await this.get(domain, caller, options.rerunOf).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (earlier === null || earlier.skillId !== skill.id) {
        throw new ValidationError('Not a run of this Skill', [
          { path: 'rerunOf', message: 'a run of this Skill that you may read' },
        ]);
      }
    }
    runInputJson(input);
    const issues = await this.#skills.inputIssues(domain, skill, input);
    if (issues.length > 0)
      throw new ValidationError('The input does not match the Skill input schema', issues);

    this.#assertMayRun(tenant);

    const now = this.#now();
    let id = newExecutionId(now);
    const inputHash = sha256(canonicalJson(input ?? null));
    if (idempotencyKey !== undefined) {
      assertIdempotencyKey(idempotencyKey);
      const claimed = await this.#claimIdempotency(
        domain,
        caller,
        idempotencyKey,
        id,
        `${skill.id}|${inputHash}`,
        now,
      );
      if (claimed.executionId !== id) {
        const existing = await this.#find(domain, claimed.executionId);
        if (existing !== null) return { execution: existing, created: false };
        id = claimed.executionId; // the first attempt died before writing its execution: finish it
      }
    }

    const asset =
      runnable.asset ?? (await this.#executors.get(skill.asset.kind).resolve(domain, skill.asset));
    const approvalsRequired = approvalsRequiredOf(skill);
    const pending = approvalsRequired > 0;
    const waitSeconds = pending ? await this.#approvalTtl(domain) : START_DEADLINE_SECONDS;
    const execution: Execution = {
      id,
      tenantId: domain.tenant.id,
      skillId: skill.id,
      skillName: skill.name,
      skillRevision: skill.revision,
      // A run that needs no approval is queued as it is written: its job is sent right after.
      status: pending ? 'pending_approval' : 'queued',
      input: input ?? null,
      inputHash,
      asset,
      limits: skill.limits,
      requestedBy: caller.username,
      ...(caller.client === undefined ? {} : { client: { id: caller.client.id, name: caller.client.name } }),
      ...(caller.schedule === undefined
        ? {}
        : { schedule: { id: caller.schedule.id, name: caller.schedule.name } }),
      createdAt: now.toISOString(),
      ...(pending ? {} : { queuedAt: now.toISOString() }),
      deadline: new Date(now.getTime() + waitSeconds * 1000).toISOString(),
      approvalsRequired,
      ...(assetName === undefined ? {} : { assetName }),
      ...(options.rerunOf === undefined ? {} : { rerunOf: options.rerunOf }),
      ...(pending
        ? {
            adminApprovalRequired: skill.risk === 'critical',
            approvalHash: approvalHashOf(inputHash, asset, skill.definitionHash),
          }
        : {}),
    };
    const place = await this.#runQuota(domain, id);
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...itemKey(domain, 'EXEC', id),
            type: 'EXEC',
            ...executionItem(execution),
            ...this.#activeIndex(domain, id, execution.deadline ?? ''),
            ...(pending ? { GSI1PK: approvalsInbox(domain), GSI1SK: `${execution.createdAt}#${id}` } : {}),
            GSI3PK: executionsByStatus(domain, execution.status),
            GSI3SK: id,
            GSI4PK: executionsBySkill(domain, skill.id),
            GSI4SK: id,
            GSI5PK: executionsByRequester(domain, caller.username),
            GSI5SK: id,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        // The same run (same id), written by a concurrent replay: its place is this one.
        const existing = await this.#find(domain, id);
        if (existing !== null) return { execution: existing, created: false };
      }
      await place.release();
      throw error;
    }
    // One entry for the request, whatever state it left the run in (`queued`, or waiting for approval).
    await this.#auditTransition(domain, execution, 'requested', execution.createdAt, actorOf(caller), {
      status: execution.status,
      skillId: skill.id,
      skillRevision: skill.revision,
      asset,
      inputHash,
      ...(options.rerunOf === undefined ? {} : { rerunOf: options.rerunOf }),
      ...(caller.schedule === undefined ? {} : { scheduleId: caller.schedule.id }),
    });
    if (execution.status === 'pending_approval') {
      await this.#onPendingApproval(domain, execution);
      return { execution, created: true };
    }
    return { execution: await this.dispatch(domain, execution, skill), created: true };
  }

  /** Hands a `requested` (or re-dispatched `queued`) run to its executor and marks it `queued`. */
  async dispatch(domain: TenantContext, execution: Execution, skill?: Skill): Promise<Execution> {
    const definition =
      skill ?? (await this.#skills.revision(domain, execution.skillId, execution.skillRevision));
    await this.#executors.get(execution.asset.kind).dispatch(domain, {
      executionId: execution.id,
      skillId: execution.skillId,
      skillRevision: execution.skillRevision,
      input: execution.input,
      limits: execution.limits,
      asset: execution.asset,
      binding: definition.asset,
      egress: definition.egress ?? [],
      collections: definition.collections ?? [],
      parameters: definition.parameters ?? [],
      requestedAt: execution.createdAt,
    });
    if (execution.status !== 'requested') return execution;
    const queuedAt = this.#now().toISOString();
    const moved = await this.#transition(domain, execution.id, 'queued', { queuedAt });
    if (moved === null) return (await this.#find(domain, execution.id)) ?? execution;
    await this.#auditTransition(domain, moved, 'queued', queuedAt, 'system');
    return moved;
  }

  async get(domain: TenantContext, caller: Caller, id: string): Promise<Execution> {
    const execution = await this.#find(domain, id);
    if (execution === null) throw new NotFoundError(`Execution ${id} not found`);
    if (!(await this.#mayRead(domain, caller, execution)))
      throw new NotFoundError(`Execution ${id} not found`);
    return execution;
  }

  /**
   * Newest first, only runs of Skills the caller may see, narrowed by `filter`. The most selective
   * filter picks the index (requester, then Skill, then status; none: the tenant's key range), the
   * date range is a key range on the time-ordered ids, and the other filters narrow each page.
   */
  async list(
    domain: TenantContext,
    caller: Caller,
    limit: number,
    cursor?: string,
    filter: ExecutionFilter = {},
  ): Promise<Page<Execution>> {
    const lower = filter.from === undefined ? 'ex-' : idAt(new Date(filter.from));
    const upper = filter.to === undefined ? 'ex-~' : `${idAt(new Date(filter.to))}~`;
    const values: Record<string, unknown> = {};
    const names: Record<string, string> = {};
    const narrow: string[] = [];
    const also = (field: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      narrow.push(`#${field} = :${field}`);
    };
    let index: { name?: string; pk: string; pkName: string; skName: string; prefix: string };
    if (filter.requestedBy !== undefined) {
      index = {
        name: FILTER_INDEXES.executionRequester,
        pk: executionsByRequester(domain, filter.requestedBy),
        pkName: 'GSI5PK',
        skName: 'GSI5SK',
        prefix: '',
      };
      also('skillId', filter.skillId);
      also('status', filter.status);
    } else if (filter.skillId !== undefined) {
      index = {
        name: FILTER_INDEXES.executionSkill,
        pk: executionsBySkill(domain, filter.skillId),
        pkName: 'GSI4PK',
        skName: 'GSI4SK',
        prefix: '',
      };
      also('status', filter.status);
    } else if (filter.status !== undefined) {
      index = {
        name: FILTER_INDEXES.executionStatus,
        pk: executionsByStatus(domain, filter.status),
        pkName: 'GSI3PK',
        skName: 'GSI3SK',
        prefix: '',
      };
    } else {
      index = { pk: domainPk(domain), pkName: 'PK', skName: 'SK', prefix: 'EXEC#' };
    }
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        ...(index.name === undefined ? {} : { IndexName: index.name }),
        KeyConditionExpression: `${index.pkName} = :pk AND ${index.skName} BETWEEN :lower AND :upper`,
        ...(narrow.length > 0
          ? { FilterExpression: narrow.join(' AND '), ExpressionAttributeNames: names }
          : {}),
        ExpressionAttributeValues: {
          ...values,
          ':pk': index.pk,
          ':lower': `${index.prefix}${lower}`,
          ':upper': `${index.prefix}${upper}`,
        },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor === undefined
          ? {}
          : { ExclusiveStartKey: decodeCursor(cursor, { [index.pkName]: index.pk }) }),
      }),
    );
    const visible = new Set((await this.#skills.listVisible(domain, caller)).map((skill) => skill.id));
    const items = (result.Items ?? [])
      .map(toExecution)
      .filter((execution) => visible.has(execution.skillId) || caller.permissions.has('skill:manage'));
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /**
   * Cancels a run. Who: its requester, or a holder of `execution:cancel` who may read it.
   * - waiting for approval: closed as `cancelled`;
   * - requested or queued: its job is claimed first (so no worker ever starts it), then the run is
   *   closed as `cancelled`; if a worker holds the job already, it is starting: as for a running run;
   * - running: `cancelRequested` is recorded for the runtime to stop the job (see the Execution field).
   * Every outcome is audited; a finished run answers 409.
   */
  async cancel(domain: TenantContext, caller: Caller, id: string, reason = ''): Promise<Execution> {
    const execution = await this.get(domain, caller, id);
    if (execution.requestedBy !== caller.username && !caller.permissions.has('execution:cancel')) {
      throw new ForbiddenError('Only the requester, or someone allowed to cancel runs, may cancel this run', {
        extra: { permission: 'execution:cancel' },
      });
    }
    const note = reason.trim().slice(0, MAX_CANCEL_REASON);
    const error: ExecutionError = {
      type: 'Cancelled',
      message: `Cancelled by ${caller.username}${note === '' ? '' : `: ${note}`}`,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = attempt === 0 ? execution : await this.#find(domain, id);
      if (current === null) throw new NotFoundError(`Execution ${id} not found`);
      if (TERMINAL.has(current.status)) {
        throw new ConflictError(
          `The run is ${current.status.replace('_', ' ')}; there is nothing to cancel`,
          {
            extra: { executionStatus: current.status },
          },
        );
      }
      if (current.status === 'running') return this.#requestCancel(domain, current, caller, note);
      if (current.status === 'requested' || current.status === 'queued') {
        const now = Math.floor(this.#now().getTime() / 1000);
        const claimed =
          this.#claims === undefined ||
          (await this.#claims.claim(jobId(domain.tenant.id, id), now + CANCEL_CLAIM_SECONDS));
        if (!claimed) return this.#requestCancel(domain, current, caller, note);
      }
      const finishedAt = this.#now().toISOString();
      const closed = await this.#update(
        domain,
        id,
        'cancelled',
        sourcesOf('cancelled'),
        { finishedAt, error, cancelledBy: caller.username },
        ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'],
      );
      if (closed !== null) {
        await this.#auditTransition(domain, closed, 'cancelled', finishedAt, caller.username, {
          reason: 'cancelled',
          from: current.status,
          ...(note === '' ? {} : { note }),
        });
        return closed;
      }
    }
    throw new ConflictError('The run keeps changing; try again');
  }

  /**
   * Writes the stop request on the job's claim, where the Python worker running it looks about once a
   * second (the HTTP executor's calls are bounded by their timeout and end on their own).
   */
  async #askRuntimeToStop(domain: TenantContext, id: string): Promise<void> {
    await this.#claims?.requestStop(jobId(domain.tenant.id, id));
  }

  async #requestCancel(
    domain: TenantContext,
    execution: Execution,
    caller: Caller,
    note: string,
  ): Promise<Execution> {
    if (execution.cancelRequested === true) {
      // Asked already: ask the runtime again (idempotent), in case the first ask did not reach it.
      await this.#askRuntimeToStop(domain, execution.id);
      return execution;
    }
    const at = this.#now().toISOString();
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: itemKey(domain, 'EXEC', execution.id),
          UpdateExpression: 'SET cancelRequested = :yes, cancelRequestedAt = :at, cancelRequestedBy = :by',
          ConditionExpression: 'attribute_exists(PK) AND #status IN (:requested, :queued, :running)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':yes': true,
            ':at': at,
            ':by': caller.username,
            ':requested': 'requested',
            ':queued': 'queued',
            ':running': 'running',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const updated = toExecution(result.Attributes ?? {});
      await this.#audit.record(
        domain,
        {
          actor: { username: caller.username, via: caller.via },
          action: 'execution.cancel-requested',
          target: `execution:${execution.id}`,
          details: { skillId: execution.skillId, status: execution.status, ...(note === '' ? {} : { note }) },
        },
        { at, key: `${execution.id}.cancel-requested` },
      );
      // Recorded first, so that the runtime's `cancelled` result finds the request when it lands.
      await this.#askRuntimeToStop(domain, execution.id);
      return updated;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.#find(domain, execution.id);
      if (current === null) throw new NotFoundError(`Execution ${execution.id} not found`);
      throw new ConflictError(`The run is ${current.status.replace('_', ' ')}; there is nothing to cancel`, {
        extra: { executionStatus: current.status },
      });
    }
  }

  /**
   * A page of a run's log after `after` (a cursor from the previous page; none: from the start).
   * Streamed chunks are read when a runtime wrote any; otherwise the log the run kept when it ended
   * is answered as one chunk per stream once it has ended.
   */
  async logs(domain: TenantContext, caller: Caller, id: string, after?: string): Promise<LogPage> {
    const execution = await this.get(domain, caller, id);
    const from = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(from) || from < 0 || from > MAX_LOG_CHUNKS + 2) {
      throw new ValidationError('Invalid log cursor', [
        { path: 'after', message: 'a cursor from an earlier answer' },
      ]);
    }
    const ended = TERMINAL.has(execution.status);
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': domainPk(domain),
          ':from': executionLogKey(domain, id, from + 1).SK,
          ':to': `${executionLogPrefix(domain, id)}~`,
        },
        Limit: LOG_PAGE_CHUNKS,
        ConsistentRead: true,
      }),
    );
    const streamed = (result.Items ?? []).map(
      (item): LogChunk => ({
        seq: Number(item.seq),
        stream: item.stream === 'stderr' ? 'stderr' : 'stdout',
        text: String(item.text ?? ''),
        ...(typeof item.at === 'string' ? { at: item.at } : {}),
      }),
    );
    const hasStream = streamed.length > 0 || (from > 0 && execution.logs === undefined);
    if (hasStream || from > 0 || !ended) {
      const last = streamed.at(-1)?.seq ?? from;
      return {
        status: execution.status,
        chunks: streamed,
        cursor: String(last),
        complete: ended && result.LastEvaluatedKey === undefined && (hasStream || from > 0),
        truncated: execution.logs?.truncated === true,
      };
    }
    // The run ended and streamed nothing: its kept log, stdout then stderr.
    const kept: LogChunk[] = [];
    if ((execution.logs?.stdout ?? '') !== '')
      kept.push({ seq: 1, stream: 'stdout', text: execution.logs?.stdout ?? '' });
    if ((execution.logs?.stderr ?? '') !== '')
      kept.push({ seq: 2, stream: 'stderr', text: execution.logs?.stderr ?? '' });
    return {
      status: execution.status,
      chunks: kept,
      cursor: '2',
      complete: true,
      truncated: execution.logs?.truncated === true,
    };
  }

  /**
   * Stores chunks of a running job's output as they come (for the runtime's reports): each chunk is
   * written once (a redelivered report writes nothing twice), its text capped, and a run keeps at
   * most MAX_LOG_CHUNKS of them. Chunks may arrive after the run's result (the queue does not keep
   * order): they are kept for LATE_LOG_SECONDS after the run ended, then dropped.
   */
  async appendLogChunks(
    domain: TenantContext,
    executionId: string,
    chunks: readonly LogChunk[],
  ): Promise<number> {
    const execution = await this.#find(domain, executionId);
    if (execution === null) return 0;
    if (TERMINAL.has(execution.status)) {
      const ended = Date.parse(execution.finishedAt ?? '');
      if (!(this.#now().getTime() - ended <= LATE_LOG_SECONDS * 1000)) return 0;
    }
    let written = 0;
    for (const chunk of chunks) {
      if (!Number.isInteger(chunk.seq) || chunk.seq < 1 || chunk.seq > MAX_LOG_CHUNKS) continue;
      const text = truncateUtf8(String(chunk.text), MAX_LOG_CHUNK_BYTES).text;
      try {
        await this.#table.client.send(
          new PutCommand({
            TableName: this.#table.name,
            Item: {
              ...executionLogKey(domain, executionId, chunk.seq),
              type: 'EXECLOG',
              executionId,
              seq: chunk.seq,
              stream: chunk.stream === 'stderr' ? 'stderr' : 'stdout',
              text,
              at: chunk.at ?? this.#now().toISOString(),
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        );
        written++;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return written;
  }

  /** A runtime picked the job up. Ignored unless the run is still waiting for it. */
  async recordStarted(domain: TenantContext, report: StartedReport): Promise<void> {
    const current = await this.#find(domain, report.executionId);
    if (current === null || !mayMove(current.status, 'running')) return;
    const deadline = new Date(
      Date.parse(report.startedAt) + (current.limits.timeoutSeconds + RUNNING_GRACE_SECONDS) * 1000,
    ).toISOString();
    const moved = await this.#transition(domain, report.executionId, 'running', {
      startedAt: report.startedAt,
      deadline,
      ...this.#activeIndex(domain, report.executionId, deadline),
    });
    if (moved !== null) await this.#auditTransition(domain, moved, 'running', report.startedAt, 'system');
  }

  /**
   * A runtime's final report. Output is checked against the schema of the revision that ran. A
   * report that names its run's Skill revision is recorded with one conditional update, no read
   * first (see #recordUnread); any other, or one whose update is refused, reads the run.
   */
  async recordResult(domain: TenantContext, report: ResultReport): Promise<RecordOutcome> {
    const unread = await this.#recordUnread(domain, report);
    if (unread !== null) return unread;
    const current = await this.#find(domain, report.executionId);
    const refused = refusedReport(current, report.reportId);
    if (refused !== null || current === null) return refused ?? 'unknown-run';
    const verdict = await this.#verdict(domain, report, current);
    let { status } = verdict;
    let { error } = verdict;
    const { outputJson } = verdict;
    const finishedAt = this.#now().toISOString();
    const capped = error === undefined ? undefined : capError(error);
    const startedAt = current.startedAt === undefined ? reportedStartOf(report) : undefined;
    const extras = {
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(report.metrics === undefined ? {} : { metrics: report.metrics }),
      ...(report.sandbox === undefined ? {} : { sandbox: report.sandbox }),
      ...(report.egress === undefined || report.egress.length === 0 ? {} : { egress: report.egress }),
      ...(report.reportId === undefined ? {} : { resultReportId: report.reportId }),
      ...(status === 'cancelled' && current.cancelRequestedBy !== undefined
        ? { cancelledBy: current.cancelRequestedBy }
        : {}),
    };
    // Logs take what the item has left once input, output, error and the rest are in (400 KB per item).
    const used =
      Buffer.byteLength(stringifyJson(current.input), 'utf8') +
      Buffer.byteLength(outputJson ?? '', 'utf8') +
      Buffer.byteLength(stringifyJson(capped ?? null), 'utf8') +
      Buffer.byteLength(stringifyJson(extras), 'utf8');
    const logBytes = logRoom(used);
    let moved: Execution | null;
    try {
      moved = await this.#finish(domain, current.id, status, {
        finishedAt,
        ...(outputJson === undefined ? {} : { outputJson }),
        ...(capped === undefined ? {} : { error: capped }),
        logs: capLogs(report.logs, logBytes),
        ...extras,
      });
    } catch (cause) {
      // The store refused the result itself (never a transient fault): the run fails with the
      // cause instead of the report being redelivered until the run is declared lost.
      if ((cause as Error | undefined)?.name !== 'ValidationException') throw cause;
      status = 'failed';
      error = {
        type: 'ResultNotStorable',
        message: `The result could not be stored: ${(cause as Error).message}`,
      };
      moved = await this.#finish(domain, current.id, status, {
        finishedAt,
        error: capError(error),
        logs: capLogs({ truncated: true }, 0),
        ...(report.reportId === undefined ? {} : { resultReportId: report.reportId }),
      });
    }
    if (moved === null) return 'already-finished';
    const actor = status === 'cancelled' ? (current.cancelRequestedBy ?? 'system') : 'system';
    await this.#auditTransition(domain, moved, status, finishedAt, actor, {
      ...(error === undefined ? {} : { error: error.type }),
    });
    return 'recorded';
  }

  /**
   * A report recorded without reading its run first — the common case, one request. Only a report
   * that names its run's Skill revision, and is not a cancel (its outcome depends on who asked), is
   * recorded so: its update is conditioned on the run being unfinished (never waiting for approval)
   * and of that very Skill revision, so its output was checked against the schema of the revision
   * that ran. A start time is set only where the run has none. The logs get the room they would get
   * beside the largest input a run may have. Null — the caller reads the run and decides — when that
   * room would shorten the logs, or when the update is refused (an ended, pending or unknown run,
   * another revision, a result the store cannot hold).
   */
  async #recordUnread(domain: TenantContext, report: ResultReport): Promise<RecordOutcome | null> {
    const { skillId, skillRevision } = report;
    if (skillId === undefined || skillRevision === undefined || report.status === 'cancelled') return null;
    if (!EXECUTION_ID_PATTERN.test(report.executionId)) return null;
    const verdict = await unlessNotFound(this.#verdict(domain, report, { skillId, skillRevision }));
    if (verdict === null) return null;
    const { status, error, outputJson } = verdict;
    const finishedAt = this.#now().toISOString();
    const capped = error === undefined ? undefined : capError(error);
    const startedAt = reportedStartOf(report);
    const extras = {
      ...(report.metrics === undefined ? {} : { metrics: report.metrics }),
      ...(report.sandbox === undefined ? {} : { sandbox: report.sandbox }),
      ...(report.egress === undefined || report.egress.length === 0 ? {} : { egress: report.egress }),
      ...(report.reportId === undefined ? {} : { resultReportId: report.reportId }),
    };
    const used =
      MAX_INPUT_BYTES +
      Buffer.byteLength(outputJson ?? '', 'utf8') +
      Buffer.byteLength(stringifyJson(capped ?? null), 'utf8') +
      Buffer.byteLength(stringifyJson({ ...extras, startedAt }), 'utf8');
    if (logRoom(used) < MAX_LOG_BYTES) return null;
    let moved: Execution | null;
    try {
      moved = await this.#update(
        domain,
        report.executionId,
        status,
        REPORTABLE,
        {
          finishedAt,
          ...(outputJson === undefined ? {} : { outputJson }),
          ...(capped === undefined ? {} : { error: capped }),
          logs: capLogs(report.logs, MAX_LOG_BYTES),
          ...extras,
        },
        FINISHED_INDEXES,
        { ifAbsent: startedAt === undefined ? {} : { startedAt }, where: { skillId, skillRevision } },
      );
    } catch (cause) {
      if ((cause as Error | undefined)?.name === 'ValidationException') return null;
      throw cause;
    }
    if (moved === null) return null;
    await this.#auditTransition(domain, moved, status, finishedAt, 'system', {
      ...(error === undefined ? {} : { error: error.type }),
    });
    return 'recorded';
  }

  /**
   * What a result makes of its run: the status it ends in (state-machine.ts), the error, the output
   * kept (as JSON) — checked against the output schema of the revision that ran.
   */
  async #verdict(
    domain: TenantContext,
    report: ResultReport,
    run: Pick<Execution, 'skillId' | 'skillRevision' | 'cancelRequested' | 'cancelRequestedBy'>,
  ): Promise<{ status: TerminalStatus; error?: ExecutionError; outputJson?: string }> {
    let refusal: ExecutionError | undefined;
    let outputJson: string | undefined;
    if (report.status === 'succeeded') {
      const reported = stringifyJson(report.output ?? null);
      if (Buffer.byteLength(reported, 'utf8') > MAX_OUTPUT_BYTES) {
        refusal = {
          type: 'OutputTooLarge',
          message: `The output exceeds ${MAX_OUTPUT_BYTES} bytes`,
          limit: 'output',
        };
      } else {
        const skill = await this.#skills.revision(domain, run.skillId, run.skillRevision);
        const issues = await this.#skills.outputIssues(domain, skill, report.output ?? null);
        if (issues.length > 0) {
          refusal = {
            type: 'OutputSchemaViolation',
            message: 'The output does not match the Skill output schema',
            issues,
          };
        } else outputJson = reported;
      }
    }
    const status = endOf(report.status, {
      outputRefused: refusal !== undefined,
      cancelRequested: run.cancelRequested === true,
    });
    const error =
      refusal ??
      (status === 'cancelled'
        ? // The runtime killed the job because a cancel was requested: whoever asked closes it.
          { type: 'Cancelled', message: `Cancelled by ${run.cancelRequestedBy ?? 'someone'} while it ran` }
        : report.status === 'killed' && report.error === undefined
          ? { type: 'Killed', message: 'The job hit a limit' }
          : report.error);
    return {
      status,
      ...(error === undefined ? {} : { error }),
      ...(outputJson === undefined ? {} : { outputJson }),
    };
  }

  /** Ends a run in `failed` with a reason (dead letters, lost workers, runs that never started). */
  async fail(domain: TenantContext, executionId: string, error: ExecutionError): Promise<boolean> {
    const finishedAt = this.#now().toISOString();
    const moved = await this.#finish(domain, executionId, 'failed', {
      finishedAt,
      error: capError(error),
    });
    if (moved === null) return false;
    await this.#auditTransition(domain, moved, 'failed', finishedAt, 'system', { error: error.type });
    return true;
  }

  /**
   * Closes a run that no runtime picked up before its start deadline: `timed_out` with the reason
   * its executor gives, else `failed` (`NotStarted`). Returns what was done, or null when the run
   * had moved on meanwhile.
   */
  async closeNotStarted(domain: TenantContext, execution: Execution): Promise<string | null> {
    const known = await this.#notStartedError(domain, execution);
    if (known === null) {
      return (await this.fail(domain, execution.id, {
        type: 'NotStarted',
        message: 'No worker picked the run up before its start deadline',
      }))
        ? 'failed:not-started'
        : null;
    }
    const finishedAt = this.#now().toISOString();
    const moved = await this.#finish(domain, execution.id, 'timed_out', {
      finishedAt,
      error: capError(known),
    });
    if (moved === null) return null;
    await this.#auditTransition(domain, moved, 'timed_out', finishedAt, 'system', { error: known.type });
    return 'timed_out:not-started';
  }

  /** Runs waiting for approval in a tenant (the inbox), oldest first. */
  async pendingApprovals(domain: TenantContext): Promise<Execution[]> {
    const items: Execution[] = [];
    for await (const item of queryAll(this.#table, {
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :inbox',
      ExpressionAttributeValues: { ':inbox': approvalsInbox(domain) },
    })) {
      items.push(toExecution(item));
    }
    return items;
  }

  /** The run as it is now, whoever asks (for decisions that check access themselves). */
  async find(domain: TenantContext, id: string): Promise<Execution | null> {
    return this.#find(domain, id);
  }

  /**
   * The run once it has ended or waits for approval — or as it stands when `seconds` have passed.
   * Its item is read again after SETTLE_FIRST_POLL_MS, then twice as long each time up to
   * SETTLE_MAX_POLL_MS: one consistent read per pause, so a short run answers within tens of ms.
   */
  async settle(
    domain: TenantContext,
    execution: Execution,
    seconds: number,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ): Promise<Execution> {
    const deadline = performance.now() + seconds * 1000;
    let current = execution;
    let pause = SETTLE_FIRST_POLL_MS;
    while (!TERMINAL.has(current.status) && current.status !== 'pending_approval') {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, SETTLE_MAX_POLL_MS);
      current = (await this.#find(domain, current.id)) ?? current;
    }
    return current;
  }

  /**
   * Approvals are complete: `pending_approval → requested`, then dispatched. Exactly one caller wins
   * the conditional transition, so two approvers deciding at the same instant queue the run once.
   */
  async releaseApproved(domain: TenantContext, id: string): Promise<Execution | null> {
    await this.#admit(domain);
    const now = this.#now();
    const deadline = new Date(now.getTime() + START_DEADLINE_SECONDS * 1000).toISOString();
    const released = await this.#update(
      domain,
      id,
      'requested',
      ['pending_approval'],
      { approvedAt: now.toISOString(), deadline, ...this.#activeIndex(domain, id, deadline) },
      ['GSI1PK', 'GSI1SK'],
    );
    if (released === null) return null;
    await this.#auditTransition(domain, released, 'requested', `${now.toISOString()}`, 'system', {
      reason: 'approved',
    });
    return this.dispatch(domain, released);
  }

  /** Ends a pending run: rejected by an approver, or cancelled because what was approved changed. */
  async closePending(
    domain: TenantContext,
    id: string,
    to: 'rejected' | 'cancelled',
    error: ExecutionError,
    actor: string,
  ): Promise<Execution | null> {
    const finishedAt = this.#now().toISOString();
    const closed = await this.#update(domain, id, to, ['pending_approval'], { finishedAt, error }, [
      'GSI1PK',
      'GSI1SK',
      'GSI2PK',
      'GSI2SK',
    ]);
    if (closed !== null)
      await this.#auditTransition(domain, closed, to, finishedAt, actor, { reason: error.type });
    return closed;
  }

  /**
   * What a pending run would execute if it were released now, as an approval hash; null only when
   * the Skill or its asset is definitely gone. A store that fails for a moment throws (the run stays
   * pending and the caller gets a retryable error) — it is never read as "changed".
   */
  async currentApprovalHash(domain: TenantContext, execution: Execution): Promise<string | null> {
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    if (skill === null) return null;
    const asset = await unlessNotFound(this.#executors.get(skill.asset.kind).resolve(domain, skill.asset));
    return asset === null ? null : approvalHashOf(execution.inputHash, asset, skill.definitionHash);
  }

  /** A run that waited too long for its approvals is cancelled. */
  async expireApproval(domain: TenantContext, executionId: string): Promise<boolean> {
    const finishedAt = this.#now().toISOString();
    const moved = await this.#update(
      domain,
      executionId,
      'cancelled',
      ['pending_approval'],
      { finishedAt, error: { type: 'ApprovalExpired', message: 'The run was not approved in time' } },
      ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'],
    );
    if (moved === null) return false;
    await this.#auditTransition(domain, moved, 'cancelled', finishedAt, 'system', {
      reason: 'approval-expired',
    });
    return true;
  }

  /** Unfinished runs (any tenant) whose deadline is before `before`, from the sharded sparse index. */
  async *overdue(before: Date): AsyncGenerator<Execution> {
    for (let shard = 0; shard < ACTIVE_EXECUTION_SHARDS; shard++) {
      for await (const item of queryAll(this.#table, {
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :shard AND GSI2SK < :before',
        ExpressionAttributeValues: {
          ':shard': activeExecutionsShard(shard),
          ':before': before.toISOString(),
        },
      })) {
        yield toExecution(item);
      }
    }
  }

  /** Unfinished runs of any tenant still waiting to be queued or picked up. */
  async *waiting(): AsyncGenerator<Execution> {
    for await (const execution of this.overdue(new Date('9999-01-01T00:00:00.000Z'))) {
      if (execution.status === 'requested' || execution.status === 'queued') yield execution;
    }
  }

  /** Whether the tenant may start a run now, from its record read consistently (see #assertMayRun). */
  async #admit(domain: TenantContext): Promise<void> {
    this.#assertMayRun(await readTenantSummary(this.#table, domain.tenant.id, true));
  }

  /**
   * The Skill a run is requested of and the tenant's record, both read consistently in one batch (a
   * suspension is seen at once without a request of its own).
   */
  async #skillAndTenant(
    domain: TenantContext,
    skillId: string,
  ): Promise<{ skill: Skill; tenant: TenantSummary | null }> {
    if (!SKILL_ID_PATTERN.test(skillId)) throw new NotFoundError(`Skill ${skillId} not found`);
    const skillKey = itemKey(domain, 'SKILL', skillId);
    const tenantRecord = tenantKey(domain.tenant.id);
    const found = await batchGetAll(this.#table, [skillKey, tenantRecord], { consistent: true });
    const isItem = (key: typeof skillKey) => (item: Record<string, unknown>) =>
      item.PK === key.PK && item.SK === key.SK;
    const skillItem = found.find(isItem(skillKey));
    const tenantItem = found.find(isItem(tenantRecord));
    if (skillItem === undefined) throw new NotFoundError(`Skill ${skillId} not found`);
    return {
      skill: toSkill(skillItem),
      tenant: tenantItem === undefined ? null : tenantSummaryOf(tenantItem),
    };
  }

  /**
   * A tenant may start a run only while its status allows it and before its expiry plus the grace
   * period — a tenant past that is refused even if no scan has suspended it yet (fails closed).
   */
  #assertMayRun(tenant: TenantSummary | null): void {
    if (tenant === null || !tenantMayExecute(tenant.status)) {
      throw new TenantSuspendedError(
        `This tenant is ${tenant?.status ?? 'unavailable'}: runs are disabled until it is renewed`,
        { extra: { tenantStatus: tenant?.status ?? null } },
      );
    }
    const graceEnds = Date.parse(tenant.expiresAt) + GRACE_PERIOD_DAYS * DAY_MS;
    if (!(this.#now().getTime() < graceEnds)) {
      throw new TenantSuspendedError(
        `This tenant's subscription expired on ${tenant.expiresAt} and its grace period is over: runs are disabled until it is renewed`,
        { extra: { tenantStatus: tenant.status, expiresAt: tenant.expiresAt } },
      );
    }
  }

  #activeIndex(domain: TenantContext, id: string, deadline: string) {
    return { GSI2PK: activeExecutionsShard(shardOf(id)), GSI2SK: `${deadline}#${domain.tenant.id}#${id}` };
  }

  async #mayRead(domain: TenantContext, caller: Caller, execution: Execution): Promise<boolean> {
    if (caller.permissions.has('skill:manage')) return true;
    if (!caller.permissions.has('execution:read') && execution.requestedBy !== caller.username) return false;
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    return skill !== null && canSee(caller, skill);
  }

  async #find(domain: TenantContext, id: string): Promise<Execution | null> {
    if (!EXECUTION_ID_PATTERN.test(id)) return null;
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: itemKey(domain, 'EXEC', id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toExecution(result.Item);
  }

  async #claimIdempotency(
    domain: TenantContext,
    caller: Caller,
    key: string,
    executionId: string,
    fingerprint: string,
    now: Date,
  ): Promise<{ executionId: string }> {
    const itemKeyValue = itemKey(domain, 'IDEMP', sha256(`${caller.username}|${key}`));
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...itemKeyValue,
            type: 'IDEMP',
            executionId,
            fingerprint: sha256(fingerprint),
            expiresAtEpoch: Math.floor(now.getTime() / 1000) + IDEMPOTENCY_SECONDS,
          },
          // An expired claim (TTL deletion is lazy, and absent locally) may be taken over.
          ConditionExpression: 'attribute_not_exists(PK) OR expiresAtEpoch < :now',
          ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
        }),
      );
      return { executionId };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: itemKeyValue, ConsistentRead: true }),
    );
    if (existing.Item?.fingerprint !== sha256(fingerprint)) {
      throw new ConflictError('This Idempotency-Key was used for a different request', {
        extra: { reason: 'idempotency-key-reused' },
      });
    }
    return { executionId: String(existing.Item.executionId) };
  }

  async #transition(
    domain: TenantContext,
    id: string,
    to: 'queued' | 'running',
    fields: Record<string, unknown>,
  ): Promise<Execution | null> {
    return this.#update(domain, id, to, sourcesOf(to), fields, []);
  }

  async #finish(
    domain: TenantContext,
    id: string,
    to: TerminalStatus,
    fields: Record<string, unknown>,
  ): Promise<Execution | null> {
    return this.#update(domain, id, to, sourcesOf(to), fields, FINISHED_INDEXES);
  }

  /**
   * One conditional transition; `null` when the run was not in a state it may leave (or does not
   * match `where`). `ifAbsent` fields are set only where the run has none yet.
   */
  async #update(
    domain: TenantContext,
    id: string,
    to: ExecutionStatus,
    from: readonly ExecutionStatus[],
    fields: Record<string, unknown>,
    remove: readonly string[],
    options: {
      readonly ifAbsent?: Record<string, unknown>;
      readonly where?: Readonly<Record<string, string | number>>;
    } = {},
  ): Promise<Execution | null> {
    const names: Record<string, string> = { '#status': 'status' };
    // The status index moves with the status, in the same conditional write.
    const values: Record<string, unknown> = { ':to': to, ':statusIndex': executionsByStatus(domain, to) };
    const sets = ['#status = :to', 'GSI3PK = :statusIndex'];
    Object.entries(fields).forEach(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      sets.push(`#f${index} = :f${index}`);
    });
    Object.entries(options.ifAbsent ?? {}).forEach(([field, value], index) => {
      names[`#a${index}`] = field;
      values[`:a${index}`] = value;
      sets.push(`#a${index} = if_not_exists(#a${index}, :a${index})`);
    });
    const allowed = from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    const matches = Object.entries(options.where ?? {}).map(([field, value], index) => {
      names[`#w${index}`] = field;
      values[`:w${index}`] = value;
      return ` AND #w${index} = :w${index}`;
    });
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: itemKey(domain, 'EXEC', id),
          UpdateExpression: `SET ${sets.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(PK) AND #status IN (${allowed.join(', ')})${matches.join('')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toExecution(result.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async #auditTransition(
    domain: TenantContext,
    execution: Execution,
    status: ExecutionStatus,
    at: string,
    actor: string | AuditActor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.#audit.record(
      domain,
      {
        actor:
          typeof actor === 'string'
            ? { username: actor, via: actor === 'system' ? 'system' : 'session' }
            : actor,
        action: `execution.${status}`,
        target: `execution:${execution.id}`,
        details: { skillId: execution.skillId, ...details },
      },
      { at, key: `${execution.id}.${status}` },
    );
  }
}

/** A run's status, read alone (the data relay checks its run is unfinished); null when there is none. */
export async function executionStatusOf(
  table: Table,
  domain: TenantContext,
  id: string,
): Promise<ExecutionStatus | null> {
  if (!EXECUTION_ID_PATTERN.test(id)) return null;
  const result = await table.client.send(
    new GetCommand({
      TableName: table.name,
      Key: itemKey(domain, 'EXEC', id),
      ProjectionExpression: '#status',
      ExpressionAttributeNames: { '#status': 'status' },
      ConsistentRead: true,
    }),
  );
  const status = result.Item?.status;
  return typeof status === 'string' ? (status as ExecutionStatus) : null;
}
