/**
 * Cancelling a run, in whatever state it is: closed at once while it waits (for approval, or in a
 * queue, once its job is claimed so that no worker ever starts it), or asked of the runtime that
 * runs it. `Executions.cancel` answers for it after its read check; the moves are shared by the
 * execution services (run-moves.ts), the job claims are the claims table's (job-claim-repository.ts).
 */

import { MAX_CANCEL_REASON } from '../../contract/executions.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { jobId } from '../executors/python-script.ts';
import type { Caller } from '../identity/caller.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { CANCEL_CLAIM_SECONDS, type JobClaims } from './job-claim-repository.ts';
import type { Execution, ExecutionError } from './model.ts';
import { type RunMoves, RunService } from './run-moves.ts';
import { type ExecutionStatus, sourcesOf, TERMINAL, whereTheRunIs } from './state-machine.ts';

export { MAX_CANCEL_REASON };

export interface RunCancelsOptions {
  readonly moves: RunMoves;
  /** Without claims, a waiting run is closed without claiming its job (see `JobClaims`). */
  readonly claims?: JobClaims;
}

export class RunCancels extends RunService<RunCancelsOptions> {
  /**
   * Cancels a run the caller may read (read by `Executions.cancel`). Who: its requester, or a holder
   * of `execution:cancel` who may read it.
   * - waiting for approval: closed as `cancelled`;
   * - requested or queued: its job is claimed first (so no worker ever starts it), then the run is
   *   closed as `cancelled`; if a worker holds the job already, it is starting: as for a running run;
   * - running: `cancelRequested` is recorded for the runtime to stop the job (see the Execution field).
   * Every outcome is audited; a finished run answers 409.
   */
  async cancel(domain: TenantContext, caller: Caller, execution: Execution, reason = ''): Promise<Execution> {
    const id = execution.id;
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
      const current = attempt === 0 ? execution : await this.moves.find(domain, id);
      if (current === null) throw new NotFoundError(`Execution ${id} not found`);
      if (TERMINAL.has(current.status)) {
        throw nothingToCancel(current);
      }
      if (current.status === 'running') return this.#requestCancel(domain, current, caller, note);
      if (current.status === 'requested' || current.status === 'queued') {
        if (!(await this.#claimJob(domain, id))) return this.#requestCancel(domain, current, caller, note);
      }
      const closed = await this.#close(domain, current, sourcesOf('cancelled'), {
        error,
        by: caller.username,
        reason: 'cancelled',
        note,
      });
      if (closed !== null) return closed;
    }
    throw new ConflictError('The run keeps changing; try again');
  }

  /**
   * Closes a run that has not started (`requested` or `queued`) as `cancelled` with `error`, for the
   * platform (what it runs was taken out of use): its job is claimed first, so no worker starts it.
   * False when it is no longer waiting: a worker holds its job (it is starting, and runs), or it ended.
   */
  async withdraw(
    domain: TenantContext,
    execution: Execution,
    error: ExecutionError,
    by: string,
    reason: string,
  ): Promise<boolean> {
    if (execution.status !== 'requested' && execution.status !== 'queued') return false;
    if (!(await this.#claimJob(domain, execution.id))) return false;
    const from = sourcesOf('cancelled').filter((status) => status === 'requested' || status === 'queued');
    return (await this.#close(domain, execution, from, { error, by, reason, note: '' })) !== null;
  }

  /** Claims a waiting run's job for good, so that no worker ever starts it; false when one holds it. */
  async #claimJob(domain: TenantContext, id: string): Promise<boolean> {
    if (this.options.claims === undefined) return true;
    const now = Math.floor(this.moves.now().getTime() / 1000);
    return this.options.claims.claim(jobId(domain.tenant.id, id), now + CANCEL_CLAIM_SECONDS);
  }

  /** Moves the run to `cancelled` from one of `from`, audited; null when it was in none of them. */
  async #close(
    domain: TenantContext,
    current: Execution,
    from: readonly ExecutionStatus[],
    how: {
      readonly error: ExecutionError;
      readonly by: string;
      readonly reason: string;
      readonly note: string;
    },
  ): Promise<Execution | null> {
    const { error, by, reason, note } = how;
    const closed = await this.moves.move(domain, current.id, {
      to: 'cancelled',
      from,
      set: {
        finishedAt: this.moves.now().toISOString(),
        error,
        cancelledBy: by,
        ...(note === '' ? {} : { cancelReason: note }),
      },
      leaves: 'all',
    });
    if (closed !== null) {
      await this.moves.auditEnd(domain, closed, 'cancelled', by, {
        reason,
        from: current.status,
        ...(note === '' ? {} : { note }),
      });
    }
    return closed;
  }

  /**
   * Writes the stop request on the job's claim, where the Python worker running it looks about once a
   * second (the HTTP executor's calls are bounded by their timeout and end on their own).
   */
  async #askRuntimeToStop(domain: TenantContext, id: string): Promise<void> {
    await this.options.claims?.requestStop(jobId(domain.tenant.id, id));
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
    const at = this.moves.now().toISOString();
    const updated = await this.moves.store.requestCancel(domain, execution.id, at, caller.username, note);
    if (updated === null) {
      const current = await this.moves.find(domain, execution.id);
      if (current === null) throw new NotFoundError(`Execution ${execution.id} not found`);
      throw nothingToCancel(current);
    }
    // Once: only the request the store accepted gets here.
    await this.moves.audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: 'execution.cancel-requested',
      target: `execution:${execution.id}`,
      details: { skillId: execution.skillId, status: execution.status, ...(note === '' ? {} : { note }) },
    });
    // Recorded first, so that the runtime's `cancelled` result finds the request when it lands.
    await this.#askRuntimeToStop(domain, execution.id);
    return updated;
  }
}

/** The 409 for a cancel that comes too late: "The run has already ended (succeeded); …". */
function nothingToCancel(current: Execution): ConflictError {
  return new ConflictError(`The run ${whereTheRunIs(current.status)}; there is nothing to cancel`, {
    extra: { executionStatus: current.status },
  });
}
