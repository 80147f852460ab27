/**
 * The rules of recording what a runtime reports, without I/O: the reports, the bounds of what a run
 * keeps (output, logs, error) and how a result fits in one item. Applying a report to the store is
 * results.ts (`Executions.recordStarted` / `recordResult`); the states it may move are
 * state-machine.ts.
 */
import type { EgressUse } from '../http-resources/jobs.ts';
import type { ExecutionError, ExecutionLogs } from './model.ts';
import type { ReportedStatus } from './state-machine.ts';

/** Largest output stored (serialised JSON); the runtime enforces the same bound. */
export const MAX_OUTPUT_BYTES = 256 * 1024;
/** Bytes of each log stream kept on the execution. */
export const MAX_LOG_BYTES = 64 * 1024;

/** What a runtime reports through the results queue. */
export interface StartedReport {
  readonly kind: 'started';
  readonly executionId: string;
  readonly tenantId: string;
  readonly startedAt: string;
}

export interface ResultReport {
  readonly kind: 'result';
  readonly executionId: string;
  readonly tenantId: string;
  readonly skillId?: string;
  /** The Skill revision the job was dispatched for (echoed from the job): lets the recorder skip its read. */
  readonly skillRevision?: number;
  /** `cancelled`: the runtime stopped the job because a cancel was requested (see cancel()). */
  readonly status: ReportedStatus;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly logs?: Partial<ExecutionLogs>;
  readonly metrics?: Readonly<Record<string, unknown>>;
  readonly sandbox?: Readonly<Record<string, unknown>>;
  readonly egress?: readonly EgressUse[];
  /** Unique per report, so a replay of it is told apart from another report. */
  readonly reportId?: string;
}

/** Truncates a string to at most `bytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, bytes: number): { text: string; truncated: boolean } {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= bytes) return { text, truncated: false };
  let end = bytes;
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: buffer.subarray(0, end).toString('utf8'), truncated: true };
}

export const TRUNCATION_MARKER = '\n…[truncated by ExecFabric]';

export function capLogs(logs: Partial<ExecutionLogs> | undefined, bytes = MAX_LOG_BYTES): ExecutionLogs {
  const stdout = truncateUtf8(String(logs?.stdout ?? ''), bytes);
  const stderr = truncateUtf8(String(logs?.stderr ?? ''), bytes);
  return {
    stdout: stdout.truncated ? `${stdout.text}${TRUNCATION_MARKER}` : stdout.text,
    stderr: stderr.truncated ? `${stderr.text}${TRUNCATION_MARKER}` : stderr.text,
    truncated: logs?.truncated === true || stdout.truncated || stderr.truncated,
  };
}

/** DynamoDB's item size limit, less room for keys, index attributes and names. */
export const MAX_ITEM_BYTES = 400 * 1024 - 8 * 1024;

/** What logs may take of a run's item once `used` bytes are in (input, output, error, the rest). */
export function logRoom(used: number): number {
  return Math.max(0, Math.min(MAX_LOG_BYTES, Math.floor((MAX_ITEM_BYTES - used) / 2) - 1024));
}

/** A job shorter than the worker's heartbeat sends no `started`: its start comes with the result. */
export function reportedStartOf(report: ResultReport): string | undefined {
  const reported = report.metrics?.startedAt;
  return typeof reported === 'string' && !Number.isNaN(Date.parse(reported))
    ? new Date(reported).toISOString()
    : undefined;
}

/** An error as a run keeps it: type, message, trace and issues bounded. */
export function capError(error: ExecutionError): ExecutionError {
  return {
    type: String(error.type).slice(0, 200),
    message: truncateUtf8(String(error.message ?? ''), 4096).text,
    ...(error.trace === undefined ? {} : { trace: truncateUtf8(String(error.trace), 16 * 1024).text }),
    ...(error.limit === undefined ? {} : { limit: String(error.limit) }),
    ...(error.issues === undefined ? {} : { issues: error.issues.slice(0, 20) }),
  };
}
