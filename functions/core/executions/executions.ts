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
import type { LogChunk } from '../../contract/responses.ts';
import { type AuditActor, type AuditLog, actorOf, canonicalJson } from '../audit/chain.ts';
import { canSee, SKILL_ID_PATTERN, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
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
import { stringifyJson } from '../json.ts';
import type { Page } from '../pagination.ts';
import { type TenantContext, type TenantSummary, tenantMayExecute } from '../tenancy/domain.ts';
import { TenantRepository } from '../tenancy/tenant-repository.ts';
import { CANCEL_CLAIM_SECONDS, type JobClaims } from './claims.ts';
import {
  ExecutionExistsError,
  ExecutionRepository,
  type Move,
  RunNotStorableError,
} from './execution-repository.ts';
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
import { processRunEnds, type RunEnds } from './run-ends.ts';
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
  /**
   * Where a run's end, once stored, wakes the requests of this process that wait on it (`settle`).
   * @default the process's one instance (run-ends.ts)
   */
  readonly runEnds?: RunEnds;
}

export interface RequestResult {
  readonly execution: Execution;
  /** False when an Idempotency-Key named an execution requested before. */
  readonly created: boolean;
}

export class Executions {
  readonly #store: ExecutionRepository;
  readonly #tenants: TenantRepository;
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
  readonly #runEnds: RunEnds;

  constructor(options: ExecutionsOptions) {
    this.#runEnds = options.runEnds ?? processRunEnds;
    this.#runQuota = options.runQuota ?? (async () => ({ release: async () => undefined }));
    this.#store = new ExecutionRepository(options.table);
    this.#tenants = new TenantRepository(options.table);
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
      await this.#store.create(domain, execution);
    } catch (error) {
      if (error instanceof ExecutionExistsError) {
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
    // Who manages Skills sees every run: the catalogue is read only for the others, beside the page.
    const [page, visible] = await Promise.all([
      this.#store.page(
        domain,
        {
          lower: filter.from === undefined ? 'ex-' : idAt(new Date(filter.from)),
          upper: filter.to === undefined ? 'ex-~' : `${idAt(new Date(filter.to))}~`,
          ...(filter.status === undefined ? {} : { status: filter.status }),
          ...(filter.skillId === undefined ? {} : { skillId: filter.skillId }),
          ...(filter.requestedBy === undefined ? {} : { requestedBy: filter.requestedBy }),
        },
        limit,
        cursor,
      ),
      caller.permissions.has('skill:manage')
        ? null
        : this.#skills.listVisible(domain, caller).then((skills) => new Set(skills.map((skill) => skill.id))),
    ]);
    const items =
      visible === null ? page.items : page.items.filter((execution) => visible.has(execution.skillId));
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
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
      const closed = await this.#store.move(domain, id, {
        to: 'cancelled',
        from: sourcesOf('cancelled'),
        set: { finishedAt, error, cancelledBy: caller.username },
        leaves: 'all',
      });
      if (closed !== null) {
        await this.#auditEnd(domain, closed, 'cancelled', finishedAt, caller.username, {
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
    const updated = await this.#store.requestCancel(domain, execution.id, at, caller.username);
    if (updated === null) {
      const current = await this.#find(domain, execution.id);
      if (current === null) throw new NotFoundError(`Execution ${execution.id} not found`);
      throw new ConflictError(`The run is ${current.status.replace('_', ' ')}; there is nothing to cancel`, {
        extra: { executionStatus: current.status },
      });
    }
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
    const { chunks: streamed, more } = await this.#store.logChunks(domain, id, from, LOG_PAGE_CHUNKS);
    const hasStream = streamed.length > 0 || (from > 0 && execution.logs === undefined);
    if (hasStream || from > 0 || !ended) {
      const last = streamed.at(-1)?.seq ?? from;
      return {
        status: execution.status,
        chunks: streamed,
        cursor: String(last),
        complete: ended && !more && (hasStream || from > 0),
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
      const stored = await this.#store.putLogChunk(domain, executionId, {
        seq: chunk.seq,
        stream: chunk.stream === 'stderr' ? 'stderr' : 'stdout',
        text,
        at: chunk.at ?? this.#now().toISOString(),
      });
      if (stored) written++;
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
    const moved = await this.#transition(
      domain,
      report.executionId,
      'running',
      {
        startedAt: report.startedAt,
        deadline,
      },
      deadline,
    );
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
      if (!(cause instanceof RunNotStorableError)) throw cause;
      status = 'failed';
      error = {
        type: 'ResultNotStorable',
        message: `The result could not be stored: ${cause.message}`,
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
    await this.#auditEnd(domain, moved, status, finishedAt, actor, {
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
      moved = await this.#store.move(domain, report.executionId, {
        to: status,
        from: REPORTABLE,
        set: {
          finishedAt,
          ...(outputJson === undefined ? {} : { outputJson }),
          ...(capped === undefined ? {} : { error: capped }),
          logs: capLogs(report.logs, MAX_LOG_BYTES),
          ...extras,
        },
        leaves: 'all',
        ifAbsent: startedAt === undefined ? {} : { startedAt },
        where: { skillId, skillRevision },
      });
    } catch (cause) {
      if (cause instanceof RunNotStorableError) return null;
      throw cause;
    }
    if (moved === null) return null;
    await this.#auditEnd(domain, moved, status, finishedAt, 'system', {
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
    await this.#auditEnd(domain, moved, 'failed', finishedAt, 'system', { error: error.type });
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
    await this.#auditEnd(domain, moved, 'timed_out', finishedAt, 'system', { error: known.type });
    return 'timed_out:not-started';
  }

  /** Runs waiting for approval in a tenant (the inbox), oldest first. */
  async pendingApprovals(domain: TenantContext): Promise<Execution[]> {
    return this.#store.pendingApprovals(domain);
  }

  /** The run as it is now, whoever asks (for decisions that check access themselves). */
  async find(domain: TenantContext, id: string): Promise<Execution | null> {
    return this.#find(domain, id);
  }

  /**
   * The run once it has ended or waits for approval — or as it stands when `seconds` have passed.
   * Its item is read again after SETTLE_FIRST_POLL_MS, then twice as long each time up to
   * SETTLE_MAX_POLL_MS: one consistent read per pause, so a short run answers within tens of ms. A
   * pause ends early when the run ends in this process (run-ends.ts): the run is then read at once.
   * Where every run's end is stored in this process (the local platform), the reads are only a
   * backstop, SETTLE_MAX_POLL_MS apart from the first.
   */
  async settle(
    domain: TenantContext,
    execution: Execution,
    seconds: number,
    sleep?: (ms: number) => Promise<void>,
  ): Promise<Execution> {
    const deadline = performance.now() + seconds * 1000;
    let current = execution;
    let pause = this.#runEnds.endsHere() ? SETTLE_MAX_POLL_MS : SETTLE_FIRST_POLL_MS;
    // The run as given was read (or written) before any end of it: an end already signalled wakes.
    let since = 0;
    while (!TERMINAL.has(current.status) && current.status !== 'pending_approval') {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.#runEnds.wait(domain.tenant.id, current.id, since, Math.min(pause, left), sleep);
      pause = Math.min(pause * 2, SETTLE_MAX_POLL_MS);
      since = this.#runEnds.mark();
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
    const released = await this.#store.move(domain, id, {
      to: 'requested',
      from: ['pending_approval'],
      set: { approvedAt: now.toISOString(), deadline },
      activeUntil: deadline,
      leaves: 'inbox',
    });
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
    const closed = await this.#store.move(domain, id, {
      to,
      from: ['pending_approval'],
      set: { finishedAt, error },
      leaves: 'all',
    });
    if (closed !== null) await this.#auditEnd(domain, closed, to, finishedAt, actor, { reason: error.type });
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
    const moved = await this.#store.move(domain, executionId, {
      to: 'cancelled',
      from: ['pending_approval'],
      set: { finishedAt, error: { type: 'ApprovalExpired', message: 'The run was not approved in time' } },
      leaves: 'all',
    });
    if (moved === null) return false;
    await this.#auditEnd(domain, moved, 'cancelled', finishedAt, 'system', {
      reason: 'approval-expired',
    });
    return true;
  }

  /** Unfinished runs (any tenant) whose deadline is before `before`, from the sharded sparse index. */
  overdue(before: Date): AsyncGenerator<Execution> {
    return this.#store.overdue(before);
  }

  /** Unfinished runs of any tenant still waiting to be queued or picked up. */
  async *waiting(): AsyncGenerator<Execution> {
    for await (const execution of this.overdue(new Date('9999-01-01T00:00:00.000Z'))) {
      if (execution.status === 'requested' || execution.status === 'queued') yield execution;
    }
  }

  /** Whether the tenant may start a run now, from its record read consistently (see #assertMayRun). */
  async #admit(domain: TenantContext): Promise<void> {
    this.#assertMayRun(await this.#tenants.summary(domain.tenant.id, true));
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
    const { skill, tenant } = await this.#store.skillAndTenant(domain, skillId);
    if (skill === null) throw new NotFoundError(`Skill ${skillId} not found`);
    return { skill, tenant };
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

  async #mayRead(domain: TenantContext, caller: Caller, execution: Execution): Promise<boolean> {
    if (caller.permissions.has('skill:manage')) return true;
    if (!caller.permissions.has('execution:read') && execution.requestedBy !== caller.username) return false;
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    return skill !== null && canSee(caller, skill);
  }

  async #find(domain: TenantContext, id: string): Promise<Execution | null> {
    if (!EXECUTION_ID_PATTERN.test(id)) return null;
    return this.#store.find(domain, id);
  }

  async #claimIdempotency(
    domain: TenantContext,
    caller: Caller,
    key: string,
    executionId: string,
    fingerprint: string,
    now: Date,
  ): Promise<{ executionId: string }> {
    const claim = await this.#store.claimIdempotency(
      domain,
      sha256(`${caller.username}|${key}`),
      executionId,
      sha256(fingerprint),
      Math.floor(now.getTime() / 1000),
      Math.floor(now.getTime() / 1000) + IDEMPOTENCY_SECONDS,
    );
    if (claim.won) return { executionId };
    if (claim.held?.fingerprint !== sha256(fingerprint)) {
      throw new ConflictError('This Idempotency-Key was used for a different request', {
        extra: { reason: 'idempotency-key-reused' },
      });
    }
    return { executionId: claim.held.executionId };
  }

  async #transition(
    domain: TenantContext,
    id: string,
    to: 'queued' | 'running',
    fields: Move['set'],
    activeUntil?: string,
  ): Promise<Execution | null> {
    return this.#store.move(domain, id, {
      to,
      from: sourcesOf(to),
      set: fields,
      ...(activeUntil === undefined ? {} : { activeUntil }),
    });
  }

  async #finish(
    domain: TenantContext,
    id: string,
    to: TerminalStatus,
    fields: Move['set'],
  ): Promise<Execution | null> {
    return this.#store.move(domain, id, { to, from: sourcesOf(to), set: fields, leaves: 'all' });
  }

  /**
   * A run's end, stored: its audit entry, then the wake-up of the requests of this process waiting
   * on it (run-ends.ts). Only a transition the store accepted gets here.
   */
  async #auditEnd(
    domain: TenantContext,
    execution: Execution,
    status: TerminalStatus,
    at: string,
    actor: string | AuditActor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.#auditTransition(domain, execution, status, at, actor, details);
    this.#runEnds.ended(domain.tenant.id, execution.id);
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
  return new ExecutionRepository(table).status(domain, id);
}
