/**
 * Every DynamoDB key the platform writes is built here and nowhere else. Repositories take a
 * resolved DomainContext and ask this module for keys; no handler or repository writes a key string.
 *
 * Layout (one table):
 * - domain items           PK = T#<tenantId> | PUBLIC          SK = <TYPE>#<id>[#…]
 * - host bindings          PK = HOST#<host>                    SK = HOST
 * - tenant record          PK = T#<tenantId>                   SK = TENANT
 * - GSI1 (listings)        GSI1PK = TENANTS | <domain>#EXEC#<status> …
 * - GSI2 (day buckets)     GSI2PK = EXPIRY#<yyyy-mm-dd> … | ONBOARDING (hosts due a DNS/edge check)
 */
import type { DomainContext } from './tenancy/domain.ts';

const TENANT_PREFIX = 'T#';
const PUBLIC_PK = 'PUBLIC';
const HOST_PREFIX = 'HOST#';

export interface Key {
  readonly PK: string;
  readonly SK: string;
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
  | { readonly kind: 'platform' };

export function partitionOwner(pk: string): PartitionOwner {
  if (pk.startsWith(TENANT_PREFIX)) {
    const rest = pk.slice(TENANT_PREFIX.length);
    const end = rest.indexOf('#');
    const tenantId = end === -1 ? rest : rest.slice(0, end);
    if (tenantId !== '') return { kind: 'tenant', tenantId };
  }
  if (pk.startsWith(HOST_PREFIX)) return { kind: 'host' };
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

export function hostKey(host: string): Key {
  return { PK: `${HOST_PREFIX}${host}`, SK: 'HOST' };
}

export function tenantKey(tenantId: string): Key {
  return { PK: tenantPk(tenantId), SK: 'TENANT' };
}

/** GSI1 partition listing the public domain's host bindings (the console's and the free entry's). */
export const PUBLIC_HOST_LISTING = 'PUBLICHOSTS';

/** GSI2 partition of host bindings whose onboarding is due a check, sorted by when (`<iso>#<host>`). */
export const ONBOARDING_DUE = 'ONBOARDING';

export function onboardingDueSort(nextAttemptAt: string, host: string): string {
  return `${nextAttemptAt}#${host}`;
}

/** GSI1 partition listing every tenant record. */
export const TENANT_LISTING = 'TENANTS';

/** GSI2 partition of tenants whose expiry falls on a day (`yyyy-mm-dd`). */
export function expiryBucket(day: string): string {
  return `EXPIRY#${day}`;
}

export function itemKey(domain: DomainContext, type: string, ...parts: readonly string[]): Key {
  return { PK: domainPk(domain), SK: [type, ...parts].join('#') };
}

/** The SK prefix shared by every item of one type in a domain, for begins_with queries. */
export function typePrefix(type: string): string {
  return `${type}#`;
}

/** Marks that the local demo data of a given version was seeded. */
export function seedKey(version: string): Key {
  return { PK: PUBLIC_PK, SK: `SEED#${version}` };
}

/** GSI1 partition of a domain's executions waiting for approval (the approvals inbox). */
export function approvalsInbox(domain: DomainContext): string {
  return `${domainPk(domain)}#APPROVALS`;
}

/** Shards of the GSI2 partition listing unfinished executions of every tenant by deadline. */
export const ACTIVE_EXECUTION_SHARDS = 8;

export function activeExecutionsShard(shard: number): string {
  return `EXEC#ACTIVE#${shard}`;
}

/** A key in the public domain's partition, for code that has no request context (templates). */
export function publicItemKey(type: string, ...parts: readonly string[]): Key {
  return { PK: PUBLIC_PK, SK: [type, ...parts].join('#') };
}
