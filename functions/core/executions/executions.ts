/**
 * Executions in the store: requesting runs, dispatching them, listings, waiting for a run to settle,
 * and the tenant's admission. The service answers for its neighbours too, so callers keep one class:
 * results.ts (runtimes' reports, runs failed or never started), log-pages.ts (a run's log),
 * cancels.ts (cancelling in any state) and pending-runs.ts (runs waiting for approval), which all
 * move runs through run-moves.ts (transitions, audit entries, runs' ends). The rules they apply
 * live beside them, without I/O: state-machine.ts (the statuses and the moves between them),
 * requests.ts (ids, input, idempotency keys, approvals needed), recording.ts (reports and what a run
 * keeps of them), views.ts (the API's shape of a run), model.ts (what a run is); this module
 * re-exports their public names, so callers import from here.
 *
 * Every transition is a conditional write naming the states it may leave (`sourcesOf`),
 * so a redelivered message or a racing writer can neither lose nor repeat a transition; each
 * transition's audit entry is written only after the store accepted it, so it is written once.
 *
 * Input is validated against the Skill's input schema before anything is written; output against
 * the output schema of the revision that ran before `succeeded` is recorded. Unfinished executions
 * sit in a sharded sparse index by deadline, which the sweep reads to close runs whose worker died.
 */
import type { LogChunk } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import { canSee, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import { NotFoundError, unlessNotFound } from '../errors.ts';
import type { ExecutorRegistry } from '../executors/registry.ts';
import type { Caller } from '../identity/caller.ts';
import type { Page } from '../pagination.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { TenantRepository } from '../tenancy/tenant-repository.ts';
import { RunCancels } from './cancels.ts';
import { ExecutionRepository } from './execution-repository.ts';
import type { JobClaims } from './job-claim-repository.ts';
import { type LogPage, RunLogs } from './log-pages.ts';
import {
  APPROVAL_TTL_SECONDS,
  type Execution,
  type ExecutionError,
  type ExecutionFilter,
  type RequestResult,
  type Runnable,
} from './model.ts';
import { PendingApprovalCap } from './pending-cap.ts';
import { PendingRuns } from './pending-runs.ts';
import type { ResultReport, StartedReport } from './recording.ts';
import { EXECUTION_ID_PATTERN, idAt } from './requests.ts';
import { RunResults } from './results.ts';
import { processRunEnds, type RunEnds } from './run-ends.ts';
import { RunMoves } from './run-moves.ts';
import { RunRequests } from './run-requests.ts';
import { type ExecutionStatus, type RecordOutcome, TERMINAL } from './state-machine.ts';
import { processWaitSlots, type WaitRelease, type WaitSlots } from './wait-slots.ts';

/**
 * How a wait for a run ends. By default a run waiting for people is answered at once (a run's request,
 * a tool call: the caller is to share the approval link); `throughApproval`, for a caller that asked
 * to follow a run for a time (MCP `get_run`), waits through it too, reading the run as a wait does.
 */
export interface SettleOptions {
  readonly throughApproval?: boolean;
}

/** First pause while a caller waits for its run to settle; it doubles up to SETTLE_MAX_POLL_MS. */
export const SETTLE_FIRST_POLL_MS = 10;
export const SETTLE_MAX_POLL_MS = 500;

export { MAX_CANCEL_REASON } from './cancels.ts';
export {
  LATE_LOG_SECONDS,
  LOG_PAGE_CHUNKS,
  type LogPage,
  MAX_LOG_CHUNK_BYTES,
  MAX_LOG_CHUNKS,
} from './log-pages.ts';
export {
  APPROVAL_TTL_SECONDS,
  type Execution,
  type ExecutionError,
  type ExecutionFilter,
  type ExecutionLogs,
  type RequestResult,
  RUNNING_GRACE_SECONDS,
  type Runnable,
  START_DEADLINE_SECONDS,
} from './model.ts';
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

export interface ExecutionsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly skills: SkillCatalog;
  readonly executors: ExecutorRegistry;
  readonly now?: () => Date;
  /** How long a run may wait for approvals in a tenant. @default APPROVAL_TTL_SECONDS */
  readonly approvalTtlSeconds?: (domain: TenantContext) => Promise<number>;
  /** Called once a run waits for approval (to notify approvers). */
  readonly onPendingApproval?: (domain: TenantContext, execution: Execution, skill: Skill) => Promise<void>;
  /**
   * Refuses, before anything is written, a run its requester asks for that too few people could
   * approve (approvals.ts `assertApprovable`). @default every run may be approved
   */
  readonly approvable?: (domain: TenantContext, skill: Skill, requester: string) => Promise<void>;
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
  /** The waits a tenant may hold at once (wait-slots.ts). @default this process's, in `runEnds` */
  readonly waitSlots?: WaitSlots;
}

export class Executions {
  readonly #skills: SkillCatalog;
  readonly #runEnds: RunEnds;
  readonly #waitSlots: WaitSlots;
  /** The moves the services below share (run-moves.ts). */
  readonly #moves: RunMoves;
  readonly #requests: RunRequests;
  readonly #results: RunResults;
  readonly #logs: RunLogs;
  readonly #cancels: RunCancels;
  readonly #pending: PendingRuns;
  readonly #store: ExecutionRepository;

  constructor(options: ExecutionsOptions) {
    this.#store = new ExecutionRepository(options.table);
    this.#runEnds = options.runEnds ?? processRunEnds;
    this.#waitSlots = options.waitSlots ?? processWaitSlots(this.#runEnds);
    this.#skills = options.skills;
    const now = options.now ?? (() => new Date());
    // Runs waiting for approval at once (the plan's cap): taken as a run is written waiting, given
    // back by every move out of `pending_approval`.
    const pendingCap = new PendingApprovalCap(options.table, this.#store, now);
    this.#moves = new RunMoves({
      store: this.#store,
      audit: options.audit,
      runEnds: this.#runEnds,
      now,
      leftApproval: (domain, id) => pendingCap.release(domain, id),
    });
    this.#requests = new RunRequests({
      moves: this.#moves,
      tenants: new TenantRepository(options.table),
      skills: options.skills,
      executors: options.executors,
      read: (domain, caller, id) => this.get(domain, caller, id),
      runnable: options.runnable ?? (async () => ({})),
      approvalTtl: options.approvalTtlSeconds ?? (async () => APPROVAL_TTL_SECONDS),
      onPendingApproval: options.onPendingApproval ?? (async () => undefined),
      approvable: options.approvable ?? (async () => undefined),
      runQuota: options.runQuota ?? (async () => ({ release: async () => undefined })),
      pendingCap,
    });
    this.#results = new RunResults({
      moves: this.#moves,
      skills: options.skills,
      notStartedError: options.notStartedError ?? (async () => null),
    });
    this.#logs = new RunLogs({ moves: this.#moves });
    this.#cancels = new RunCancels({
      moves: this.#moves,
      ...(options.claims === undefined ? {} : { claims: options.claims }),
    });
    this.#pending = new PendingRuns({
      moves: this.#moves,
      skills: options.skills,
      executors: options.executors,
    });
  }

  /**
   * Requests a run of a Skill (run-requests.ts: the checks, the idempotency claim, the item, its
   * audit entry, the dispatch, and what a crash between them leaves).
   */
  request(...request: Parameters<RunRequests['request']>): Promise<RequestResult> {
    return this.#requests.request(...request);
  }

  /** Hands a `requested` (or re-dispatched `queued`) run to its executor and marks it `queued`. */
  dispatch(domain: TenantContext, execution: Execution, skill?: Skill): Promise<Execution> {
    return this.#requests.dispatch(domain, execution, skill);
  }

  /**
   * What up to 100 runs' statuses are now, by id (those that exist): for lists that name runs, such
   * as a schedule's fire log. The caller has already decided the ids may be shown.
   */
  statuses(domain: TenantContext, ids: readonly string[]): Promise<Map<string, ExecutionStatus>> {
    return this.#store.statuses(domain, ids);
  }

  async get(domain: TenantContext, caller: Caller, id: string): Promise<Execution> {
    const execution = await this.#moves.find(domain, id);
    if (execution === null) throw new NotFoundError(`Execution ${id} not found`);
    if (!(await this.#mayRead(domain, caller, execution)))
      throw new NotFoundError(`Execution ${id} not found`);
    return execution;
  }

  /**
   * Newest first, only runs of Skills the caller may see, narrowed by `filter`. The most selective
   * filter picks the index (requester, then Skill, then status; none: the tenant's key range), the
   * date range is a key range on the time-ordered ids, and the other filters narrow each page.
   * `maxAgeMs` is how old a catalogue the caller accepts for that (a request's `Cache-Control`;
   * SkillCatalog.listVisible).
   */
  async list(
    domain: TenantContext,
    caller: Caller,
    limit: number,
    cursor?: string,
    filter: ExecutionFilter = {},
    maxAgeMs?: number,
  ): Promise<Page<Execution>> {
    // Who manages Skills sees every run: the catalogue is read only for the others, beside the page.
    const [page, visible] = await Promise.all([
      this.#moves.store.page(
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
        : this.#skills
            .listVisible(domain, caller, { includeArchived: true, maxAgeMs })
            .then((skills) => new Set(skills.map((skill) => skill.id))),
    ]);
    const items =
      visible === null ? page.items : page.items.filter((execution) => visible.has(execution.skillId));
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
  }

  /** Cancels a run the caller may read (cancels.ts says who may, and what a cancel does in each state). */
  async cancel(domain: TenantContext, caller: Caller, id: string, reason = ''): Promise<Execution> {
    return this.#cancels.cancel(domain, caller, await this.get(domain, caller, id), reason);
  }

  /**
   * Withdraws the tenant's runs not started yet that `affects` names, closing each as `cancelled`
   * with `error` (cancels.ts `withdraw`): what a disabled or archived Skill or script still had
   * waiting in its queue would otherwise start, since runnability is checked when a run is requested
   * and approved. A run a worker already holds is starting and runs. Answers how many it closed.
   */
  async withdrawWaiting(
    domain: TenantContext,
    affects: (execution: Execution) => boolean,
    error: ExecutionError,
    by: string,
  ): Promise<number> {
    let withdrawn = 0;
    for await (const execution of this.#store.waitingToStart(domain)) {
      if (!affects(execution)) continue;
      if (await this.#cancels.withdraw(domain, execution, error, by, 'withdrawn')) withdrawn++;
    }
    return withdrawn;
  }

  /** A page of the log of a run the caller may read, after `after` (log-pages.ts). */
  /**
   * A run the caller may read, as it is shown to them: running once its job streams its log, even
   * before the runtime's `started` report is recorded (log-pages.ts `live`; one read more, only for
   * a run not started yet).
   */
  async watch(domain: TenantContext, caller: Caller, id: string): Promise<Execution> {
    return this.#logs.live(domain, await this.get(domain, caller, id));
  }

  async logs(domain: TenantContext, caller: Caller, id: string, after?: string): Promise<LogPage> {
    return this.#logs.page(domain, await this.get(domain, caller, id), after);
  }

  /** Stores chunks of a running job's output as they come (log-pages.ts); how many were new. */
  appendLogChunks(domain: TenantContext, executionId: string, chunks: readonly LogChunk[]): Promise<number> {
    return this.#logs.append(domain, executionId, chunks);
  }

  /** A runtime picked the job up (results.ts). Ignored unless the run is still waiting for it. */
  recordStarted(domain: TenantContext, report: StartedReport): Promise<void> {
    return this.#results.started(domain, report);
  }

  /** A runtime's final report, checked and recorded (results.ts). */
  recordResult(domain: TenantContext, report: ResultReport): Promise<RecordOutcome> {
    return this.#results.result(domain, report);
  }

  /** Ends a run in `failed` with a reason (dead letters, lost workers, runs that never started). */
  fail(domain: TenantContext, executionId: string, error: ExecutionError): Promise<boolean> {
    return this.#results.fail(domain, executionId, error);
  }

  /**
   * Closes a run that no runtime picked up before its start deadline (results.ts): what was done,
   * or null when the run had moved on meanwhile.
   */
  closeNotStarted(domain: TenantContext, execution: Execution): Promise<string | null> {
    return this.#results.closeNotStarted(domain, execution);
  }

  /**
   * Every run waiting for approval in a tenant, oldest first: read a page at a time, so a caller
   * that goes through them all never holds them all.
   */
  pendingApprovals(domain: TenantContext): AsyncGenerator<Execution> {
    return this.#pending.all(domain);
  }

  /** One page of the runs waiting for approval (the inbox), oldest first; `cursor` from the last. */
  pendingApprovalsPage(domain: TenantContext, limit: number, cursor?: string): Promise<Page<Execution>> {
    return this.#pending.page(domain, limit, cursor);
  }

  /** The inbox's cursor that goes on after `execution`. */
  pendingApprovalsCursorAfter(domain: TenantContext, execution: Execution): string {
    return this.#pending.cursorAfter(domain, execution);
  }

  /** The run as it is now, whoever asks (for decisions that check access themselves). */
  async find(domain: TenantContext, id: string): Promise<Execution | null> {
    return this.#moves.find(domain, id);
  }

  /**
   * The run once it has ended or waits for approval — or as it stands when `seconds` have passed.
   * Its item is read again after SETTLE_FIRST_POLL_MS, then twice as long each time up to
   * SETTLE_MAX_POLL_MS: one consistent read per pause, so a short run answers within tens of ms. A
   * pause ends early when the run ends in this process (run-ends.ts): the run is then read at once,
   * or not at all when the wake-up carries the ended run as its end's write stored it — taken only if
   * it is this tenant's run, of this id, and ended. Where every run's end is stored in this process
   * (the local platform), the reads are only a backstop, SETTLE_MAX_POLL_MS apart from the first.
   * A tenant holds at most MAX_WAITS_PER_TENANT waits at once (wait-slots.ts: in this process, or in
   * the table where many serve): beyond them the run is answered as given, as when the time has run
   * out.
   */
  async settle(
    domain: TenantContext,
    execution: Execution,
    seconds: number,
    sleep?: (ms: number) => Promise<void>,
    options: SettleOptions = {},
  ): Promise<Execution> {
    return (await this.settleWithin(domain, execution, seconds, sleep, options)).run;
  }

  /**
   * `settle`, saying whether the wait was taken: `waited` is false when the tenant held all its
   * waits already and the run was answered as given (so a `Prefer: wait` was not applied).
   */
  async settleWithin(
    domain: TenantContext,
    execution: Execution,
    seconds: number,
    sleep?: (ms: number) => Promise<void>,
    options: SettleOptions = {},
  ): Promise<{ readonly run: Execution; readonly waited: boolean }> {
    const settled = (run: Execution) =>
      TERMINAL.has(run.status) || (run.status === 'pending_approval' && options.throughApproval !== true);
    if (settled(execution)) return { run: execution, waited: true };
    let release: WaitRelease | null;
    try {
      release = await this.#waitSlots.take(domain, seconds);
    } catch {
      // The slots could not be read (a store slow for a moment): the run is answered as it stands,
      // as a wait whose time ran out — nothing is held that could not be counted.
      release = null;
    }
    if (release === null) return { run: execution, waited: false };
    try {
      return { run: await this.#settle(domain, execution, seconds, settled, sleep), waited: true };
    } finally {
      // A slot that cannot be given back now is freed by its lease.
      await release().catch(() => undefined);
    }
  }

  async #settle(
    domain: TenantContext,
    execution: Execution,
    seconds: number,
    settled: (run: Execution) => boolean,
    sleep?: (ms: number) => Promise<void>,
  ): Promise<Execution> {
    const deadline = performance.now() + seconds * 1000;
    let current = execution;
    let pause = this.#runEnds.endsHere() ? SETTLE_MAX_POLL_MS : SETTLE_FIRST_POLL_MS;
    // The run as given was read (or written) before any end of it: an end already signalled wakes.
    let since = 0;
    while (!settled(current)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const woken = await this.#runEnds.wait(
        domain.tenant.id,
        current.id,
        since,
        Math.min(pause, left),
        sleep,
      );
      if (
        woken !== undefined &&
        woken.tenantId === domain.tenant.id &&
        woken.id === current.id &&
        TERMINAL.has(woken.status)
      ) {
        // Its own copy: the run carried may wake other requests waiting on it too.
        return structuredClone(woken);
      }
      pause = Math.min(pause * 2, SETTLE_MAX_POLL_MS);
      since = this.#runEnds.mark();
      current = (await this.#moves.find(domain, current.id)) ?? current;
    }
    return current;
  }

  /**
   * Approvals are complete: `pending_approval → requested` (pending-runs.ts), then dispatched. Exactly
   * one caller wins the conditional transition, so two approvers deciding at once queue the run once.
   */
  async releaseApproved(domain: TenantContext, id: string): Promise<Execution | null> {
    await this.#requests.admit(domain);
    const released = await this.#pending.release(domain, id);
    return released === null ? null : this.#requests.dispatch(domain, released);
  }

  /** Ends a pending run: rejected by an approver, or cancelled because what was approved changed. */
  closePending(...closing: Parameters<PendingRuns['close']>): Promise<Execution | null> {
    return this.#pending.close(...closing);
  }

  /** What a pending run would execute if released now, as an approval hash (pending-runs.ts). */
  currentApprovalHash(domain: TenantContext, execution: Execution): Promise<string | null> {
    return this.#pending.currentHash(domain, execution);
  }

  /** A run that waited too long for its approvals is cancelled. */
  expireApproval(domain: TenantContext, executionId: string): Promise<boolean> {
    return this.#pending.expire(domain, executionId);
  }

  /** Unfinished runs (any tenant) whose deadline is before `before`, from the sharded sparse index. */
  overdue(before: Date): AsyncGenerator<Execution> {
    return this.#moves.store.overdue(before);
  }

  /** Unfinished runs of any tenant still waiting to be queued or picked up. */
  async *waiting(): AsyncGenerator<Execution> {
    for await (const execution of this.overdue(new Date('9999-01-01T00:00:00.000Z'))) {
      if (execution.status === 'requested' || execution.status === 'queued') yield execution;
    }
  }

  async #mayRead(domain: TenantContext, caller: Caller, execution: Execution): Promise<boolean> {
    if (caller.permissions.has('skill:manage')) return true;
    if (!caller.permissions.has('execution:read') && execution.requestedBy !== caller.username) return false;
    const skill = await unlessNotFound(this.#skills.get(domain, execution.skillId));
    return skill !== null && canSee(caller, skill);
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
