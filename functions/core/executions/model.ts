/**
 * What a run is, as the execution services and their callers see it: the stored run (`Execution`),
 * its error and kept logs, the run history's filters, and the deadlines a run waits under. The
 * services apply them in executions.ts and beside it; executions.ts re-exports these names, so
 * callers import them from there as before.
 */
import type { ExecutionLimits, ResolvedAsset } from '../executors/registry.ts';
import type { EgressUse } from '../http-resources/jobs.ts';
import type { ExecutionStatus } from './state-machine.ts';

/** How long a queued run may wait for a worker before it is declared lost. */
export const START_DEADLINE_SECONDS = 15 * 60;
/** Slack past a running job's own timeout before its worker is declared lost. */
export const RUNNING_GRACE_SECONDS = 120;
/** How long a run may wait for its approvals before it expires. @default 72 hours */
export const APPROVAL_TTL_SECONDS = 72 * 3600;

export interface ExecutionError {
  readonly type: string;
  readonly message: string;
  readonly trace?: string;
  readonly limit?: string;
  readonly issues?: readonly { path: string; message: string }[];
}

export interface ExecutionLogs {
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

export interface Execution {
  readonly id: string;
  readonly tenantId: string;
  readonly skillId: string;
  readonly skillName: string;
  readonly skillRevision: number;
  readonly status: ExecutionStatus;
  readonly input: unknown;
  readonly inputHash: string;
  readonly asset: ResolvedAsset;
  readonly limits: ExecutionLimits;
  readonly requestedBy: string;
  /** The AI (MCP) client the requester acted through, if any: approvers see that an agent asked. */
  readonly client?: { readonly id: string; readonly name: string };
  /** The schedule whose fire requested the run, if any. */
  readonly schedule?: { readonly id: string; readonly name: string };
  readonly createdAt: string;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly deadline?: string;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly logs?: ExecutionLogs;
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** The containment the job ran under, as its runtime reported it (`network`, `memory`, …). */
  readonly sandbox?: Readonly<Record<string, unknown>>;
  /** The HTTP resources the script called through `ctx.http`. */
  readonly egress?: readonly EgressUse[];
  /** The id of the report that ended the run (a replayed report is recognised by it). */
  readonly resultReportId?: string;
  /** Approvals needed before the run is queued (0 when none). */
  readonly approvalsRequired: number;
  /** Whether one approver must be a tenant admin (critical risk). */
  readonly adminApprovalRequired?: boolean;
  /**
   * Hash of exactly what approvers approve: the input, the resolved asset version and the Skill's
   * definition. If any changes before the approvals complete, the run is invalidated.
   */
  readonly approvalHash?: string;
  /** The name of the script or HTTP resource the run uses, as it was when requested. */
  readonly assetName?: string;
  /** The run this one repeats (the same or an edited input). */
  readonly rerunOf?: string;
  /**
   * Someone asked to cancel the run after a runtime had taken its job. The runtime is expected to
   * stop the job and report it (a `cancelled` result); the field is never cleared.
   */
  readonly cancelRequested?: boolean;
  readonly cancelRequestedAt?: string;
  readonly cancelRequestedBy?: string;
  /** Who cancelled a run that never started (or `system` for an expiry), and when. */
  readonly cancelledBy?: string;
  /** The reason the canceller gave (trimmed, at most MAX_CANCEL_REASON characters), whether the run waited or ran. */
  readonly cancelReason?: string;
}

/** Filters of the run history; every one is served by an index or the key range, never a scan. */
export interface ExecutionFilter {
  readonly status?: ExecutionStatus;
  readonly skillId?: string;
  readonly requestedBy?: string;
  /** Runs requested at or after this instant (ISO 8601). */
  readonly from?: string;
  /** Runs requested at or before this instant (ISO 8601). */
  readonly to?: string;
}

/** What a runnable Skill's check learnt on the way: its asset's name, and the asset resolved when it read it. */
export interface Runnable {
  readonly assetName?: string;
  /** The asset version the run would use; when absent the executor resolves it. */
  readonly asset?: ResolvedAsset;
}

export interface RequestResult {
  readonly execution: Execution;
  /** False when an Idempotency-Key named an execution requested before. */
  readonly created: boolean;
}
