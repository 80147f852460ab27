/** Shapes of the tenant API's answers, as the tenant front reads them (see functions/http/routes). */

export type JsonSchema = Readonly<Record<string, unknown>> | boolean;

export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export const APPROVALS = ['none', 'one', 'two'] as const;
export type Risk = (typeof RISKS)[number];
export type ApprovalRule = (typeof APPROVALS)[number];

/** Approvals a risk needs at least (the API refuses less). */
export const MIN_APPROVALS: Readonly<Record<Risk, number>> = { low: 0, medium: 1, high: 2, critical: 2 };
export const APPROVAL_COUNT: Readonly<Record<ApprovalRule, number>> = { none: 0, one: 1, two: 2 };

export interface AssetBinding {
  readonly kind: string;
  readonly id: string;
  readonly version?: number | 'active';
  readonly request?: unknown;
}

/** How an HTTP-bound Skill turns a run's input into a request (`{input.field}` placeholders). */
export interface HttpRequestMapping {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface Skill {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  readonly risk: Risk;
  readonly approval: ApprovalRule;
  readonly visibility: { readonly roles: readonly string[] };
  readonly tags?: readonly string[];
  readonly asset: AssetBinding;
  readonly limits: { readonly timeoutSeconds: number; readonly memoryMb?: number };
  /** HTTP resources (ids) the Skill's script may call through ctx.http. */
  readonly egress?: readonly string[];
  /** Collections (ctx.data) and tenant parameters (ctx.params) the script may use. */
  readonly collections?: readonly string[];
  readonly parameters?: readonly string[];
  readonly revision: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly state: AvailabilityState;
  readonly stateReason?: string;
  readonly stateChangedBy?: string;
}

/** A Skill, script or HTTP resource: active, paused (disabled) or archived; runs only when active. */
export type AvailabilityState = 'active' | 'disabled' | 'archived';

export const EXECUTION_STATUSES = [
  'pending_approval',
  'requested',
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'rejected',
  'cancelled',
] as const;

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'timed_out', 'rejected', 'cancelled'] as const;

export interface ExecutionError {
  readonly type: string;
  readonly message: string;
  readonly trace?: string;
  readonly limit?: string;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
}

export interface Execution {
  readonly id: string;
  readonly skillId: string;
  readonly skillName: string;
  readonly skillRevision: number;
  readonly status: string;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly logs?: { readonly stdout: string; readonly stderr: string; readonly truncated: boolean };
  readonly asset: {
    readonly kind: string;
    readonly id: string;
    readonly version: number | string;
    /** The local agent a `local-agent` run executes on. */
    readonly agent?: string;
  };
  /** Why a run that has not started is still waiting (a local agent that is offline…). */
  readonly waitingFor?: string;
  readonly requestedBy: string;
  /** The AI (MCP) client the requester acted through, when an agent asked. */
  readonly client?: { readonly id: string; readonly name: string };
  readonly createdAt: string;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** How the job was contained, as its runtime reported it. */
  readonly sandbox?: { readonly network?: string; readonly memory?: string; readonly disk?: string };
  /** The HTTP resources the script called through ctx.http. */
  readonly egress?: readonly {
    readonly resourceId: string;
    readonly method: string;
    readonly path: string;
    readonly status: number;
    readonly at: string;
  }[];
  readonly assetName?: string;
  readonly rerunOf?: string;
  readonly approvalsRequired?: number;
  /** Who approved or rejected it (the run's page only). */
  readonly decisions?: readonly Vote[];
  readonly cancelRequested?: boolean;
  readonly cancelRequestedBy?: string;
  readonly cancelledBy?: string;
  readonly durationMs?: number;
  readonly waitMs?: number;
}

export interface LogChunk {
  readonly seq: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  readonly at?: string;
}

export interface LogPage {
  readonly status: string;
  readonly chunks: readonly LogChunk[];
  readonly cursor: string;
  readonly complete: boolean;
  readonly truncated: boolean;
}

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export interface ScriptAsset {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly activeVersion: number;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly state: AvailabilityState;
}

export interface ScriptVersion {
  readonly assetId: string;
  readonly version: number;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly note: string;
  readonly author: string;
  readonly createdAt: string;
  readonly source?: string;
}

export interface Announcement {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly audience: readonly string[];
  readonly source?: string;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly recipients?: readonly string[];
  readonly link?: string;
  readonly read?: boolean;
}

export interface Parameter {
  readonly key: string;
  readonly value: string;
  readonly description: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface AccessToken {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly lastUsedAt: string | null;
  readonly revoked: boolean;
}

export interface Vote {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  readonly comment?: string;
  readonly at: string;
}

/** One waiting run of the approvals inbox: the run, with its votes and whether the caller may decide. */
export interface InboxItem extends Execution {
  readonly approvals?: readonly Vote[];
  /** HTTP resources the run's script may call (approved with the run). */
  readonly declaredEgress?: readonly string[];
  readonly declaredCollections?: readonly string[];
  readonly declaredParameters?: readonly string[];
  readonly canDecide?: boolean;
  readonly approvalsRequired?: number;
  readonly adminApprovalRequired?: boolean;
  readonly deadline?: string;
}

/** A granted HTTP resource, as a tenant sees it (no address details, no credentials, ever). */
export interface HttpResourceSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly methods?: readonly string[];
  readonly state?: AvailabilityState;
}

/** An AI (MCP) client: it acts for its owner, narrowed to the Skills (or tags) it was given. */
export interface McpClient {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly skills: readonly string[];
  readonly tags: readonly string[];
  readonly waitSeconds: number;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly lastUsedAt: string | null;
  readonly revoked: boolean;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

/** One tool call of an AI client, from its call log. */
export interface McpCall {
  readonly at: string;
  readonly tool: string;
  readonly skillId?: string;
  readonly runId?: string;
  readonly status: string;
  readonly error?: { readonly type: string; readonly message: string };
}

// ── schedules (issue 17) ──────────────────────────────────────────────────────────────────────

export type Timing =
  | { readonly kind: 'cron'; readonly expression: string }
  | { readonly kind: 'rate'; readonly every: number; readonly unit: 'minutes' | 'hours' | 'days' }
  | { readonly kind: 'once'; readonly at: string };

export interface Schedule {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly skillId: string;
  readonly input: Record<string, unknown>;
  readonly timing: Timing;
  readonly timezone: string;
  readonly state: 'enabled' | 'paused' | 'completed';
  readonly owner: string;
  readonly revision: number;
  readonly nextFireAt?: string;
  readonly lastFireAt?: string;
  readonly lastOutcome?: 'ran' | 'skipped' | 'failed';
  readonly upcoming: readonly string[];
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface FireLogEntry {
  readonly scheduleId: string;
  readonly scheduleName: string;
  readonly scheduledTime: string;
  readonly firedAt: string;
  readonly outcome: 'ran' | 'skipped' | 'failed' | 'requesting';
  readonly trigger: 'schedule' | 'manual';
  readonly owner: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly executionId?: string;
  readonly missed?: { readonly count: number; readonly first: string; readonly last: string };
}

// ── extension data (issue 17) ─────────────────────────────────────────────────────────────────

export interface Collection {
  readonly name: string;
  readonly description: string;
  readonly schema: JsonSchema;
  readonly key: { readonly field?: string; readonly schema?: JsonSchema };
  readonly revision: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface DataUsage {
  readonly collections: number;
  readonly records: number;
  readonly bytes: number;
  readonly limits: {
    readonly collections: number;
    readonly records: number;
    readonly bytes: number;
    readonly recordBytes: number;
  };
}

export interface DataRecord {
  readonly key: string;
  readonly value: unknown;
  readonly version: number;
  readonly bytes: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly matchesSchema: boolean;
}
