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
  readonly asset: AssetBinding;
  readonly limits: { readonly timeoutSeconds: number; readonly memoryMb?: number };
  readonly revision: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

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
  readonly createdAt: string;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly metrics?: Readonly<Record<string, unknown>>;
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
}
