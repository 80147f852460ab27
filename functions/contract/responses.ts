/**
 * The shapes of the APIs' answers, as the fronts (and any client) read them. The route tables'
 * zod schemas (functions/http/responses.ts and the route files) describe the same answers for the
 * OpenAPI documents; test/unit/contract-types.ts checks at compile time that they agree.
 */
import type { ApprovalRule, AvailabilityState, Risk, Severity } from './catalog.ts';
import type { Decision, ExecutionStatus } from './executions.ts';
import type { SessionEndReason } from './identity.ts';

// ── problems and pages ────────────────────────────────────────────────────────────────────────

export interface FieldError {
  readonly path: string;
  readonly message: string;
  /**
   * Where in the field's text the problem is, 1-based, when the field is source code (a script that
   * does not compile): an editor marks that line.
   */
  readonly line?: number;
  readonly column?: number;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];
  /**
   * The platform's own addresses, on the local platform's unknown-host problem only, and only for a
   * loopback name (`localhost`, `127.0.0.1`): what someone who opened the bare port may have meant.
   */
  readonly platformHosts?: readonly PlatformHostLink[];
  /** Why a session ended, on the `session-ended` 401 only (SESSION_ENDED_PROBLEM). */
  readonly reason?: SessionEndReason;
}

/** One of the local platform's addresses, as its unknown-host page lists them. */
export interface PlatformHostLink {
  readonly role: 'console' | 'tenant' | 'free' | 'docs';
  /** The host, e.g. `acme.localhost`. */
  readonly host: string;
  /** Its address with the port the viewer used, e.g. `http://acme.localhost:8080/`. */
  readonly url: string;
  /** The tenant's name, for a tenant's host. */
  readonly name?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string;
}

// ── sessions and shapes shared by both consoles ───────────────────────────────────────────────

export interface SessionUser {
  readonly username: string;
  readonly roles: readonly string[];
  readonly superAdmin: boolean;
}

export interface Session {
  readonly expiresAt: string;
  readonly user: SessionUser;
}

export interface Health {
  readonly status: string;
  readonly domain: 'public' | 'tenant';
  readonly tenant?: { readonly id: string; readonly name: string; readonly status: string };
}

export interface Menu {
  readonly id: string;
  readonly label: string;
}

export interface Me {
  readonly username: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly superAdmin: boolean;
  readonly menus: readonly Menu[];
  readonly csrfToken?: string;
  readonly appearance?: Appearance;
  readonly domain:
    | { readonly kind: 'public' }
    | {
        readonly kind: 'tenant';
        readonly tenant: {
          readonly id: string;
          readonly name: string;
          readonly status: string;
          /** One of the contract's PLANS (older tenants may carry another name). */
          readonly plan: string;
          readonly expiresAt: string;
        };
      };
}

export interface LoginAnswer {
  readonly expiresAt: string;
  readonly user: SessionUser;
  readonly csrfToken: string;
}

/** How a dedicated delivery looks (GET /api/branding; shared tenants have no branding). */
export interface Branding {
  readonly displayName?: string;
  readonly logo?: string;
  readonly colors?: { readonly primary?: string; readonly accent?: string };
  readonly homeText?: string;
  readonly menus?: readonly string[];
}

export interface Appearance {
  readonly deliveryMode: 'dedicated' | 'shared';
  readonly branding?: Branding;
}

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: { readonly username: string; readonly via: string };
  readonly action: string;
  readonly target: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly hash: string;
}

/** What a verification found wrong: each kind names the part of the chain that no longer matches. */
export const AUDIT_PROBLEM_KINDS = [
  'entry-altered',
  'entries-altered',
  'seal-altered',
  'seal-missing',
  'head-mismatch',
  'entry-outside-seals',
] as const;

export interface AuditProblem {
  readonly kind: (typeof AUDIT_PROBLEM_KINDS)[number];
  readonly detail: string;
}

export interface AuditVerification {
  readonly valid: boolean;
  readonly seals: number;
  readonly sealedEntries: number;
  readonly unsealedEntries: number;
  /** Hash of the newest seal: export it to anchor the chain outside the platform. */
  readonly head: string;
  readonly problems: readonly AuditProblem[];
}

export interface User {
  readonly username: string;
  readonly roles: readonly string[];
  readonly superAdmin: boolean;
  readonly disabled: boolean;
  readonly consoleTenants?: readonly string[];
  readonly createdAt: string;
}

export interface Role {
  readonly name: string;
  readonly permissions: readonly string[];
  readonly builtIn: boolean;
  readonly description: string;
}

// ── the tenant API ────────────────────────────────────────────────────────────────────────────

export type JsonSchema = Readonly<Record<string, unknown>> | boolean;

export interface AssetBinding {
  readonly kind: string;
  readonly id: string;
  readonly version?: number | 'active';
  readonly request?: unknown;
  /** The agent a `local-agent` Skill runs on. */
  readonly agent?: string;
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
  /**
   * For the Skill's managers (its view and the answer to saving it): set when too few people may
   * approve its runs now, so some or all of them would be refused (`approvers-unavailable`).
   */
  readonly approvalWarning?: ApprovalWarning;
  /** In the answer to saving it: the other live Skills with its name (names are labels, not ids). */
  readonly sameNameAs?: readonly string[];
}

/** Too few people may approve a Skill's runs: who is refused, and the counts behind it. */
export interface ApprovalWarning {
  /** Distinct approvals a run needs (never its requester's). */
  readonly approvalsRequired: number;
  /** Active users who hold `approval:decide` and may see the Skill. */
  readonly approvers: number;
  /** For a critical Skill (it needs an admin among the approvers): the admins among them. */
  readonly adminApprovers?: number;
  /** `all`: every run is refused; `approvers`: runs requested by one of the approvers are. */
  readonly refused: 'all' | 'approvers';
  readonly message: string;
}

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
  readonly status: ExecutionStatus;
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
  /** The schedule whose fire requested the run (as its owner, `requestedBy`). */
  readonly schedule?: { readonly id: string; readonly name: string };
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
    /** 0 when no answer is known. */
    readonly status: number;
    readonly at: string;
    /** The run ended before the call's answer: the credential may have gone out, how the call ended is unknown. */
    readonly inFlight?: boolean;
    /** The platform stopped the call unanswered, at the run's deadline or the resource's timeout. */
    readonly timedOut?: boolean;
  }[];
  readonly assetName?: string;
  readonly rerunOf?: string;
  readonly approvalsRequired?: number;
  /** Who approved or rejected it (the run's page only). */
  readonly decisions?: readonly Vote[];
  readonly cancelRequested?: boolean;
  readonly cancelRequestedBy?: string;
  readonly cancelledBy?: string;
  /** The reason given with the cancel, whether the run waited or ran. */
  readonly cancelReason?: string;
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
  /** In the answer to creating or renaming it: the other live scripts with its name. */
  readonly sameNameAs?: readonly string[];
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
  readonly severity: Severity;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly recipients?: readonly string[];
  /** Usernames that never see it, admins included (the requester of a run waiting for approval). */
  readonly excluded?: readonly string[];
  readonly link?: string;
  /**
   * The run an "Approval needed" notice asks its reader to decide: the notice is listed only while
   * that run waits for the reader's decision. The tenant home shows such notices inside its
   * "Waiting for you" card, not as cards of their own beside it.
   */
  readonly decisionOn?: string;
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
  /**
   * Set when the owner's sessions were ended after the token was made (a new password, a disabling,
   * "end all sessions"): the instant they were. Such a token is refused like a revoked one.
   */
  readonly endedAt?: string;
}

export interface Vote {
  readonly approver: string;
  readonly decision: Decision;
  readonly comment?: string;
  readonly at: string;
}

/** One waiting run of the approvals inbox: the run, with its votes and whether the caller may decide. */
export interface InboxItem extends Execution {
  readonly approvals?: readonly Vote[];
  /** HTTP resources the run's script may call (approved with the run). */
  readonly declaredEgress?: readonly string[];
  /** The same resources with their names, for approvers (the id where one is no longer granted). */
  readonly declaredEgressResources?: readonly { readonly id: string; readonly name: string }[];
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
  /**
   * Path patterns a request must match, relative to the resource's base URL: `*` within one
   * segment, a final `**` any rest.
   */
  readonly paths?: readonly string[];
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
  /**
   * Set when the owner's sessions were ended after the client was made (a new password, a
   * disabling, "end all sessions"): the instant they were. Such a client is refused like a revoked one.
   */
  readonly endedAt?: string;
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

/** Why a fire was skipped, not run: each is logged, and the guide says what to do about it. */
export const SKIP_REASONS = [
  'missed',
  'owner-disabled',
  'permission-lost',
  'skill-missing',
  'skill-not-runnable',
  'invalid-input',
  'tenant-suspended',
  'over-quota',
  'approvers-unavailable',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

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
  /** The last fire's scheduled time and what came of it (noted by the fire itself, never by a client). */
  readonly lastFireAt?: string;
  readonly lastOutcome?: 'ran' | 'skipped' | 'failed';
  /** Why the last fire was skipped (`lastOutcome` skipped), as its log entry says. */
  readonly lastReason?: SkipReason;
  /** The run the last fire started (`lastOutcome` ran). */
  readonly lastExecutionId?: string;
  /**
   * That run's status when the schedule is read (the list, or the schedule's own answer), not when
   * it was fired; absent once the run is gone, and on the answers of a schedule's changes.
   */
  readonly lastExecutionStatus?: ExecutionStatus;
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
  readonly reason?: SkipReason;
  readonly detail?: string;
  readonly executionId?: string;
  /** The run's status when the log is read, not when it was fired. */
  readonly executionStatus?: ExecutionStatus;
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

// ── the governance API ────────────────────────────────────────────────────────────────────────

/** A DNS record an operator creates so a host reaches the platform. */
export interface DnsRecord {
  readonly type: string;
  readonly name: string;
  readonly value: string;
  readonly required: boolean;
  readonly purpose: string;
}

/** A host's onboarding: `pending-dns → provisioning → active | failed` (functions/core/governance/onboarding.ts). */
export interface HostOnboarding {
  readonly host: string;
  readonly state: 'pending-dns' | 'provisioning' | 'active' | 'failed';
  readonly code?: string;
  readonly reason?: string;
  readonly attempts: number;
  readonly since: string;
  readonly checkedAt?: string;
  readonly nextAttemptAt?: string;
  readonly certificate: string;
  readonly target: string;
  readonly dns: readonly DnsRecord[];
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly status: string;
  readonly expiresAt: string;
  readonly hosts: readonly string[];
  readonly deliveryMode?: string;
  readonly branding?: Branding;
  readonly customerId?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  /** Each host's onboarding, on the single-tenant answers. */
  readonly domains?: readonly HostOnboarding[];
}

export interface Contact {
  readonly name: string;
  readonly email?: string;
  readonly phone?: string;
  readonly role?: string;
}

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly contacts: readonly Contact[];
  readonly notes?: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly tenants?: readonly Tenant[];
}

export interface LedgerEntry {
  readonly id: string;
  readonly kind: string;
  readonly at: string;
  readonly summary: string;
  readonly tenantId?: string;
  readonly orderId?: string;
  readonly amount?: number;
  readonly currency?: string;
}

export interface Order {
  readonly id: string;
  readonly tenantId: string;
  readonly customerId?: string;
  readonly plan: string;
  readonly months: number;
  readonly amount: number;
  readonly currency: string;
  readonly status: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly confirmedAt?: string;
  readonly confirmedBy?: string;
  /** The tenant's expiry the payment moved (from confirmation on). */
  readonly previousExpiry?: string;
  readonly newExpiry?: string;
  /**
   * A pending order only: what confirming its payment now would do to its tenant's expiry, read from
   * the tenant as it is (it moves if the tenant's expiry changes before the payment).
   */
  readonly renewal?: { readonly previousExpiry: string; readonly newExpiry: string };
}

export interface ScanResult {
  readonly scan: string;
  readonly now: string;
  readonly scanned: number;
  readonly changed: readonly {
    readonly tenantId?: string;
    readonly host?: string;
    readonly action: string;
    readonly executionId?: string;
  }[];
}

export interface PlatformAnnouncement {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly severity: string;
  readonly audience: readonly string[];
  readonly tenants: 'all' | readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly delivered: number;
}

export interface HttpResource {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly baseUrl: string;
  readonly methods: readonly string[];
  readonly paths: readonly string[];
  readonly writeAllowed: boolean;
  readonly auth?: { readonly scheme: string; readonly header?: string };
  readonly localDevelopment?: boolean;
  readonly version?: number;
  readonly state?: 'active' | 'disabled' | 'archived';
  /** The credential's state only — its value is never returned. */
  readonly credential?: {
    readonly configured: boolean;
    readonly version?: string;
    readonly confirmed?: boolean;
    readonly previousKept?: boolean;
    readonly rotatedAt?: string;
    readonly rotatedBy?: string;
  };
  readonly grants?: readonly string[];
  readonly createdAt?: string;
}

export interface TrialResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly truncated: boolean;
  readonly bytes: number;
  readonly durationMs: number;
}

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Where a template stands with one tenant it was offered to (the governance console's view). */
export interface TemplateStanding {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly offeredAt: string;
  readonly offeredBy: string;
  /** The version it installed, null while none is (or one is being installed). */
  readonly installedVersion: number | null;
  readonly installedAt: string | null;
  readonly skillId: string | null;
  readonly updateAvailable: boolean;
}

export interface TemplateSkill {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
  readonly risk: string;
  readonly approval?: string;
  readonly limits?: { readonly timeoutSeconds?: number; readonly memoryMb?: number };
}

export interface TemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly skill: TemplateSkill;
  readonly source: string;
  readonly note: string;
  readonly createdAt: string;
  readonly createdBy: string;
}
