/**
 * Every DynamoDB key the platform writes is built here and nowhere else. Repositories take a
 * resolved DomainContext and ask this module for keys; no handler or repository writes a key string.
 *
 * Layout (one table):
 * - domain items           PK = T#<tenantId> | PUBLIC          SK = <TYPE>#<id>[#…]
 * - host bindings          PK = HOST#<host>                    SK = HOST
 * - tenant record          PK = T#<tenantId>                   SK = TENANT
 * - GSI1 (listings)        GSI1PK = TENANTS | <domain>#EXEC#<status> …
 * - GSI2 (lifecycle)       GSI2PK = LIFECYCLE#<phase>  GSI2SK = <expiresAt>#<tenantId>;  EXEC#ACTIVE#<n> …;
 *                          ONBOARDING (hosts due a DNS/edge check)
 * - the free edition       PK = FREE#<what>[#…]: its leads, the templates it offers, its sign-up
 *                          rate counters — partitions of their own, so the free entry's function can
 *                          be given them (and host claims under the free domain) and nothing else
 *                          of the public domain (`dynamodb:LeadingKeys = FREE#*`).
 */
import type { DomainContext } from './tenancy/domain.ts';

const TENANT_PREFIX = 'T#';
const PUBLIC_PK = 'PUBLIC';
const HOST_PREFIX = 'HOST#';
const FREE_PREFIX = 'FREE#';

/**
 * The sort-key tag of every item type: the first segment of its SK (`SKILL#<id>`), so one type is one
 * `begins_with` range of its partition. Each tag is spelled here and nowhere else.
 */
export const TAG = {
  // catalog and assets
  skill: 'SKILL',
  skillRevision: 'SKILLREV',
  asset: 'ASSET',
  assetVersion: 'ASSETV',
  // identity
  user: 'USER',
  role: 'ROLE',
  session: 'SESSION',
  personalAccessToken: 'PAT',
  loginFailures: 'LOGINFAIL',
  // agents and MCP clients
  agent: 'AGENT',
  agentToken: 'AGENTTOKEN',
  agentJob: 'AGENTJOB',
  mcpClient: 'MCPCLIENT',
  mcpCall: 'MCPCALL',
  // templates
  template: 'TEMPLATE',
  templateVersion: 'TEMPLATEV',
  templateGrant: 'TEMPLATEGRANT',
  templateInstall: 'TEMPLATEINSTALL',
  // foundation
  announcement: 'ANN',
  announcementRead: 'ANNREAD',
  parameter: 'PARAM',
  usage: 'USAGE',
  securityWindow: 'SECWIN',
  // schedules
  schedule: 'SCHED',
  scheduleLog: 'SCHEDLOG',
  scheduleQuota: 'SCHEDQUOTA',
  // extension data
  dataCollection: 'DATACOL',
  dataRecord: 'DATA',
  dataUsage: 'DATAUSAGE',
  // HTTP resources
  httpResource: 'HTTPRES',
  httpGrant: 'HTTPGRANT',
  // governance (public partition)
  customer: 'CUSTOMER',
  customerTenant: 'CUSTTENANT',
  ledger: 'LEDGER',
  order: 'ORDER',
  scanState: 'SCANSTATE',
  platformAnnouncement: 'PANN',
  platformAnnouncementKey: 'PANNKEY',
  bootstrap: 'BOOTSTRAP',
  seed: 'SEED',
  // free edition
  handoff: 'HANDOFF',
  // runs and the audit chain
  execution: 'EXEC',
  executionLog: 'EXECLOG',
  idempotency: 'IDEMP',
  waitSlot: 'WAITSLOT',
  pollSlot: 'POLLSLOT',
  vote: 'VOTE',
  audit: 'AUDIT',
  auditSeal: 'SEAL',
  auditHead: 'AUDITHEAD',
  auditKey: 'AUDITKEY',
  // singletons: the whole SK
  tenant: 'TENANT',
  host: 'HOST',
} as const;

/**
 * The `type` attribute items carry (listings and scans filter on it). Mostly the item's tag; a few
 * types were named before their tag and keep that name, since stored items carry it.
 */
export const ITEM_TYPE = {
  ...TAG,
  assetVersion: 'ASSETVERSION',
  auditEntry: 'AUDIT',
  auditSeal: 'AUDITSEAL',
  securityWindow: 'SECWINDOW',
  freeOffer: 'FREEOFFER',
  freeRate: 'FREERATE',
  lead: 'LEAD',
} as const;

/** The key attributes of the table itself. */
export const TABLE_KEY_NAMES = { pk: 'PK', sk: 'SK' } as const;

/** The key attributes of a global secondary index: `GSI3` → `GSI3PK`, `GSI3SK`. */
export function indexKeyNames(index: string): { readonly pk: string; readonly sk: string } {
  return { pk: `${index}PK`, sk: `${index}SK` };
}

/** The table's global secondary indexes by purpose (lib/topology.ts declares them). */
export const INDEX = {
  /** GSI1: listings that must not scan (tenants, hosts, approvals inbox, a schedule's log…). */
  listing: 'GSI1',
  /** GSI2: lifecycle (tenants by phase and expiry, unfinished runs, due schedules and onboardings). */
  lifecycle: 'GSI2',
  /** GSI3–GSI5: filtered listings (FILTER_INDEXES). */
  filter3: 'GSI3',
  filter4: 'GSI4',
  filter5: 'GSI5',
} as const;

export interface Key {
  readonly PK: string;
  readonly SK: string;
}

/** Where an item sits in a global secondary index: its partition and sort key values there. */
export interface IndexEntry {
  readonly partition: string;
  readonly sort: string;
}

/** The attributes that place an item at `entry` in `index`: `{ GSI2PK: partition, GSI2SK: sort }`. */
export function indexAttributes(index: string, entry: IndexEntry): Record<string, string> {
  const names = indexKeyNames(index);
  return { [names.pk]: entry.partition, [names.sk]: entry.sort };
}

/** An item without its table key and the key attributes of `indexes`: what the item says of itself. */
export function withoutKeys(
  item: Record<string, unknown>,
  indexes: readonly string[],
): Record<string, unknown> {
  const keys = new Set<string>([TABLE_KEY_NAMES.pk, TABLE_KEY_NAMES.sk]);
  for (const index of indexes) {
    const names = indexKeyNames(index);
    keys.add(names.pk);
    keys.add(names.sk);
  }
  return Object.fromEntries(Object.entries(item).filter(([name]) => !keys.has(name)));
}

/** The partition of a domain: `PUBLIC` or `T#<tenantId>`. */
export function domainPk(domain: DomainContext): string {
  return domain.kind === 'public' ? PUBLIC_PK : tenantPk(domain.tenant.id);
}

export function tenantPk(tenantId: string): string {
  return `${TENANT_PREFIX}${tenantId}`;
}

export const publicPk = PUBLIC_PK;

/** Who a partition key belongs to: one tenant (its table partition or its own GSI partitions), a host binding, the public domain, or a platform listing. */
export type PartitionOwner =
  | { readonly kind: 'tenant'; readonly tenantId: string }
  | { readonly kind: 'host' }
  | { readonly kind: 'public' }
  | { readonly kind: 'free' }
  | { readonly kind: 'platform' };

export function partitionOwner(pk: string): PartitionOwner {
  if (pk.startsWith(TENANT_PREFIX)) {
    const rest = pk.slice(TENANT_PREFIX.length);
    const end = rest.indexOf('#');
    const tenantId = end === -1 ? rest : rest.slice(0, end);
    if (tenantId !== '') return { kind: 'tenant', tenantId };
  }
  if (pk.startsWith(HOST_PREFIX)) return { kind: 'host' };
  if (pk.startsWith(FREE_PREFIX)) return { kind: 'free' };
  if (pk === PUBLIC_PK) return { kind: 'public' };
  return { kind: 'platform' };
}

/**
 * The `dynamodb:LeadingKeys` patterns of one tenant: its table partition `T#<id>` and the GSI
 * partitions it owns, which all begin `T#<id>#` (the approvals inbox, `T#<id>#APPROVALS`). `id` may be
 * an IAM policy variable such as `${aws:PrincipalTag/tenant}`.
 */
export function tenantLeadingKeys(id: string): [string, string] {
  return [`${TENANT_PREFIX}${id}`, `${TENANT_PREFIX}${id}#*`];
}

/** The `dynamodb:LeadingKeys` pattern of every host binding. */
export const HOST_LEADING_KEYS = `${HOST_PREFIX}*`;

/** The `dynamodb:LeadingKeys` pattern of the host bindings under one domain (`HOST#*.free.example.com`). */
export function hostLeadingKeysUnder(domain: string): string {
  return `${HOST_PREFIX}*.${domain}`;
}

/** The `dynamodb:LeadingKeys` pattern of every free-edition partition. */
export const FREE_LEADING_KEYS = `${FREE_PREFIX}*`;

/** A partition of the free edition: `FREE#<part>#…`. */
export function freePk(...parts: readonly string[]): string {
  return `${FREE_PREFIX}${parts.join('#')}`;
}

export function hostKey(host: string): Key {
  return { PK: `${HOST_PREFIX}${host}`, SK: TAG.host };
}

export function tenantKey(tenantId: string): Key {
  return { PK: tenantPk(tenantId), SK: TAG.tenant };
}

/** GSI1 partition listing the public domain's host bindings (the console's and the free entry's). */
export const PUBLIC_HOST_LISTING = 'PUBLICHOSTS';

/** GSI2 partition of host bindings whose onboarding is due a check, sorted by when (`<iso>#<host>`). */
export const ONBOARDING_DUE = 'ONBOARDING';

export function onboardingDueSort(nextAttemptAt: string, host: string): string {
  return `${nextAttemptAt}#${host}`;
}

/** The upper bound of every onboarding sort key due at or before `instant`. */
export function onboardingDueUntil(instant: string): string {
  return `${instant}#\uffff`;
}

/** GSI1 partition listing every tenant record. */
export const TENANT_LISTING = 'TENANTS';

/**
 * Where a tenant sits in the lifecycle index (GSI2, sparse), sorted by expiry: `live` (trial and
 * active: the next step is grace), `grace` (the next step is suspension), `notice` (a scan changed
 * its status and still owes the notice). Suspended and archived tenants are in none: no scan has
 * anything left to do to them.
 */
export type LifecyclePhase = 'live' | 'grace' | 'notice';

const LIFECYCLE_PREFIX = 'LIFECYCLE#';

/** Whether a GSI2 partition is one of the lifecycle partitions (not the retired `EXPIRY#` layout). */
export function isLifecyclePartition(partition: string): boolean {
  return partition.startsWith(LIFECYCLE_PREFIX);
}

/** The GSI2 partitions of the retired expiry layout, which the index migration moves. */
export const RETIRED_EXPIRY_PREFIX = 'EXPIRY#';

export function lifecyclePartition(phase: LifecyclePhase): string {
  return `${LIFECYCLE_PREFIX}${phase}`;
}

/** The sort key of a tenant in its lifecycle partition: expiry first, so "due by now" is one range. */
export function lifecycleSort(expiresAt: string, tenantId: string): string {
  return `${expiresAt}#${tenantId}`;
}

/** The upper bound of every sort key at or before `instant` (`~` sorts after every id character). */
export function lifecycleSortUntil(instant: string): string {
  return `${instant}#~`;
}

export function itemKey(domain: DomainContext, type: string, ...parts: readonly string[]): Key {
  return { PK: domainPk(domain), SK: [type, ...parts].join('#') };
}

/** `itemKey` in a tenant's partition named by its id alone (governance reading many tenants at once). */
export function tenantItemKey(tenantId: string, type: string, ...parts: readonly string[]): Key {
  return { PK: tenantPk(tenantId), SK: [type, ...parts].join('#') };
}

/** The SK prefix shared by every item of one type in a domain, for begins_with queries. */
export function typePrefix(type: string): string {
  return `${type}#`;
}

/** Marks that the local demo data of a given version was seeded. */
export function seedKey(version: string): Key {
  return { PK: PUBLIC_PK, SK: `${TAG.seed}#${version}` };
}

/** GSI1 partition of a domain's executions waiting for approval (the approvals inbox). */
export function approvalsInbox(domain: DomainContext): string {
  return `${domainPk(domain)}#APPROVALS`;
}

/** The sort key of a run in the approvals inbox: oldest request first. */
export function approvalsInboxSort(createdAt: string, executionId: string): string {
  return `${createdAt}#${executionId}`;
}

/** Shards of the GSI2 partition listing unfinished executions of every tenant by deadline. */
export const ACTIVE_EXECUTION_SHARDS = 8;

export function activeExecutionsShard(shard: number): string {
  return `EXEC#ACTIVE#${shard}`;
}

/** The sort key of an unfinished run in its shard: deadline first, so "overdue by now" is one range. */
export function activeExecutionSort(deadline: string, tenantId: string, executionId: string): string {
  return `${deadline}#${tenantId}#${executionId}`;
}

/** A key in the public domain's partition, for code that has no request context (templates). */
export function publicItemKey(type: string, ...parts: readonly string[]): Key {
  return { PK: PUBLIC_PK, SK: [type, ...parts].join('#') };
}

/**
 * Filtered listings (sparse GSI3–GSI5, overloaded by item type so three indexes serve both runs and
 * the audit chain). Every partition starts with the domain's own partition key, so a query can never
 * leave its domain (and a LeadingKeys policy on `T#<id>*` still covers it).
 * - GSI3: runs by status            `<domain>#EXEC#S#<status>`   · audit by actor  `<domain>#AUDIT#A#<username>`
 * - GSI4: runs by Skill             `<domain>#EXEC#K#<skillId>`  · audit by target `<domain>#AUDIT#T#<target>`
 * - GSI5: runs by requester         `<domain>#EXEC#U#<username>` · audit by action `<domain>#AUDIT#C#<action>`
 * Sort keys are the item's own time-ordered id (run id, or the audit entry's SK).
 */
export const FILTER_INDEXES = {
  executionStatus: INDEX.filter3,
  executionSkill: INDEX.filter4,
  executionRequester: INDEX.filter5,
  auditActor: INDEX.filter3,
  auditTarget: INDEX.filter4,
  auditAction: INDEX.filter5,
} as const;

export function executionsByStatus(domain: DomainContext, status: string): string {
  return `${domainPk(domain)}#EXEC#S#${status}`;
}

export function executionsBySkill(domain: DomainContext, skillId: string): string {
  return `${domainPk(domain)}#EXEC#K#${skillId}`;
}

export function executionsByRequester(domain: DomainContext, username: string): string {
  return `${domainPk(domain)}#EXEC#U#${username}`;
}

export function auditByActor(domain: DomainContext, username: string): string {
  return `${domainPk(domain)}#AUDIT#A#${username}`;
}

export function auditByTarget(domain: DomainContext, target: string): string {
  return `${domainPk(domain)}#AUDIT#T#${target}`;
}

export function auditByAction(domain: DomainContext, action: string): string {
  return `${domainPk(domain)}#AUDIT#C#${action}`;
}

/** Per-user read marks of announcements: `ANNREAD#<username>#<announcementId>`. */
export function announcementReadKey(domain: DomainContext, username: string, announcementId: string): Key {
  return itemKey(domain, TAG.announcementRead, username, announcementId);
}

/**
 * What a tenant used of a plan quota (`USAGE#<counter>[#<period>]`): runs of one UTC day, the Skills
 * it keeps. One item per counter, updated by conditional writes only (tenancy/quotas.ts).
 */
export function usageKey(domain: DomainContext, counter: string, ...period: readonly string[]): Key {
  return itemKey(domain, TAG.usage, counter, ...period);
}

/** `usageKey` in a tenant's partition named by its id alone (governance changing a tenant's plan). */
export function tenantUsageKey(tenantId: string, counter: string): Key {
  return tenantItemKey(tenantId, TAG.usage, counter);
}

/** Streamed log chunks of a run: `EXECLOG#<executionId>#<seq>` (seq zero-padded, so key order is seq order). */
export function executionLogKey(domain: DomainContext, executionId: string, seq: number): Key {
  return itemKey(domain, TAG.executionLog, executionId, String(seq).padStart(10, '0'));
}

export function executionLogPrefix(domain: DomainContext, executionId: string): string {
  return `${itemKey(domain, TAG.executionLog, executionId).SK}#`;
}

/** The SK prefix of the items of one type under one parent (`ASSETV#<assetId>#`, `AGENTJOB#<agent>#`). */
export function childPrefix(type: string, ...parents: readonly string[]): string {
  return `${[type, ...parents].join('#')}#`;
}

/** The sort-key prefix of an audit entry (`AUDIT#`): the one public item a tenant function may write. */
export const AUDIT_ENTRY_PREFIX = typePrefix(TAG.audit);

/**
 * A security-event rate window of one source in a domain: `SECWIN#<sourceHash>#<windowStart>`
 * (security/window-repository.ts).
 */
export function securityWindowKey(domain: DomainContext, sourceHash: string, windowStart: string): Key {
  return itemKey(domain, TAG.securityWindow, sourceHash, windowStart);
}

/**
 * GSI1 partition, per domain, of the security windows that suppressed events and still owe their
 * summary: inside the domain's own partitions, so a tenant function flushes only its tenant's.
 */
export function suppressedSecurityWindows(domain: DomainContext): string {
  return `${domainPk(domain)}#SECURITY#SUPPRESSED`;
}

/** The sort key of a window in that partition: when it ends, so "over by now" is one range. */
export function suppressedSecurityWindowSort(windowEnd: string, sourceHash: string): string {
  return `${windowEnd}#${sourceHash}`;
}
