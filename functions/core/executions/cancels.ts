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
import { sourcesOf, TERMINAL } from './state-machine.ts';

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
        const now = Math.floor(this.moves.now().getTime() / 1000);
        const claimed =
          this.options.claims === undefined ||
          (await this.options.claims.claim(jobId(domain.tenant.id, id), now + CANCEL_CLAIM_SECONDS));
        if (!claimed) return this.#requestCancel(domain, current, caller, note);
      }
      const finishedAt = this.moves.now().toISOString();
      const closed = await this.moves.move(domain, id, {
        to: 'cancelled',
        from: sourcesOf('cancelled'),
        set: {
          finishedAt,
          error,
          cancelledBy: caller.username,
          ...(note === '' ? {} : { cancelReason: note }),
        },
        leaves: 'all',
      });
      if (closed !== null) {
        await this.moves.auditEnd(domain, closed, 'cancelled', caller.username, {
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
  const status = current.status.replace('_', ' ');
  return new ConflictError(
    TERMINAL.has(current.status)
      ? `The run has already ended (${status}); there is nothing to cancel`
      : `The run is ${status}; there is nothing to cancel`,
    { extra: { executionStatus: current.status } },
  );
}
