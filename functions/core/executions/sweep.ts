/**
 * The stale-execution sweep (scheduled every few minutes, and run by the local platform when it
 * starts): runs past their deadline are closed with a reason — a queued run no worker picked up, a
 * running run whose worker stopped reporting — and runs still waiting are handed to their executor
 * again (a duplicate delivery is refused by the worker's claim, so re-dispatch never runs a job twice).
 */
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { tenantContext } from '../tenancy/hosts.ts';
import type { Execution, Executions } from './executions.ts';

/** A waiting run older than this is re-dispatched (its message may have been lost). */
export const REDISPATCH_AFTER_SECONDS = 120;

export interface SweepDependencies {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly executions: Executions;
  readonly now: () => Date;
}

export interface SweepResult {
  readonly scanned: number;
  readonly changed: { tenantId: string; executionId: string; action: string }[];
}

async function tenantDomain(table: Table, tenantId: string, cache: Map<string, TenantContext | null>) {
  if (!cache.has(tenantId)) cache.set(tenantId, await tenantContext(table, tenantId));
  return cache.get(tenantId) ?? null;
}

export interface SweepOptions {
  /** `all`: every waiting run is handed to its executor again (a start after a crash). */
  readonly redispatchWaiting: 'overdue' | 'all';
  /**
   * Running runs known to be lost already, whatever their deadline: the embedded platform, starting
   * again, knows that every job its own runtimes held died with it (a local agent's runs go on).
   * @default none
   */
  readonly lostRunning?: (execution: Execution) => boolean;
}

export async function sweepStaleExecutions(
  deps: SweepDependencies,
  options: SweepOptions = { redispatchWaiting: 'overdue' },
): Promise<SweepResult> {
  const now = deps.now();
  const domains = new Map<string, TenantContext | null>();
  const changed: SweepResult['changed'] = [];
  let scanned = 0;
  const touched = new Set<string>();

  for await (const execution of deps.executions.overdue(now)) {
    scanned++;
    const domain = await tenantDomain(deps.table, execution.tenantId, domains);
    if (domain === null) continue;
    const action = await closeOverdue(deps, domain, execution);
    if (action !== null) {
      changed.push({ tenantId: execution.tenantId, executionId: execution.id, action });
      touched.add(execution.tenantId);
    }
  }

  const lost = options.lostRunning;
  if (lost !== undefined) {
    for await (const execution of deps.executions.overdue(new Date('9999-01-01T00:00:00.000Z'))) {
      if (execution.status !== 'running' || !lost(execution)) continue;
      scanned++;
      const domain = await tenantDomain(deps.table, execution.tenantId, domains);
      if (domain === null) continue;
      const failed = await deps.executions.fail(domain, execution.id, {
        type: 'WorkerLost',
        message: 'The platform stopped while the run was running; it was not run again',
      });
      if (failed) {
        changed.push({
          tenantId: execution.tenantId,
          executionId: execution.id,
          action: 'failed:platform-stopped',
        });
        touched.add(execution.tenantId);
      }
    }
  }

  const redispatchBefore = now.getTime() - REDISPATCH_AFTER_SECONDS * 1000;
  for await (const execution of deps.executions.waiting()) {
    scanned++;
    if (options.redispatchWaiting === 'overdue' && Date.parse(execution.createdAt) > redispatchBefore)
      continue;
    const domain = await tenantDomain(deps.table, execution.tenantId, domains);
    if (domain === null) continue;
    await deps.executions.dispatch(domain, execution);
    changed.push({ tenantId: execution.tenantId, executionId: execution.id, action: 'redispatched' });
  }

  // Seal the audit chains this sweep wrote to (others are sealed when read or verified).
  for (const tenantId of touched) {
    const domain = domains.get(tenantId);
    if (domain) await deps.audit.seal(domain);
  }
  return { scanned, changed };
}

async function closeOverdue(
  deps: SweepDependencies,
  domain: TenantContext,
  execution: Execution,
): Promise<string | null> {
  switch (execution.status) {
    case 'requested':
    case 'queued':
      return deps.executions.closeNotStarted(domain, execution);
    case 'running':
      return (await deps.executions.fail(domain, execution.id, {
        type: 'WorkerLost',
        message: 'The worker stopped reporting before the run finished',
      }))
        ? 'failed:worker-lost'
        : null;
    case 'pending_approval':
      return (await deps.executions.expireApproval(domain, execution.id))
        ? 'cancelled:approval-expired'
        : null;
    default:
      return null;
  }
}
