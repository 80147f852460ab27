/**
 * Recording what runtimes report, and ending runs that no report will end: a job picked up
 * (`started`), a runtime's final report (`result`), a run failed with a reason (dead letters, lost
 * workers) and a run no runtime picked up before its start deadline (`closeNotStarted`). The rules
 * of a report — what a run keeps, how a result fits in one item, which states it may end — are
 * recording.ts and state-machine.ts; this module applies them to the store through the moves shared
 * by the execution services (run-moves.ts). `Executions` answers for it (`recordStarted`,
 * `recordResult`, `fail`, `closeNotStarted`).
 *
 * Output is checked against the output schema of the revision that ran before `succeeded` is
 * recorded.
 */
import type { SkillCatalog } from '../catalog/skills.ts';
import { unlessNotFound } from '../errors.ts';
import { overflowingNumbers, stringifyJson } from '../json.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { reportedRecords } from './execution-items.ts';
import { RunNotStorableError } from './execution-repository.ts';
import { type Execution, type ExecutionError, RUNNING_GRACE_SECONDS } from './model.ts';
import {
  capError,
  capLogs,
  logRoom,
  MAX_LOG_BYTES,
  MAX_OUTPUT_BYTES,
  type ResultReport,
  reportedStartOf,
  type StartedReport,
} from './recording.ts';
import { EXECUTION_ID_PATTERN, MAX_INPUT_BYTES } from './requests.ts';
import { type RunMoves, RunService } from './run-moves.ts';
import {
  endOf,
  mayMove,
  REPORTABLE,
  type RecordOutcome,
  refusedReport,
  type TerminalStatus,
} from './state-machine.ts';

export interface RunResultsOptions {
  readonly moves: RunMoves;
  readonly skills: SkillCatalog;
  /** Why a run no runtime picked up was not picked up, when its executor can tell; null otherwise. */
  readonly notStartedError: (domain: TenantContext, execution: Execution) => Promise<ExecutionError | null>;
}

export class RunResults extends RunService<RunResultsOptions> {
  /** A runtime picked the job up. Ignored unless the run is still waiting for it. */
  async started(domain: TenantContext, report: StartedReport): Promise<void> {
    const current = await this.moves.find(domain, report.executionId);
    if (current === null || !mayMove(current.status, 'running')) return;
    const deadline = new Date(
      Date.parse(report.startedAt) + (current.limits.timeoutSeconds + RUNNING_GRACE_SECONDS) * 1000,
    ).toISOString();
    const moved = await this.moves.transition(
      domain,
      report.executionId,
      'running',
      {
        startedAt: report.startedAt,
        deadline,
      },
      deadline,
    );
    // Dated when written (the report reaches the recorder after the start); the start is in details.
    if (moved !== null)
      await this.moves.auditTransition(domain, moved, 'running', 'system', { startedAt: report.startedAt });
  }

  /**
   * A runtime's final report. Output is checked against the schema of the revision that ran. A
   * report that names its run's Skill revision is recorded with one conditional update, no read
   * first (see #unread); any other, or one whose update is refused, reads the run.
   */
  async result(domain: TenantContext, report: ResultReport): Promise<RecordOutcome> {
    const unread = await this.#unread(domain, report);
    if (unread !== null) return unread;
    const current = await this.moves.find(domain, report.executionId);
    const refused = refusedReport(current, report.reportId);
    if (refused !== null || current === null) return refused ?? 'unknown-run';
    const verdict = await this.#verdict(domain, report, current);
    let { status } = verdict;
    let { error } = verdict;
    const { outputJson } = verdict;
    const finishedAt = this.moves.now().toISOString();
    const capped = error === undefined ? undefined : capError(error);
    const startedAt = current.startedAt === undefined ? reportedStartOf(report) : undefined;
    const extras = {
      ...(startedAt === undefined ? {} : { startedAt }),
      ...reportedRecords(report),
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
      moved = await this.moves.finish(domain, current.id, status, {
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
      moved = await this.moves.finish(domain, current.id, status, {
        finishedAt,
        error: capError(error),
        logs: capLogs({ truncated: true }, 0),
        ...(report.reportId === undefined ? {} : { resultReportId: report.reportId }),
      });
    }
    if (moved === null) return 'already-finished';
    const actor = status === 'cancelled' ? (current.cancelRequestedBy ?? 'system') : 'system';
    await this.moves.auditEnd(domain, moved, status, actor, {
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
  async #unread(domain: TenantContext, report: ResultReport): Promise<RecordOutcome | null> {
    const { skillId, skillRevision } = report;
    if (skillId === undefined || skillRevision === undefined || report.status === 'cancelled') return null;
    if (!EXECUTION_ID_PATTERN.test(report.executionId)) return null;
    const verdict = await unlessNotFound(this.#verdict(domain, report, { skillId, skillRevision }));
    if (verdict === null) return null;
    const { status, error, outputJson } = verdict;
    const finishedAt = this.moves.now().toISOString();
    const capped = error === undefined ? undefined : capError(error);
    const startedAt = reportedStartOf(report);
    const extras = {
      ...reportedRecords(report),
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
      moved = await this.moves.move(domain, report.executionId, {
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
    await this.moves.auditEnd(domain, moved, status, 'system', {
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
    run: Pick<
      Execution,
      'skillId' | 'skillRevision' | 'cancelRequested' | 'cancelRequestedBy' | 'cancelReason'
    >,
  ): Promise<{ status: TerminalStatus; error?: ExecutionError; outputJson?: string }> {
    let refusal: ExecutionError | undefined;
    let outputJson: string | undefined;
    if (report.status === 'succeeded') {
      const reported = stringifyJson(report.output ?? null);
      const tooLarge = Buffer.byteLength(reported, 'utf8') > MAX_OUTPUT_BYTES;
      const overflowing = tooLarge ? [] : overflowingNumbers(report.output ?? null, 'output');
      if (tooLarge) {
        refusal = {
          type: 'OutputTooLarge',
          message: `The output exceeds ${MAX_OUTPUT_BYTES} bytes`,
          limit: 'output',
        };
      } else if (overflowing.length > 0) {
        // An agent's JSON may hold 1e400, which no reader of the run gets back as a number (Infinity).
        refusal = {
          type: 'OutputSchemaViolation',
          message: 'The output has numbers beyond the range of a double',
          issues: overflowing.map((path) => ({
            path,
            message: 'must be within ±1.7976931348623157e308',
          })),
        };
      } else {
        const skill = await this.options.skills.revision(domain, run.skillId, run.skillRevision);
        const issues = await this.options.skills.outputIssues(domain, skill, report.output ?? null);
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
          {
            type: 'Cancelled',
            message: `Cancelled by ${run.cancelRequestedBy ?? 'someone'} while it ran${run.cancelReason === undefined ? '' : `: ${run.cancelReason}`}`,
          }
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
    const finishedAt = this.moves.now().toISOString();
    const moved = await this.moves.finish(domain, executionId, 'failed', {
      finishedAt,
      error: capError(error),
    });
    if (moved === null) return false;
    await this.moves.auditEnd(domain, moved, 'failed', 'system', { error: error.type });
    return true;
  }

  /**
   * Closes a run that no runtime picked up before its start deadline: `timed_out` with the reason
   * its executor gives, else `failed` (`NotStarted`). Returns what was done, or null when the run
   * had moved on meanwhile.
   */
  async closeNotStarted(domain: TenantContext, execution: Execution): Promise<string | null> {
    const known = await this.options.notStartedError(domain, execution);
    if (known === null) {
      return (await this.fail(domain, execution.id, {
        type: 'NotStarted',
        message: 'No worker picked the run up before its start deadline',
      }))
        ? 'failed:not-started'
        : null;
    }
    const finishedAt = this.moves.now().toISOString();
    const moved = await this.moves.finish(domain, execution.id, 'timed_out', {
      finishedAt,
      error: capError(known),
    });
    if (moved === null) return null;
    await this.moves.auditEnd(domain, moved, 'timed_out', 'system', { error: known.type });
    return 'timed_out:not-started';
  }
}
