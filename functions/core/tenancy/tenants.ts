/**
 * Tenant records and host bindings. DynamoDB-compatible stores here have no transactions, so every
 * multi-item change is a sequence of idempotent conditional steps ordered so that a crash between
 * two of them never serves a half-made tenant and a retry converges:
 *
 * - create: hosts are claimed first (a claim whose tenant record does not exist resolves to
 *   nothing), and the tenant record is written last; a failed creation releases exactly the claims
 *   it made. Each claim starts the host's onboarding (`governance/onboarding.ts`): the edge is
 *   asked for nothing until the host's DNS points at the platform, and whatever the edge answers,
 *   the tenant is created.
 * - add a host: claim → append to the record's `hosts` (the record is the intent) → onboarding.
 * - remove a host: release the claim → edge detach → drop it from `hosts` (again last).
 *
 * The record carries its place in the lifecycle index (GSI2, sparse: a partition per phase, sorted
 * by expiry) so lifecycle scans read only the tenants due, however long since they last ran; every
 * change of `status` or `expiresAt` moves it in the same write. Every binding or status change
 * invalidates this process's host cache.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, type Table } from '../db.ts';
import { ConflictError, NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import { dayOf } from '../governance/dates.ts';
import { ConcurrentChangeError } from '../governance/errors.ts';
import { type HostOnboarding, initialOnboarding, onboardingIndex } from '../governance/onboarding.ts';
import {
  hostKey,
  INDEX,
  ITEM_TYPE,
  isLifecyclePartition,
  type LifecyclePhase,
  lifecyclePartition,
  lifecycleSort,
  lifecycleSortUntil,
  PUBLIC_HOST_LISTING,
  RETIRED_EXPIRY_PREFIX,
  TENANT_LISTING,
  tenantKey,
} from '../keys.ts';
import type { Page } from '../pagination.ts';
import { queryPageOf } from '../store/paged-query.ts';
import { type Branding, brandingFromItem } from './branding.ts';
import { type PublicSurface, TENANT_ID_PATTERN, type TenantStatus, type TenantSummary } from './domain.ts';
import { type HostBinding, type HostDirectory, isValidHost } from './hosts.ts';

export { dayOf };

export type DeliveryMode = 'dedicated' | 'shared';

/**
 * What makes a tenant a personal space of the free edition: the handle it was signed up with (its
 * host is `<handle>.<free host>`) and its lead in the public ledger. Kept after a conversion into a
 * standard tenant, with the order that converted it.
 */
export interface PersonalSpace {
  readonly handle: string;
  readonly leadId: string;
  readonly convertedAt?: string;
  readonly conversionOrderId?: string;
}

export interface Tenant extends TenantSummary {
  readonly hosts: readonly string[];
  readonly deliveryMode: DeliveryMode;
  /** Shown only while `deliveryMode` is `dedicated` (see branding.ts). */
  readonly branding?: Branding;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly customerId?: string;
  /** Set on personal spaces of the free edition (and kept once converted). */
  readonly personal?: PersonalSpace;
}

export interface NewTenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly hosts: readonly string[];
  readonly expiresAt: string;
  readonly status?: TenantStatus;
  readonly deliveryMode?: DeliveryMode;
  readonly customerId?: string;
  readonly personal?: PersonalSpace;
}

/** Fields an update may set; `customerId: null` detaches the tenant from its customer. */
export interface TenantChange {
  readonly name?: string;
  readonly plan?: string;
  readonly status?: TenantStatus;
  readonly expiresAt?: string;
  readonly deliveryMode?: DeliveryMode;
  readonly customerId?: string | null;
}

/** What the record must still say for an update to apply (optimistic concurrency). */
export interface TenantExpectation {
  readonly status?: TenantStatus;
  readonly expiresAt?: string;
  /** `null`: the tenant must have no customer. */
  readonly customerId?: string | null;
}

export interface Renewal {
  readonly orderId: string;
  /** The expiry and status the new values were computed from. */
  readonly previousExpiry: string;
  readonly previousStatus: TenantStatus;
  readonly expiresAt: string;
  readonly status: TenantStatus;
  readonly plan: string;
}

export type RenewalOutcome = 'applied' | 'already-applied' | 'stale';

export interface TenantRegistryOptions {
  readonly table: Table;
  /** Host cache of this process, invalidated when a binding changes. */
  readonly hosts?: HostDirectory;
  /**
   * Each claimed host's onboarding (DNS check, then the edge: CloudFront in AWS).
   * @default none: the binding alone routes, and bindings carry no onboarding state
   */
  readonly onboarding?: HostOnboarding;
  readonly now?: () => Date;
}

/** A tenant read from the lifecycle index, with the notice a scan still owes it. */
export interface TenantInPhase {
  readonly tenant: Tenant;
  readonly noticeOwed?: 'grace' | 'suspended';
}

/** The lifecycle phase of a status; null for statuses no scan acts on. */
export function phaseOf(status: TenantStatus): LifecyclePhase | null {
  if (status === 'trial' || status === 'active') return 'live';
  if (status === 'grace') return 'grace';
  return null;
}

/** The lifecycle index attributes of a tenant record (GSI2PK absent: in no phase). */
export function lifecycleIndex(status: TenantStatus, expiresAt: string, id: string) {
  const phase = phaseOf(status);
  return {
    ...(phase === null ? {} : { GSI2PK: lifecyclePartition(phase) }),
    GSI2SK: lifecycleSort(expiresAt, id),
  } as { GSI2PK?: string; GSI2SK: string };
}

/** Most hosts one tenant may have. */
export const MAX_HOSTS_PER_TENANT = 10;

/** Optimistic retries of a read-modify-write on one tenant record before giving up. */
const MAX_ATTEMPTS = 5;

/** An ISO instant in canonical form; a ValidationError on `path` otherwise. */
function canonicalInstant(value: string, path: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ValidationError('Invalid date-time', [{ path, message: value }]);
  return new Date(time).toISOString();
}

function normaliseHost(host: string, path: string): string {
  const name = host.trim().toLowerCase();
  if (!isValidHost(name)) {
    throw new ValidationError('Invalid host name', [
      { path, message: `${name} is not a host name: letters, digits, hyphens and dots, no scheme or port` },
    ]);
  }
  return name;
}

export function tenantFromItem(item: Record<string, unknown>): Tenant {
  return {
    id: String(item.id),
    name: String(item.name),
    plan: String(item.plan),
    status: item.status as TenantStatus,
    expiresAt: String(item.expiresAt),
    hosts: (item.hosts as string[] | undefined) ?? [],
    deliveryMode: (item.deliveryMode as DeliveryMode | undefined) ?? 'shared',
    ...(brandingFromItem(item) === undefined ? {} : { branding: brandingFromItem(item) as Branding }),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    ...(typeof item.customerId === 'string' ? { customerId: item.customerId } : {}),
    ...(item.personal !== null && typeof item.personal === 'object'
      ? { personal: item.personal as PersonalSpace }
      : {}),
  };
}

/** The revision of a tenant's host list (null before its first change after creation). */
function hostsRevision(item: Record<string, unknown>): number | null {
  return typeof item.hostsRevision === 'number' ? item.hostsRevision : null;
}

function appliedOrders(item: Record<string, unknown>): ReadonlySet<string> {
  const value = item.appliedOrders;
  if (value instanceof Set) return value as Set<string>;
  return new Set(Array.isArray(value) ? (value as string[]) : []);
}

export class TenantRegistry {
  readonly #table: Table;
  readonly #hosts: HostDirectory | undefined;
  readonly #onboarding: HostOnboarding | undefined;
  readonly #now: () => Date;

  constructor(options: TenantRegistryOptions) {
    this.#table = options.table;
    this.#hosts = options.hosts;
    this.#onboarding = options.onboarding;
    this.#now = options.now ?? (() => new Date());
  }

  async create(input: NewTenant): Promise<Tenant> {
    if (!TENANT_ID_PATTERN.test(input.id)) {
      throw new ValidationError('Tenant id must be a lowercase slug', [
        { path: 'id', message: '3-40 characters: a-z, 0-9 and hyphens, starting with a letter' },
      ]);
    }
    const hosts = [...new Set(input.hosts.map((host) => normaliseHost(host, 'hosts')))];
    if (hosts.length > MAX_HOSTS_PER_TENANT) {
      throw new ValidationError('Too many hosts', [
        { path: 'hosts', message: `at most ${MAX_HOSTS_PER_TENANT}` },
      ]);
    }
    const expiresAt = canonicalInstant(input.expiresAt, 'expiresAt');
    // Only a definite "not found" lets creation go on: after a failed read, the rollback below would
    // release host claims an existing tenant of this id owns.
    const existing = await unlessNotFound(this.get(input.id));
    if (existing !== null) throw new ConflictError(`Tenant ${input.id} already exists`);

    const claimed: string[] = [];
    let created: Tenant;
    try {
      for (const host of hosts) {
        await this.#claimHost({ host, domain: 'tenant', tenantId: input.id });
        claimed.push(host);
      }
      const now = this.#now().toISOString();
      const item = {
        ...tenantKey(input.id),
        GSI1PK: TENANT_LISTING,
        GSI1SK: input.id,
        ...lifecycleIndex(input.status ?? 'active', expiresAt, input.id),
        type: ITEM_TYPE.tenant,
        id: input.id,
        name: input.name,
        plan: input.plan,
        status: input.status ?? 'active',
        expiresAt,
        hosts,
        deliveryMode: input.deliveryMode ?? 'shared',
        createdAt: now,
        updatedAt: now,
        ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
        ...(input.personal === undefined ? {} : { personal: input.personal }),
      };
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: item,
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      for (const host of hosts) this.#hosts?.invalidate(host);
      created = tenantFromItem(item);
    } catch (error) {
      for (const host of claimed) await this.#releaseHost(host, input.id);
      if (isConditionFailure(error))
        throw new ConflictError(`Tenant ${input.id} already exists`, { cause: error });
      throw error;
    }
    for (const host of hosts) await this.#onboard(host);
    return created;
  }

  /**
   * A first onboarding step for a freshly bound host, now rather than on the next scan. What it
   * finds is recorded on the binding; even a failure here leaves the host due, so the schedule
   * takes it from there — binding a host never fails because of DNS or the edge.
   */
  async #onboard(host: string): Promise<void> {
    try {
      await this.#onboarding?.advance(host);
    } catch {
      // Recorded as still due (nextAttemptAt ≤ now): the host-onboarding scan retries it.
    }
  }

  async get(id: string): Promise<Tenant> {
    return tenantFromItem(await this.#item(id));
  }

  /** A page of tenants ordered by id. */
  async list(limit: number, cursor?: string): Promise<Page<Tenant>> {
    return queryPageOf(
      this.#table,
      {
        index: INDEX.listing,
        partition: TENANT_LISTING,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
      tenantFromItem,
    );
  }

  /** Replaces the tenant's branding (validated by the caller); `null` removes it. */
  async setBranding(id: string, branding: Branding | null): Promise<Tenant> {
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression:
            branding === null
              ? 'REMOVE branding SET updatedAt = :now'
              : 'SET branding = :branding, updatedAt = :now',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: {
            ':now': this.#now().toISOString(),
            ...(branding === null ? {} : { ':branding': branding }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return tenantFromItem(result.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`Tenant ${id} not found`, { cause: error });
      throw error;
    }
  }

  async setStatus(id: string, status: TenantStatus): Promise<Tenant> {
    return this.update(id, { status });
  }

  /**
   * Changes a tenant's fields in one conditional write; a new `expiresAt` moves its expiry-day
   * bucket with it. With `expect`, the write applies only if the record still says so
   * (ConcurrentChangeError otherwise).
   */
  async update(id: string, change: TenantChange, expect: TenantExpectation = {}): Promise<Tenant> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': this.#now().toISOString() };
    const sets = ['updatedAt = :now'];
    const removes: string[] = [];
    const set = (field: string, value: unknown) => {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    };
    if (change.name !== undefined) set('name', change.name);
    if (change.plan !== undefined) set('plan', change.plan);
    if (change.status !== undefined) {
      set('status', change.status);
      const phase = phaseOf(change.status);
      if (phase === null) removes.push('GSI2PK');
      else set('GSI2PK', lifecyclePartition(phase));
    }
    if (change.deliveryMode !== undefined) set('deliveryMode', change.deliveryMode);
    if (change.expiresAt !== undefined) {
      const expiresAt = canonicalInstant(change.expiresAt, 'expiresAt');
      set('expiresAt', expiresAt);
      set('GSI2SK', lifecycleSort(expiresAt, id));
    }
    if (change.customerId === null) {
      names['#customerId'] = 'customerId';
      removes.push('#customerId');
    } else if (change.customerId !== undefined) set('customerId', change.customerId);

    const conditions = ['attribute_exists(PK)'];
    const expected = (field: string, value: unknown) => {
      names[`#${field}`] = field;
      values[`:expected_${field}`] = value;
      conditions.push(`#${field} = :expected_${field}`);
    };
    if (expect.status !== undefined) expected('status', expect.status);
    if (expect.expiresAt !== undefined) expected('expiresAt', expect.expiresAt);
    if (expect.customerId === null) {
      names['#customerId'] = 'customerId';
      conditions.push('attribute_not_exists(#customerId)');
    } else if (expect.customerId !== undefined) expected('customerId', expect.customerId);

    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: conditions.join(' AND '),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const tenant = tenantFromItem(result.Attributes ?? {});
      for (const host of tenant.hosts) this.#hosts?.invalidate(host);
      return tenant;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.#item(id); // NotFoundError when the tenant is gone
      throw new ConcurrentChangeError(`Tenant ${id} changed meanwhile; read it again and retry`, {
        cause: error,
      });
    }
  }

  /**
   * Applies a paid order to the tenant exactly once: expiry, bucket, status and plan move in one
   * write that also records the order id, conditioned on the order not being recorded yet and on
   * the expiry and status the renewal was computed from. `stale` means the tenant changed since:
   * recompute and try again.
   */
  async applyRenewal(id: string, renewal: Renewal): Promise<RenewalOutcome> {
    const index = lifecycleIndex(renewal.status, renewal.expiresAt, id);
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: `SET expiresAt = :expiresAt, ${index.GSI2PK === undefined ? '' : 'GSI2PK = :partition, '}GSI2SK = :sort, #status = :status, #plan = :plan, updatedAt = :now ADD appliedOrders :orders${index.GSI2PK === undefined ? ' REMOVE GSI2PK' : ''}`,
          ConditionExpression:
            'attribute_exists(PK) AND expiresAt = :previousExpiry AND #status = :previousStatus AND NOT contains(appliedOrders, :orderId)',
          ExpressionAttributeNames: { '#status': 'status', '#plan': 'plan' },
          ExpressionAttributeValues: {
            ':expiresAt': renewal.expiresAt,
            ...(index.GSI2PK === undefined ? {} : { ':partition': index.GSI2PK }),
            ':sort': index.GSI2SK,
            ':status': renewal.status,
            ':plan': renewal.plan,
            ':now': this.#now().toISOString(),
            ':orders': new Set([renewal.orderId]),
            ':previousExpiry': renewal.previousExpiry,
            ':previousStatus': renewal.previousStatus,
            ':orderId': renewal.orderId,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await this.#item(id);
      return appliedOrders(item).has(renewal.orderId) ? 'already-applied' : 'stale';
    }
    await this.#invalidateHostsOf(id);
    return 'applied';
  }

  /** Whether a paid order has been applied to the tenant. */
  async hasApplied(id: string, orderId: string): Promise<boolean> {
    return appliedOrders(await this.#item(id)).has(orderId);
  }

  /**
   * A scan moves a tenant from one status to another if it still has the status and expiry the scan
   * saw, and parks it in the `notice` phase until `noticeSent` (so a crash between the two never
   * loses the notice). Returns false when it no longer does (someone renewed or changed it meanwhile).
   */
  async transition(id: string, from: TenantStatus, to: TenantStatus, seenExpiry: string): Promise<boolean> {
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: 'SET #status = :to, updatedAt = :now, GSI2PK = :notice, noticeOwed = :to',
          ConditionExpression: 'attribute_exists(PK) AND #status = :from AND expiresAt = :seen',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':to': to,
            ':from': from,
            ':seen': seenExpiry,
            ':now': this.#now().toISOString(),
            ':notice': lifecyclePartition('notice'),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      for (const host of tenantFromItem(result.Attributes ?? {}).hosts) this.#hosts?.invalidate(host);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The notice a scan owed for `status` is out: the tenant moves to that status's phase. */
  async noticeSent(id: string, status: TenantStatus): Promise<void> {
    const phase = phaseOf(status);
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: `REMOVE noticeOwed${phase === null ? ', GSI2PK' : ' SET GSI2PK = :partition'}`,
          ConditionExpression: '#status = :status AND noticeOwed = :status AND GSI2PK = :notice',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':notice': lifecyclePartition('notice'),
            ...(phase === null ? {} : { ':partition': lifecyclePartition(phase) }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // changed meanwhile: its new status placed it
    }
  }

  /**
   * The tenants of a lifecycle phase whose expiry is at or before `until` (and, with `from`, at or
   * after it), read from the sparse lifecycle index only (never the table): what a scan reads grows
   * with the tenants due, however long since it last ran. The index is eventually consistent:
   * callers re-check what they read with conditional writes.
   */
  async *inPhase(phase: LifecyclePhase, until?: string, from?: string): AsyncGenerator<TenantInPhase> {
    let start: Record<string, unknown> | undefined;
    const range =
      until === undefined
        ? ''
        : from === undefined
          ? ' AND GSI2SK <= :until'
          : ' AND GSI2SK BETWEEN :from AND :until';
    do {
      const page = await this.#table.client.send(
        new QueryCommand({
          TableName: this.#table.name,
          IndexName: INDEX.lifecycle,
          KeyConditionExpression: `GSI2PK = :partition${range}`,
          ExpressionAttributeValues: {
            ':partition': lifecyclePartition(phase),
            ...(until === undefined ? {} : { ':until': lifecycleSortUntil(until) }),
            ...(from === undefined ? {} : { ':from': from }),
          },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const owed = item.noticeOwed;
        yield {
          tenant: tenantFromItem(item),
          ...(owed === 'grace' || owed === 'suspended' ? { noticeOwed: owed } : {}),
        };
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  /**
   * Places every tenant written before the lifecycle index existed (expiry-day buckets) in it; a
   * one-off, read through the tenant listing. Returns the number moved.
   */
  async reindexLifecycle(): Promise<number> {
    let moved = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#table.client.send(
        new QueryCommand({
          TableName: this.#table.name,
          IndexName: INDEX.listing,
          KeyConditionExpression: 'GSI1PK = :listing',
          ExpressionAttributeValues: { ':listing': TENANT_LISTING },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const tenant = tenantFromItem(item);
        const index = lifecycleIndex(tenant.status, tenant.expiresAt, tenant.id);
        // Already placed (written since the index exists): nothing to write.
        if (
          item.GSI2SK === index.GSI2SK &&
          (item.GSI2PK === undefined || isLifecyclePartition(String(item.GSI2PK)))
        )
          continue;
        try {
          await this.#table.client.send(
            new UpdateCommand({
              TableName: this.#table.name,
              Key: tenantKey(tenant.id),
              UpdateExpression: `SET GSI2SK = :sort${index.GSI2PK === undefined ? ' REMOVE GSI2PK' : ', GSI2PK = :partition'}`,
              // Only records still in the old layout, and only if their status did not change meanwhile.
              ConditionExpression:
                '#status = :status AND (attribute_not_exists(GSI2PK) OR begins_with(GSI2PK, :old))',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':sort': index.GSI2SK,
                ':status': tenant.status,
                ':old': RETIRED_EXPIRY_PREFIX,
                ...(index.GSI2PK === undefined ? {} : { ':partition': index.GSI2PK }),
              },
            }),
          );
          moved++;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return moved;
  }

  /**
   * Claims a personal space's host for one sign-up, named by `claimId`: unique across the platform,
   * and — unlike a governance claim — never shared with another attempt for the same tenant, so of
   * two concurrent sign-ups for one handle exactly one holds it. A claim whose sign-up never wrote
   * its tenant record (it crashed) is taken over once older than `staleAfterMs`. No onboarding: the
   * free domain's wildcard serves every personal host at the edge.
   */
  async claimPersonalHost(
    rawHost: string,
    tenantId: string,
    claimId: string,
    staleAfterMs: number,
  ): Promise<'claimed' | 'taken'> {
    const host = normaliseHost(rawHost, 'host');
    const now = this.#now();
    const item = {
      ...hostKey(host),
      type: ITEM_TYPE.host,
      host,
      domain: 'tenant',
      tenantId,
      claimId,
      boundAt: now.toISOString(),
    };
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: item,
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      this.#hosts?.invalidate(host);
      return 'claimed';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: hostKey(host), ConsistentRead: true }),
    );
    const current = existing.Item;
    if (current === undefined) return this.claimPersonalHost(host, tenantId, claimId, staleAfterMs);
    const abandoned =
      current.domain === 'tenant' &&
      current.tenantId === tenantId &&
      typeof current.claimId === 'string' &&
      Date.parse(String(current.boundAt)) < now.getTime() - staleAfterMs &&
      (await unlessNotFound(this.get(tenantId))) === null;
    if (!abandoned) return 'taken';
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: item,
          ConditionExpression: 'claimId = :seen',
          ExpressionAttributeValues: { ':seen': current.claimId },
        }),
      );
      this.#hosts?.invalidate(host);
      return 'claimed';
    } catch (error) {
      if (isConditionFailure(error)) return 'taken';
      throw error;
    }
  }

  /** Gives back a personal host claimed by `claimId` (a sign-up that failed); a no-op otherwise. */
  async releasePersonalHost(rawHost: string, claimId: string): Promise<void> {
    const host = normaliseHost(rawHost, 'host');
    try {
      await this.#table.client.send(
        new DeleteCommand({
          TableName: this.#table.name,
          Key: hostKey(host),
          ConditionExpression: 'claimId = :claim',
          ExpressionAttributeValues: { ':claim': claimId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    this.#hosts?.invalidate(host);
  }

  /** Records on a personal space the order that converted it into a standard tenant (idempotent). */
  async markConverted(id: string, orderId: string): Promise<Tenant> {
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression:
            'SET personal.convertedAt = if_not_exists(personal.convertedAt, :now), personal.conversionOrderId = :order, updatedAt = :now',
          ConditionExpression: 'attribute_exists(personal)',
          ExpressionAttributeValues: { ':now': this.#now().toISOString(), ':order': orderId },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const tenant = tenantFromItem(result.Attributes ?? {});
      for (const host of tenant.hosts) this.#hosts?.invalidate(host);
      return tenant;
    } catch (error) {
      if (isConditionFailure(error)) {
        await this.#item(id); // NotFoundError when the tenant is gone
        throw new ConflictError(`Tenant ${id} is not a personal space`, { cause: error });
      }
      throw error;
    }
  }

  /** Binds a host of the public domain (the governance console or the free entry) and onboards it. */
  async bindPublicHost(host: string, surface: PublicSurface): Promise<void> {
    const name = normaliseHost(host, 'host');
    await this.#claimHost({ host: name, domain: 'public', surface });
    this.#hosts?.invalidate(name);
    await this.#onboard(name);
  }

  /** Adds a host to a tenant: claim (unique across the platform) → the record → onboarding. Idempotent. */
  async addHost(id: string, rawHost: string): Promise<Tenant> {
    const host = normaliseHost(rawHost, 'host');
    for (let attempt = 1; ; attempt++) {
      const item = await this.#item(id);
      const tenant = tenantFromItem(item);
      const known = tenant.hosts.includes(host);
      if (!known && tenant.hosts.length >= MAX_HOSTS_PER_TENANT) {
        throw new ValidationError('Too many hosts', [
          { path: 'host', message: `a tenant has at most ${MAX_HOSTS_PER_TENANT}` },
        ]);
      }
      await this.#claimHost({ host, domain: 'tenant', tenantId: id });
      if (known) {
        this.#hosts?.invalidate(host);
        await this.#onboard(host);
        return tenant;
      }
      const updated = await this.#replaceHosts(id, hostsRevision(item), [...tenant.hosts, host]);
      this.#hosts?.invalidate(host);
      if (updated !== null) {
        await this.#onboard(host);
        return updated;
      }
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrentChangeError(`Tenant ${id} keeps changing; retry`);
    }
  }

  /** Removes a host from a tenant: release the claim → edge → the record. Idempotent. */
  async removeHost(id: string, rawHost: string): Promise<Tenant> {
    const host = normaliseHost(rawHost, 'host');
    for (let attempt = 1; ; attempt++) {
      const item = await this.#item(id);
      const tenant = tenantFromItem(item);
      if (!tenant.hosts.includes(host)) {
        // An orphan claim of an interrupted addHost is cleaned up; anything else is unknown.
        if (!(await this.#ownsHost(host, id))) throw new NotFoundError(`Host ${host} is not bound to ${id}`);
        await this.#releaseHost(host, id);
        await this.#onboarding?.edge.detach(host);
        return tenant;
      }
      if (tenant.hosts.length === 1) {
        throw new ConflictError('A tenant keeps at least one host; add another before removing this one', {
          extra: { host },
        });
      }
      await this.#releaseHost(host, id);
      await this.#onboarding?.edge.detach(host);
      const updated = await this.#replaceHosts(
        id,
        hostsRevision(item),
        tenant.hosts.filter((candidate) => candidate !== host),
      );
      if (updated !== null) return updated;
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrentChangeError(`Tenant ${id} keeps changing; retry`);
    }
  }

  async #item(id: string): Promise<Record<string, unknown>> {
    if (!TENANT_ID_PATTERN.test(id)) throw new NotFoundError(`Tenant ${id} not found`);
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: tenantKey(id), ConsistentRead: true }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Tenant ${id} not found`);
    return result.Item;
  }

  async #invalidateHostsOf(id: string): Promise<void> {
    if (this.#hosts === undefined) return;
    for (const host of (await this.get(id)).hosts) this.#hosts.invalidate(host);
  }

  /**
   * Replaces the host list if no other host change happened since it was read (its revision is
   * unchanged); null when one did. (A revision counter rather than comparing the lists: the local
   * store cannot compare lists in a condition.)
   */
  async #replaceHosts(id: string, revision: number | null, after: readonly string[]): Promise<Tenant | null> {
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: 'SET hosts = :after, hostsRevision = :next, updatedAt = :now',
          ConditionExpression:
            revision === null
              ? 'attribute_exists(PK) AND attribute_not_exists(hostsRevision)'
              : 'attribute_exists(PK) AND hostsRevision = :revision',
          ExpressionAttributeValues: {
            ':after': after,
            ':next': (revision ?? 0) + 1,
            ':now': this.#now().toISOString(),
            ...(revision === null ? {} : { ':revision': revision }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return tenantFromItem(result.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async #ownsHost(host: string, tenantId: string): Promise<boolean> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: hostKey(host), ConsistentRead: true }),
    );
    const binding = result.Item as HostBinding | undefined;
    return binding?.domain === 'tenant' && binding.tenantId === tenantId;
  }

  /**
   * Claims a host: unique across the platform. A new binding starts its onboarding (pending DNS, due
   * now); re-claiming one's own binding is a no-op retry that keeps the onboarding it has.
   */
  async #claimHost(binding: HostBinding): Promise<void> {
    const now = this.#now();
    const onboarding = initialOnboarding(now);
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            ...hostKey(binding.host),
            type: ITEM_TYPE.host,
            ...binding,
            boundAt: now.toISOString(),
            ...(this.#onboarding === undefined
              ? {}
              : { onboarding, ...onboardingIndex(binding.host, onboarding) }),
            ...(binding.domain === 'public' ? { GSI1PK: PUBLIC_HOST_LISTING, GSI1SK: binding.host } : {}),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: hostKey(binding.host), ConsistentRead: true }),
    );
    const current = existing.Item as HostBinding | undefined;
    const same =
      current !== undefined &&
      current.domain === binding.domain &&
      (binding.domain === 'tenant'
        ? current.domain === 'tenant' && current.tenantId === binding.tenantId
        : current.domain === 'public' && current.surface === binding.surface);
    if (same) {
      // A public binding made before the platform's hosts were listed joins the listing.
      if (binding.domain === 'public' && existing.Item?.GSI1PK === undefined) {
        await this.#table.client.send(
          new UpdateCommand({
            TableName: this.#table.name,
            Key: hostKey(binding.host),
            UpdateExpression: 'SET GSI1PK = :listing, GSI1SK = :host',
            ExpressionAttributeValues: { ':listing': PUBLIC_HOST_LISTING, ':host': binding.host },
          }),
        );
      }
      return;
    }
    if (current === undefined) return this.#claimHost(binding); // released meanwhile: claim again
    throw new ConflictError(`Host ${binding.host} is already bound`, { extra: { host: binding.host } });
  }

  async #releaseHost(host: string, tenantId: string): Promise<void> {
    await this.#table.client
      .send(
        new DeleteCommand({
          TableName: this.#table.name,
          Key: hostKey(host),
          ConditionExpression: 'tenantId = :tenant',
          ExpressionAttributeValues: { ':tenant': tenantId },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
    this.#hosts?.invalidate(host);
  }
}
