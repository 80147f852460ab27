/**
 * Host → domain resolution. Every request is resolved here before anything else; an unknown host
 * is refused without reading any tenant item. Bindings are cached per process with a bounded TTL
 * (and a shorter one for misses) in a ReadThroughCache (cache.ts), and a binding change announced
 * in this process (changes.ts) invalidates its entry at once. The tenant a binding names comes from
 * the process's tenant cache (`tenant-cache.ts`), which every change of a tenant record made in
 * this process clears at once.
 */
import { ReadThroughCache } from '../cache.ts';
import type { Table } from '../db.ts';
import { UnknownHostError } from '../errors.ts';
import { type ChangeListener, type ChangeNotice, listenForChanges } from './changes.ts';
import type { DomainContext, PublicSurface, TenantContext, TenantSummary } from './domain.ts';
import { HostBindingRepository } from './host-repository.ts';
import { BOUND_TENANT_MAX_AGE_MS, TenantCache } from './tenant-cache.ts';
import { TenantRepository } from './tenant-repository.ts';

// Parsed at the store's boundary; callers import it from here as before.
export { tenantSummaryOf } from './tenant-repository.ts';

/** What a host binding item holds. */
export type HostBinding =
  | { readonly host: string; readonly domain: 'public'; readonly surface: PublicSurface }
  | { readonly host: string; readonly domain: 'tenant'; readonly tenantId: string };

export interface HostDirectoryOptions {
  readonly table: Table;
  /** How long a resolved host is trusted before it is read again. @default 30_000 */
  readonly ttlMs?: number;
  /** How long an unknown host is remembered as unknown. @default 5_000 */
  readonly missTtlMs?: number;
  /** Most hosts kept; the oldest entry is dropped past it. @default 10_000 */
  readonly maxEntries?: number;
  /** Whether binding and tenant changes announced in this process clear its caches (changes.ts). @default true */
  readonly listens?: boolean;
  readonly now?: () => number;
}

/** Host names as DNS allows them (letters, digits, hyphens, dots), at most 253 characters. */
const HOST_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isValidHost(host: string): boolean {
  return HOST_PATTERN.test(host);
}

export class HostDirectory implements ChangeListener {
  readonly #bindings: HostBindingRepository;
  readonly #ttlMs: number;
  /** Bindings and misses (null), trusted from the moment their read began; a forget voids reads under way. */
  readonly #cache: ReadThroughCache<string, HostBinding | null>;
  /** This process's tenant records: the host path's, and the answers that show the tenant to its users. */
  readonly tenants: TenantCache;

  constructor(options: HostDirectoryOptions) {
    this.#bindings = new HostBindingRepository(options.table);
    this.#ttlMs = options.ttlMs ?? BOUND_TENANT_MAX_AGE_MS;
    const missTtlMs = options.missTtlMs ?? 5_000;
    this.#cache = new ReadThroughCache({
      maxEntries: options.maxEntries ?? 10_000,
      lifetimeOf: (binding) => (binding === null ? missTtlMs : this.#ttlMs),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.tenants = new TenantCache({
      table: options.table,
      ttlMs: this.#ttlMs,
      missTtlMs,
      ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
      ...(options.listens === undefined ? {} : { listens: options.listens }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    if (options.listens !== false) listenForChanges(options.table, this);
  }

  /** A change announced in this process (changes.ts): a changed binding is forgotten. */
  changed(notice: ChangeNotice): void {
    if ('host' in notice) this.invalidate(notice.host);
  }

  /** The domain bound to `host`; throws UnknownHostError when none is. */
  async resolve(host: string): Promise<DomainContext> {
    const name = host.trim().toLowerCase();
    if (!isValidHost(name)) throw new UnknownHostError();
    // Each entry's own lifetime (a binding's or a miss's) is the only bound on its age.
    const binding = await this.#cache.read(
      name,
      Number.POSITIVE_INFINITY,
      async () => (await this.#bindings.find(name))?.binding ?? null,
    );
    if (binding === null) throw new UnknownHostError();
    if (binding.domain === 'public') return { kind: 'public', host: name, surface: binding.surface };
    // The binding names the tenant: its record is read in that tenant's scope (tenant-cache.ts).
    const tenant = await this.tenants.bound(binding.tenantId, this.#ttlMs);
    // A binding whose tenant is gone (or not written yet), or an archived tenant, serves nothing.
    if (tenant === null || tenant.summary.status === 'archived') throw new UnknownHostError();
    return { kind: 'tenant', host: name, tenant: tenant.summary };
  }

  /** Forget one host (after its binding changed) or every host. */
  invalidate(host?: string): void {
    this.#cache.forget(host?.trim().toLowerCase());
  }
}

/** A tenant's summary, or null; eventually consistent unless asked otherwise. */
export async function readTenantSummary(
  table: Table,
  tenantId: string,
  consistent = false,
): Promise<TenantSummary | null> {
  return new TenantRepository(table).summary(tenantId, consistent);
}

/** A tenant's domain context outside any request (workers, scans, distribution): no host. */
export async function tenantContext(table: Table, tenantId: string): Promise<TenantContext | null> {
  const tenant = await readTenantSummary(table, tenantId);
  return tenant === null ? null : { kind: 'tenant', host: '', tenant };
}

/**
 * Tenant contexts by id, trusted for `ttlMs` (as long as the host path trusts a binding's tenant): a
 * consumer that handles many messages of the same tenants (the recorder) reads each tenant once per
 * period, not once per message. A tenant cache of its own (`tenant-cache.ts`), cleared like every
 * other by a change made in this process. Only for work whose rules do not hinge on a status change
 * within that period; requests that must see a suspension at once read the tenant consistently
 * instead.
 */
export class TenantContexts {
  readonly #tenants: TenantCache;

  constructor(table: Table, ttlMs = BOUND_TENANT_MAX_AGE_MS, now: () => number = Date.now) {
    this.#tenants = new TenantCache({ table, ttlMs, now });
  }

  async get(tenantId: string): Promise<TenantContext | null> {
    const view = await this.#tenants.get(tenantId);
    return view === null ? null : { kind: 'tenant', host: '', tenant: view.summary };
  }
}
