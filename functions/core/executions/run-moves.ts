/**
 * The moves every execution service makes, in one place: reading a run, a conditional transition
 * naming the states it may leave (`sourcesOf`), its audit entry, and a run's end — audited, then
 * signalled to the requests of this process that wait on it (run-ends.ts). Internal to
 * `executions/`: `Executions` builds one and hands it to the services beside it (results.ts,
 * log-pages.ts, cancels.ts, pending-runs.ts), so none of them repeats a transition or an audit.
 *
 * Every transition is a conditional write, so a redelivered message or a racing writer can neither
 * lose nor repeat it; its audit entry is written only after the store accepted it, so the
 * conditional write is also what makes the entry once. The entry is dated when it is written
 * (chain.ts): a time the transition carries from elsewhere, such as a runtime's start, goes in its
 * details.
 */
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { ExecutionRepository, Move } from './execution-repository.ts';
import type { Execution } from './model.ts';
import { EXECUTION_ID_PATTERN } from './requests.ts';
import type { RunEnds } from './run-ends.ts';
import { type ExecutionStatus, sourcesOf, type TerminalStatus } from './state-machine.ts';

export interface RunMovesOptions {
  readonly store: ExecutionRepository;
  readonly audit: AuditLog;
  readonly runEnds: RunEnds;
  readonly now: () => Date;
  /**
   * Called once a run that needed approval was moved by a move that may leave `pending_approval`:
   * it gives the run's place among the runs waiting back (pending-cap.ts). Repeating it is harmless.
   * @default nothing counted
   */
  readonly leftApproval?: (domain: TenantContext, id: string) => Promise<void>;
}

export class RunMoves {
  /** The runs' repository, for the moves that are not a plain transition (a cancel, a log chunk). */
  readonly store: ExecutionRepository;
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly #runEnds: RunEnds;
  readonly #leftApproval: NonNullable<RunMovesOptions['leftApproval']>;

  constructor(options: RunMovesOptions) {
    this.store = options.store;
    this.audit = options.audit;
    this.now = options.now;
    this.#runEnds = options.runEnds;
    this.#leftApproval = options.leftApproval ?? (async () => undefined);
  }

  /**
   * A conditional move of the run (the store's `move`); null when the run had moved on. A move that
   * may leave `pending_approval` also gives the run's place among the runs waiting back once the
   * store accepted it (a run that needed approval and was released earlier has none: the removal is
   * then a no-op). That write may fail without failing the move: the cap's clean-up takes out a run
   * that no longer waits (pending-cap.ts).
   */
  async move(domain: TenantContext, id: string, move: Move): Promise<Execution | null> {
    const moved = await this.store.move(domain, id, move);
    if (moved !== null && moved.approvalsRequired > 0 && move.from.includes('pending_approval')) {
      await Promise.allSettled([this.#leftApproval(domain, id)]);
    }
    return moved;
  }

  /** The run as stored (strongly consistent), or null; an id not shaped like one is never read. */
  async find(domain: TenantContext, id: string): Promise<Execution | null> {
    if (!EXECUTION_ID_PATTERN.test(id)) return null;
    return this.store.find(domain, id);
  }

  /** `to` from any state that may move there; null when the run had moved on (or is gone). */
  async transition(
    domain: TenantContext,
    id: string,
    to: 'queued' | 'running',
    fields: Move['set'],
    activeUntil?: string,
  ): Promise<Execution | null> {
    return this.move(domain, id, {
      to,
      from: sourcesOf(to),
      set: fields,
      ...(activeUntil === undefined ? {} : { activeUntil }),
    });
  }

  /** An end from any state that may end so, leaving every index; null when it had moved on. */
  async finish(
    domain: TenantContext,
    id: string,
    to: TerminalStatus,
    fields: Move['set'],
  ): Promise<Execution | null> {
    return this.move(domain, id, { to, from: sourcesOf(to), set: fields, leaves: 'all' });
  }

  /**
   * A run's end, stored: the wake-up of the requests of this process waiting on it, with the run as
   * the store returned it (run-ends.ts), then its audit entry. Only a transition the store accepted
   * gets here. The waiters answer while the entry is written — as a client polling the run could
   * already see the stored end before its entry — and the caller still awaits the entry: a
   * recorder's message is deleted only once both are stored, so a crash between the end and its
   * entry leaves what it left before (the end stored, the report redelivered and found replayed).
   */
  async auditEnd(
    domain: TenantContext,
    execution: Execution,
    status: TerminalStatus,
    actor: string | AuditActor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    this.#runEnds.ended(domain.tenant.id, execution.id, execution);
    await this.auditTransition(domain, execution, status, actor, details);
  }

  /** The audit entry of a transition the store accepted. */
  async auditTransition(
    domain: TenantContext,
    execution: Execution,
    status: ExecutionStatus,
    actor: string | AuditActor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.audit.record(domain, {
      actor:
        typeof actor === 'string'
          ? { username: actor, via: actor === 'system' ? 'system' : 'session' }
          : actor,
      action: `execution.${status}`,
      target: `execution:${execution.id}`,
      details: { skillId: execution.skillId, ...details },
    });
  }
}

/** A service beside `Executions`: the moves it shares with the others, and what else it was given. */
export abstract class RunService<Options extends { readonly moves: RunMoves }> {
  protected readonly moves: RunMoves;
  protected readonly options: Options;

  constructor(options: Options) {
    this.moves = options.moves;
    this.options = options;
  }
}
