/**
 * A run's log, as pages: the chunks a runtime streams while the job runs (one item each, written
 * once) and, for a run that streamed none, the log it kept when it ended. `Executions` answers for
 * it (`logs`, after its read check, and `appendLogChunks`); the chunks are stored through the moves
 * shared by the execution services (run-moves.ts).
 */
import type { LogChunk } from '../../contract/responses.ts';
import { ValidationError } from '../errors.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Execution } from './model.ts';
import { truncateUtf8 } from './recording.ts';
import { type RunMoves, RunService } from './run-moves.ts';
import { type ExecutionStatus, TERMINAL } from './state-machine.ts';

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

/**
 * Statuses a run keeps until its runtime's `started` report is recorded, though its job may run and
 * stream its log already (the report goes out with the first heartbeat, ~1 s in).
 */
const NOT_YET_STARTED: ReadonlySet<ExecutionStatus> = new Set(['requested', 'queued']);

/** How a run that streamed its log is shown before its `started` report is recorded: running. */
function shownRunning(execution: Execution, since: string | undefined): Execution {
  return {
    ...execution,
    status: 'running',
    ...(execution.startedAt === undefined && since !== undefined ? { startedAt: since } : {}),
  };
}

export class RunLogs extends RunService<{ readonly moves: RunMoves }> {
  /**
   * The run as its readers see it: a run still `queued` (or `requested`) whose job streamed its
   * first chunk is running, since that chunk's time — its runtime's `started` report is recorded a
   * heartbeat later. One read of its first chunk, for an unstarted run only; nothing is written.
   */
  async live(domain: TenantContext, execution: Execution): Promise<Execution> {
    if (!NOT_YET_STARTED.has(execution.status)) return execution;
    const { chunks } = await this.moves.store.logChunks(domain, execution.id, 0, 1);
    const first = chunks[0];
    return first === undefined ? execution : shownRunning(execution, first.at);
  }

  /**
   * A page of the log of a run the caller may read (read by `Executions.logs`), after `after` (a
   * cursor from the previous page; none: from the start). Streamed chunks are read when a runtime
   * wrote any; otherwise the log the run kept when it ended is answered as one chunk per stream once
   * it has ended.
   */
  async page(domain: TenantContext, execution: Execution, after?: string): Promise<LogPage> {
    const from = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(from) || from < 0 || from > MAX_LOG_CHUNKS + 2) {
      throw new ValidationError('Invalid log cursor', [
        { path: 'after', message: 'a cursor from an earlier answer' },
      ]);
    }
    const ended = TERMINAL.has(execution.status);
    const { chunks: streamed, more } = await this.moves.store.logChunks(
      domain,
      execution.id,
      from,
      LOG_PAGE_CHUNKS,
    );
    const hasStream = streamed.length > 0 || (from > 0 && execution.logs === undefined);
    if (hasStream || from > 0 || !ended) {
      const last = streamed.at(-1)?.seq ?? from;
      // A job that streams runs, whether or not its `started` report is recorded yet.
      const status = hasStream && NOT_YET_STARTED.has(execution.status) ? 'running' : execution.status;
      return {
        status,
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
  async append(domain: TenantContext, executionId: string, chunks: readonly LogChunk[]): Promise<number> {
    const execution = await this.moves.find(domain, executionId);
    if (execution === null) return 0;
    if (TERMINAL.has(execution.status)) {
      const ended = Date.parse(execution.finishedAt ?? '');
      if (!(this.moves.now().getTime() - ended <= LATE_LOG_SECONDS * 1000)) return 0;
    }
    let written = 0;
    for (const chunk of chunks) {
      if (!Number.isInteger(chunk.seq) || chunk.seq < 1 || chunk.seq > MAX_LOG_CHUNKS) continue;
      const text = truncateUtf8(String(chunk.text), MAX_LOG_CHUNK_BYTES).text;
      const stored = await this.moves.store.putLogChunk(domain, executionId, {
        seq: chunk.seq,
        stream: chunk.stream === 'stderr' ? 'stderr' : 'stdout',
        text,
        at: chunk.at ?? this.moves.now().toISOString(),
      });
      if (stored) written++;
    }
    return written;
  }
}
