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
 * change of `status` or `expiresAt` moves it in the same write. Every binding change invalidates
 * this process's host caches, and every change of a tenant record its tenant caches (changes.ts).
 */
import type { Plan } from '../../contract/tenancy.ts';
import type { Table } from '../db.ts';
import { ConflictError, NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import { dayOf } from '../governance/dates.ts';
import { ConcurrentChangeError } from '../governance/errors.ts';
import { type HostOnboarding, initialOnboarding, onboardingIndex } from '../governance/onboarding.ts';
import type { LifecyclePhase } from '../keys.ts';
import type { Page } from '../pagination.ts';
import type { Branding } from './branding.ts';
import { announceChange } from './changes.ts';
import { type PublicSurface, TENANT_ID_PATTERN, type TenantStatus, type TenantSummary } from './domain.ts';
import { HostBindingRepository } from './host-repository.ts';
import { type HostBinding, type HostDirectory, isValidHost } from './hosts.ts';
import { forgetStaleKeptCounts } from './quotas.ts';
import {
  NotPersonalSpaceError,
  TenantChangedError,
  type TenantRecord,
  TenantRepository,
} from './tenant-repository.ts';

// Parsing and index placement live with the store; callers import them from here as before.
export { lifecycleIndex, phaseOf, tenantFromItem } from './tenant-repository.ts';
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
  readonly plan: Plan;
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

export class TenantRegistry {
  readonly #table: Table;
  readonly #tenants: TenantRepository;
  readonly #bindings: HostBindingRepository;
  readonly #hosts: HostDirectory | undefined;
  readonly #onboarding: HostOnboarding | undefined;
  readonly #now: () => Date;

  constructor(options: TenantRegistryOptions) {
    this.#table = options.table;
    this.#tenants = new TenantRepository(options.table);
    this.#bindings = new HostBindingRepository(options.table);
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
      created = await this.#tenants.create({
        id: input.id,
        name: input.name,
        plan: input.plan,
        status: input.status ?? 'active',
        expiresAt,
        hosts,
        deliveryMode: input.deliveryMode ?? 'shared',
        createdAt: this.#now().toISOString(),
        ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
        ...(input.personal === undefined ? {} : { personal: input.personal }),
      });
      for (const host of hosts) this.#hostChanged(host);
      this.#changed(input.id);
    } catch (error) {
      // A tenant of this id written meanwhile comes out as TenantExistsError (409).
      for (const host of claimed) await this.#releaseHost(host, input.id);
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
    return (await this.#record(id)).tenant;
  }

  /** A page of tenants ordered by id. */
  async list(limit: number, cursor?: string): Promise<Page<Tenant>> {
    return this.#tenants.page(limit, cursor);
  }

  /** Replaces the tenant's branding (validated by the caller); `null` removes it. */
  async setBranding(id: string, branding: Branding | null): Promise<Tenant> {
    const tenant = await this.#tenants.setBranding(id, branding, this.#now().toISOString());
    this.#changed(id);
    return tenant;
  }

  async setStatus(id: string, status: TenantStatus): Promise<Tenant> {
    return this.update(id, { status });
  }

  /**
   * Changes a tenant's fields in one conditional write; a new `expiresAt` moves its expiry-day
   * bucket with it. With `expect`, the write applies only if the record still says so
   * (ConcurrentChangeError otherwise). A new plan that limits what the old one kept no count of (a
   * paid tenant moved to `free`: its Skills, its users) has those counts forgotten first, so they are
   * counted again from what the tenant keeps (quotas.ts `forgetStaleKeptCounts`).
   */
  async update(id: string, change: TenantChange, expect: TenantExpectation = {}): Promise<Tenant> {
    if (change.plan !== undefined) {
      const from = (await this.#record(id)).tenant.plan;
      if (from !== change.plan) await forgetStaleKeptCounts(this.#table, id, from, change.plan);
    }
    const normalised =
      change.expiresAt === undefined
        ? change
        : { ...change, expiresAt: canonicalInstant(change.expiresAt, 'expiresAt') };
    try {
      const tenant = await this.#tenants.update(id, normalised, expect, this.#now().toISOString());
      this.#changed(id);
      return tenant;
    } catch (error) {
      if (error instanceof TenantChangedError) await this.#record(id); // NotFoundError when the tenant is gone
      throw error;
    }
  }

  /**
   * Applies a paid order to the tenant exactly once: expiry, bucket, status and plan move in one
   * write that also records the order id, conditioned on the order not being recorded yet and on
   * the expiry and status the renewal was computed from. `stale` means the tenant changed since:
   * recompute and try again.
   */
  async applyRenewal(id: string, renewal: Renewal): Promise<RenewalOutcome> {
    if (!(await this.#tenants.applyRenewal(id, renewal, this.#now().toISOString()))) {
      return (await this.#record(id)).appliedOrders.has(renewal.orderId) ? 'already-applied' : 'stale';
    }
    this.#changed(id);
    return 'applied';
  }

  /** Whether a paid order has been applied to the tenant. */
  async hasApplied(id: string, orderId: string): Promise<boolean> {
    return (await this.#record(id)).appliedOrders.has(orderId);
  }

  /**
   * A scan moves a tenant from one status to another if it still has the status and expiry the scan
   * saw, and parks it in the `notice` phase until `noticeSent` (so a crash between the two never
   * loses the notice). Returns false when it no longer does (someone renewed or changed it meanwhile).
   */
  async transition(id: string, from: TenantStatus, to: TenantStatus, seenExpiry: string): Promise<boolean> {
    const moved = await this.#tenants.transition(id, from, to, seenExpiry, this.#now().toISOString());
    if (moved === null) return false;
    this.#changed(id);
    return true;
  }

  /** The notice a scan owed for `status` is out: the tenant moves to that status's phase. */
  async noticeSent(id: string, status: TenantStatus): Promise<void> {
    await this.#tenants.noticeSent(id, status);
    this.#changed(id);
  }

  /**
   * The tenants of a lifecycle phase whose expiry is at or before `until` (and, with `from`, at or
   * after it), read from the sparse lifecycle index only (never the table): what a scan reads grows
   * with the tenants due, however long since it last ran. The index is eventually consistent:
   * callers re-check what they read with conditional writes.
   */
  inPhase(phase: LifecyclePhase, until?: string, from?: string): AsyncGenerator<TenantInPhase> {
    return this.#tenants.inPhase(phase, until, from);
  }

  /**
   * Places every tenant written before the lifecycle index existed (expiry-day buckets) in it; a
   * one-off, read through the tenant listing. Returns the number moved.
   */
  async reindexLifecycle(): Promise<number> {
    return this.#tenants.reindexLifecycle();
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
    const boundAt = now.toISOString();
    if (await this.#bindings.claimPersonal(host, tenantId, claimId, boundAt)) {
      this.#hostChanged(host);
      return 'claimed';
    }
    const current = await this.#bindings.find(host, true);
    if (current === null) return this.claimPersonalHost(host, tenantId, claimId, staleAfterMs);
    const abandoned =
      current.binding.domain === 'tenant' &&
      current.binding.tenantId === tenantId &&
      current.claimId !== undefined &&
      Date.parse(current.boundAt) < now.getTime() - staleAfterMs &&
      (await unlessNotFound(this.get(tenantId))) === null;
    if (!abandoned || current.claimId === undefined) return 'taken';
    if (!(await this.#bindings.claimPersonal(host, tenantId, claimId, boundAt, current.claimId)))
      return 'taken';
    this.#hostChanged(host);
    return 'claimed';
  }

  /** Gives back a personal host claimed by `claimId` (a sign-up that failed); a no-op otherwise. */
  async releasePersonalHost(rawHost: string, claimId: string): Promise<void> {
    const host = normaliseHost(rawHost, 'host');
    await this.#bindings.releasePersonal(host, claimId);
    this.#hostChanged(host);
  }

  /** Records on a personal space the order that converted it into a standard tenant (idempotent). */
  async markConverted(id: string, orderId: string): Promise<Tenant> {
    try {
      const tenant = await this.#tenants.markConverted(id, orderId, this.#now().toISOString());
      this.#changed(id);
      return tenant;
    } catch (error) {
      if (error instanceof NotPersonalSpaceError) await this.#record(id); // NotFoundError when the tenant is gone
      throw error;
    }
  }

  /** Binds a host of the public domain (the governance console or the free entry) and onboards it. */
  async bindPublicHost(host: string, surface: PublicSurface): Promise<void> {
    const name = normaliseHost(host, 'host');
    await this.#claimHost({ host: name, domain: 'public', surface });
    this.#hostChanged(name);
    await this.#onboard(name);
  }

  /** Adds a host to a tenant: claim (unique across the platform) → the record → onboarding. Idempotent. */
  async addHost(id: string, rawHost: string): Promise<Tenant> {
    const host = normaliseHost(rawHost, 'host');
    for (let attempt = 1; ; attempt++) {
      const { tenant, hostsRevision } = await this.#record(id);
      const known = tenant.hosts.includes(host);
      if (!known && tenant.hosts.length >= MAX_HOSTS_PER_TENANT) {
        throw new ValidationError('Too many hosts', [
          { path: 'host', message: `a tenant has at most ${MAX_HOSTS_PER_TENANT}` },
        ]);
      }
      await this.#claimHost({ host, domain: 'tenant', tenantId: id });
      if (known) {
        this.#hostChanged(host);
        await this.#onboard(host);
        return tenant;
      }
      const updated = await this.#tenants.replaceHosts(
        id,
        hostsRevision,
        [...tenant.hosts, host],
        this.#now().toISOString(),
      );
      this.#hostChanged(host);
      if (updated !== null) {
        this.#changed(id);
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
      const { tenant, hostsRevision } = await this.#record(id);
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
      const updated = await this.#tenants.replaceHosts(
        id,
        hostsRevision,
        tenant.hosts.filter((candidate) => candidate !== host),
        this.#now().toISOString(),
      );
      if (updated !== null) {
        this.#changed(id);
        return updated;
      }
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrentChangeError(`Tenant ${id} keeps changing; retry`);
    }
  }

  async #record(id: string): Promise<TenantRecord> {
    if (!TENANT_ID_PATTERN.test(id)) throw new NotFoundError(`Tenant ${id} not found`);
    const record = await this.#tenants.find(id);
    if (record === null) throw new NotFoundError(`Tenant ${id} not found`);
    return record;
  }

  /** The tenant's record changed: every tenant cache of this process forgets it at once. */
  #changed(id: string): void {
    announceChange(this.#table, { tenant: id });
  }

  /** A host's binding changed: every host cache of this process forgets it at once. */
  #hostChanged(host: string): void {
    this.#hosts?.invalidate(host);
    announceChange(this.#table, { host });
  }

  async #ownsHost(host: string, tenantId: string): Promise<boolean> {
    const binding = (await this.#bindings.find(host, true))?.binding;
    return binding?.domain === 'tenant' && binding.tenantId === tenantId;
  }

  /**
   * Claims a host: unique across the platform. A new binding starts its onboarding (pending DNS, due
   * now); re-claiming one's own binding is a no-op retry that keeps the onboarding it has.
   */
  async #claimHost(binding: HostBinding): Promise<void> {
    const now = this.#now();
    const state = this.#onboarding === undefined ? undefined : initialOnboarding(now);
    const onboarding = state === undefined ? undefined : { state, due: onboardingIndex(binding.host, state) };
    if (await this.#bindings.claim(binding, now.toISOString(), onboarding)) return;
    const existing = await this.#bindings.find(binding.host, true);
    const current = existing?.binding;
    const same =
      current !== undefined &&
      current.domain === binding.domain &&
      (binding.domain === 'tenant'
        ? current.domain === 'tenant' && current.tenantId === binding.tenantId
        : current.domain === 'public' && current.surface === binding.surface);
    if (same) {
      // A public binding made before the platform's hosts were listed joins the listing.
      if (binding.domain === 'public' && existing?.listed === false) await this.#bindings.list(binding.host);
      return;
    }
    if (current === undefined) return this.#claimHost(binding); // released meanwhile: claim again
    throw new ConflictError(`Host ${binding.host} is already bound`, { extra: { host: binding.host } });
  }

  async #releaseHost(host: string, tenantId: string): Promise<void> {
    await this.#bindings.release(host, tenantId);
    this.#hostChanged(host);
  }
}
