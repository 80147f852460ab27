/**
 * The execution state machine, without I/O: the statuses, which status each may move to, and what
 * a runtime's report makes of a run in a given status. The store applies a move as one conditional
 * update naming the statuses it may leave (`sourcesOf`); this module is the single statement of those
 * rules (property-tested in test/unit/functions/core/executions/state-machine.test.ts).
 *
 *   pending_approval → requested (approved) | rejected | cancelled | failed
 *   requested → queued | running | any end but rejected
 *   queued → running | any end but rejected
 *   running → succeeded | failed | timed_out | cancelled
 *
 * A run that needs no approval is written `queued` directly; an approved run goes `requested`, then
 * `queued` once its job is sent. An ended run never moves again.
 */

import {
  EXECUTION_STATUSES,
  type ExecutionStatus,
  TERMINAL_STATUSES,
  type TerminalStatus,
} from '../../contract/executions.ts';

// The statuses are the contract's (functions/contract), which the fronts and clients read too.
export { EXECUTION_STATUSES, type ExecutionStatus, type TerminalStatus };

export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>(TERMINAL_STATUSES);

/** Where a run is, said in a sentence: "has already ended (succeeded)", "is pending approval". */
export function whereTheRunIs(status: ExecutionStatus): string {
  return TERMINAL.has(status)
    ? `has already ended (${status.replace('_', ' ')})`
    : `is ${status.replace('_', ' ')}`;
}

/** The statuses a move into each status may leave (a status absent here is only ever written new). */
const SOURCES: Readonly<Record<Exclude<ExecutionStatus, 'pending_approval'>, readonly ExecutionStatus[]>> = {
  requested: ['pending_approval'],
  queued: ['requested'],
  running: ['requested', 'queued'],
  succeeded: ['requested', 'queued', 'running'],
  failed: ['requested', 'queued', 'running', 'pending_approval'],
  timed_out: ['requested', 'queued', 'running'],
  rejected: ['pending_approval'],
  cancelled: ['requested', 'queued', 'running', 'pending_approval'],
};

/** The statuses a runtime's result may end: a run waiting for approval has no job yet. */
export const REPORTABLE: readonly ExecutionStatus[] = ['requested', 'queued', 'running'];

/** The statuses a run may be in when it moves to `to` (the condition of its update). */
export function sourcesOf(to: ExecutionStatus): readonly ExecutionStatus[] {
  return to === 'pending_approval' ? [] : SOURCES[to];
}

/** Whether a run in `from` may move to `to`. */
export function mayMove(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return sourcesOf(to).includes(from);
}

/** The status a run in `from` is in after a move to `to` is attempted: `to`, or `from` when refused. */
export function attemptMove(from: ExecutionStatus, to: ExecutionStatus): ExecutionStatus {
  return mayMove(from, to) ? to : from;
}

export function isTerminal(status: ExecutionStatus): status is TerminalStatus {
  return TERMINAL.has(status);
}

/**
 * What recording a result did: moved the run, or found it already ended (by this report or another),
 * or waiting for approval — no job of it may exist yet, so no runtime's report may close it.
 */
export type RecordOutcome =
  | 'recorded'
  | 'unknown-run'
  | 'replayed'
  | 'already-finished'
  | 'awaiting-approval';

/**
 * What a result report makes of a run as it is (`null`: no such run) before anything is written:
 * an outcome when the report may not move it, or `null` when it may be recorded.
 */
export function refusedReport(
  run: { readonly status: ExecutionStatus; readonly resultReportId?: string } | null,
  reportId: string | undefined,
): Exclude<RecordOutcome, 'recorded'> | null {
  if (run === null) return 'unknown-run';
  if (isTerminal(run.status)) {
    return reportId !== undefined && run.resultReportId === reportId ? 'replayed' : 'already-finished';
  }
  if (run.status === 'pending_approval') return 'awaiting-approval';
  return null;
}

/** What a runtime says of a job it ended. */
export type ReportedStatus = 'succeeded' | 'failed' | 'timed_out' | 'killed' | 'cancelled';

/**
 * The status a result ends its run in. `outputRefused`: a `succeeded` report's output was too large
 * or broke the Skill's output schema. A `cancelled` report ends the run `cancelled` only when a
 * cancel was requested (the runtime stopped the job for it); otherwise the job failed.
 */
export function endOf(
  reported: ReportedStatus,
  context: { readonly outputRefused: boolean; readonly cancelRequested: boolean },
): Exclude<TerminalStatus, 'rejected'> {
  switch (reported) {
    case 'succeeded':
      return context.outputRefused ? 'failed' : 'succeeded';
    case 'timed_out':
      return 'timed_out';
    case 'cancelled':
      return context.cancelRequested ? 'cancelled' : 'failed';
    default:
      return 'failed';
  }
}
