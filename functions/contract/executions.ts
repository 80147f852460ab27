/** A run's statuses, as the API answers them and every front and client reads them. */
export const EXECUTION_STATUSES = [
  'requested',
  'pending_approval',
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'rejected',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses a run never leaves. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'timed_out', 'rejected', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** Whether a status (as any client received it) is one a run never leaves. */
export function isTerminal(status: string): status is TerminalStatus {
  return TERMINAL.has(status);
}

/** How a voter decided on a waiting run. */
export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Longest reason a cancel may give (the API refuses more; the run page's field stops there). */
export const MAX_CANCEL_REASON = 500;
