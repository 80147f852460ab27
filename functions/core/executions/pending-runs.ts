/**
 * Runs waiting for approval, as the execution store moves them: the inbox, the release of a run
 * whose approvals are complete, its end (rejected, invalidated, expired) and the hash of what it
 * would run now. Who may decide and how votes count is approvals.ts; `Executions` answers for this
 * module (`pendingApprovals`, `pendingApprovalsPage`, `releaseApproved`, `closePending`, `currentApprovalHash`,
 * `expireApproval`). Every move leaves `pending_approval` only, through the moves shared by the
 * execution services (run-moves.ts).
 */
import type { SkillCatalog } from '../catalog/skills.ts';
import { unlessNotFound } from '../errors.ts';
import type { ExecutorRegistry } from '../executors/registry.ts';
import type { Page } from '../pagination.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { type Execution, type ExecutionError, START_DEADLINE_SECONDS } from './model.ts';
import { approvalHashOf } from './requests.ts';
import { type RunMoves, RunService } from './run-moves.ts';

export interface PendingRunsOptions {
  readonly moves: RunMoves;
  readonly skills: SkillCatalog;
  readonly executors: ExecutorRegistry;
}

export class PendingRuns extends RunService<PendingRunsOptions> {
  /** Every run waiting for approval in a tenant, oldest first, read a page at a time. */
  all(domain: TenantContext): AsyncGenerator<Execution> {
    return this.moves.store.pendingApprovals(domain);
  }

  /** One page of the runs waiting for approval in a tenant (the inbox), oldest first. */
  page(domain: TenantContext, limit: number, cursor?: string): Promise<Page<Execution>> {
    return this.moves.store.pendingApprovalsPage(domain, limit, cursor);
  }

  /** The cursor of the inbox that goes on after `execution` (a page that ends inside what was read). */
  cursorAfter(domain: TenantContext, execution: Execution): string {
    return this.moves.store.pendingApprovalsCursorAfter(domain, execution);
  }

  /**
   * Approvals are complete: `pending_approval → requested`, audited; the run as released, for its
   * dispatch, or null when another caller released it (or it ended) first. Exactly one caller wins
   * the conditional transition, so two approvers deciding at the same instant queue the run once.
   */
  async release(domain: TenantContext, id: string): Promise<Execution | null> {
    const now = this.moves.now();
    const deadline = new Date(now.getTime() + START_DEADLINE_SECONDS * 1000).toISOString();
    const released = await this.moves.move(domain, id, {
      to: 'requested',
      from: ['pending_approval'],
      set: { approvedAt: now.toISOString(), deadline },
      activeUntil: deadline,
      leaves: 'inbox',
    });
    if (released === null) return null;
    await this.moves.auditTransition(domain, released, 'requested', 'system', { reason: 'approved' });
    return released;
  }

  /** Ends a pending run: rejected by an approver, or cancelled because what was approved changed. */
  async close(
    domain: TenantContext,
    id: string,
    to: 'rejected' | 'cancelled',
    error: ExecutionError,
    actor: string,
  ): Promise<Execution | null> {
    const closed = await this.#end(domain, id, to, error);
    if (closed !== null) {
      await this.moves.auditEnd(domain, closed.run, to, actor, { reason: error.type });
    }
    return closed?.run ?? null;
  }

  /**
   * What a pending run would execute if it were released now, as an approval hash; null only when
   * the Skill or its asset is definitely gone. A store that fails for a moment throws (the run stays
   * pending and the caller gets a retryable error) — it is never read as "changed".
   */
  async currentHash(domain: TenantContext, execution: Execution): Promise<string | null> {
    const skill = await unlessNotFound(this.options.skills.get(domain, execution.skillId));
    if (skill === null) return null;
    const asset = await unlessNotFound(
      this.options.executors.get(skill.asset.kind).resolve(domain, skill.asset),
    );
    return asset === null ? null : approvalHashOf(execution.inputHash, asset, skill.definitionHash);
  }

  /** A run that waited too long for its approvals is cancelled. */
  async expire(domain: TenantContext, executionId: string): Promise<boolean> {
    const expired = await this.#end(domain, executionId, 'cancelled', {
      type: 'ApprovalExpired',
      message: 'The run was not approved in time',
    });
    if (expired === null) return false;
    await this.moves.auditEnd(domain, expired.run, 'cancelled', 'system', {
      reason: 'approval-expired',
    });
    return true;
  }

  /** `pending_approval → to` with its error, leaving every index; null when it had moved on. */
  async #end(
    domain: TenantContext,
    id: string,
    to: 'rejected' | 'cancelled',
    error: ExecutionError,
  ): Promise<{ run: Execution; finishedAt: string } | null> {
    const finishedAt = this.moves.now().toISOString();
    const run = await this.moves.move(domain, id, {
      to,
      from: ['pending_approval'],
      set: { finishedAt, error },
      leaves: 'all',
    });
    return run === null ? null : { run, finishedAt };
  }
}
