/**
 * Host → domain resolution. Every request is resolved here before anything else; an unknown host
 * is refused without reading any tenant item. Answers are cached per process with a bounded TTL
 * (and a shorter one for misses), and a binding change in this process invalidates its entry.
 */
import { BoundedCache } from '../cache.ts';
import type { Table } from '../db.ts';
import { UnknownHostError } from '../errors.ts';
import type { DomainContext, PublicSurface, TenantContext, TenantSummary } from './domain.ts';
import { HostBindingRepository } from './host-repository.ts';
import { TenantRepository } from './tenant-repository.ts';
import { withTenantScope } from './tenant-scope.ts';

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
  readonly now?: () => number;
}

/** Host names as DNS allows them (letters, digits, hyphens, dots), at most 253 characters. */
const HOST_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isValidHost(host: string): boolean {
  return HOST_PATTERN.test(host);
}

export class HostDirectory {
  readonly #bindings: HostBindingRepository;
  readonly #tenants: TenantRepository;
  readonly #ttlMs: number;
  readonly #missTtlMs: number;
  readonly #cache: BoundedCache<string, DomainContext | null>;

  constructor(options: HostDirectoryOptions) {
    this.#bindings = new HostBindingRepository(options.table);
    this.#tenants = new TenantRepository(options.table);
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#missTtlMs = options.missTtlMs ?? 5_000;
    this.#cache = new BoundedCache({
      maxEntries: options.maxEntries ?? 10_000,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** The domain bound to `host`; throws UnknownHostError when none is. */
  async resolve(host: string): Promise<DomainContext> {
    const name = host.trim().toLowerCase();
    if (!isValidHost(name)) throw new UnknownHostError();
    const cached = this.#cache.lookup(name);
    if (cached.found) {
      if (cached.value === null) throw new UnknownHostError();
      return cached.value;
    }
    const value = await this.#load(name);
    this.#cache.set(name, value, value === null ? this.#missTtlMs : this.#ttlMs);
    if (value === null) throw new UnknownHostError();
    return value;
  }

  /** Forget one host (after its binding changed) or every host. */
  invalidate(host?: string): void {
    if (host === undefined) this.#cache.clear();
    else this.#cache.delete(host.trim().toLowerCase());
  }

  async #load(host: string): Promise<DomainContext | null> {
    const binding = (await this.#bindings.find(host))?.binding;
    if (binding === undefined) return null;
    if (binding.domain === 'public') return { kind: 'public', host, surface: binding.surface };
    // The binding names the tenant: its record is read in that tenant's scope (tenant-scope.ts).
    const { tenantId } = binding;
    const tenant = await withTenantScope(tenantId, () => this.#tenants.summary(tenantId));
    // A binding whose tenant is gone, or an archived tenant, serves nothing.
    if (tenant === null || tenant.status === 'archived') return null;
    return { kind: 'tenant', host, tenant };
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
 * Tenant contexts by id, kept for `ttlMs` (as long as the host cache keeps a binding): a consumer
 * that handles many messages of the same tenants (the recorder) reads each tenant once per period,
 * not once per message. Only for work whose rules do not hinge on a status change within that
 * period; requests that must see a suspension at once read the tenant consistently instead.
 */
export class TenantContexts {
  readonly #table: Table;
  readonly #ttlMs: number;
  readonly #cache: BoundedCache<string, TenantContext>;

  constructor(table: Table, ttlMs = 30_000, now: () => number = Date.now) {
    this.#table = table;
    this.#ttlMs = ttlMs;
    this.#cache = new BoundedCache({ maxEntries: 10_000, now });
  }

  async get(tenantId: string): Promise<TenantContext | null> {
    const cached = this.#cache.get(tenantId);
    if (cached !== undefined) return cached;
    const context = await tenantContext(this.#table, tenantId);
    // An unknown tenant is not remembered: it may be created at any time.
    if (context !== null) this.#cache.set(tenantId, context, this.#ttlMs);
    return context;
  }
}
