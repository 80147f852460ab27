/**
 * What this process recently read of each tenant's record: its summary (name, status, plan, expiry)
 * and its appearance (delivery mode, branding). One copy per tenant per process, shared by every
 * reader: the host path (`hosts.ts`, which binds each request to its tenant), the answers that show
 * the tenant to its users (`GET /api/me`, `GET /api/branding`) and the recorder (`TenantContexts`).
 *
 * Each reader says how old an answer it accepts (`maxAgeMs`); an entry older than that is read again,
 * and the new read serves everyone. Built so that a stale entry can never do more than the bounds
 * written in docs/decisions/session-cache.md ("Tenant records"):
 * - keyed by the tenant id the server bound the request to (never by input), and refused outright
 *   for any tenant but the scope's inside a tenant-scoped request (`tenant-scope.ts`), so one
 *   tenant's request cannot be answered from another tenant's entry;
 * - an entry is trusted from the moment its read began, for at most the reader's `maxAgeMs` (a
 *   missing tenant for at most `missTtlMs`), and kept no longer than the longest of those;
 * - bounded in entries and in bytes (a branding carries a logo), least recently used out first;
 * - every change of a tenant record made through the registry (`tenants.ts`) in this process forgets
 *   that tenant in every cache of the process on the same table at once (`changes.ts`), and a read
 *   that began before a forget is not kept (`generation`), so a change racing a read cannot be
 *   undone by it. Nothing but a forget travels on that channel: it can cost a read, never put a
 *   value in.
 * Runs never rely on it: admission reads the tenant consistently (executions).
 */
import type { Table } from '../db.ts';
import { appearanceOf, type TenantAppearance } from './branding.ts';
import { TenantReadCache } from './changes.ts';
import { TenantRepository, type TenantView } from './tenant-repository.ts';
import { currentTenantScope, PartitionScopeError, withTenantScope } from './tenant-scope.ts';

export type { TenantView };

/** How old a tenant's record may be when it is shown to its users (`/api/me`, `/api/branding`). */
export const SHOWN_TENANT_MAX_AGE_MS = 5_000;
/** How old a tenant's record may be when a request is bound to it by host (as the host cache's binding). */
export const BOUND_TENANT_MAX_AGE_MS = 30_000;
/** How long a tenant found missing is remembered as missing. */
export const DEFAULT_TENANT_MISS_TTL_MS = 5_000;
export const DEFAULT_TENANT_CACHE_ENTRIES = 10_000;
/** About a hundred tenants with a full-size logo (~128 KB as UTF-16), or tens of thousands without one. */
export const DEFAULT_TENANT_CACHE_BYTES = 16 * 1024 * 1024;

export interface TenantCacheOptions {
  readonly table: Table;
  /** The longest any reader may ask for (`maxAgeMs`); entries are dropped past it. @default BOUND_TENANT_MAX_AGE_MS */
  readonly ttlMs?: number;
  /** How long a missing tenant is remembered as missing. @default DEFAULT_TENANT_MISS_TTL_MS */
  readonly missTtlMs?: number;
  /** @default DEFAULT_TENANT_CACHE_ENTRIES */
  readonly maxEntries?: number;
  /** Bound on the (estimated) bytes of the entries. @default DEFAULT_TENANT_CACHE_BYTES */
  readonly maxBytes?: number;
  /**
   * Whether changes announced in this process (by any registry on a table of the same name) forget
   * this cache's entries. Off only where a test stands in for another process. @default true
   */
  readonly listens?: boolean;
  readonly now?: () => number;
}

/** An estimate of what an entry holds: the fixed fields, and the branding (logo, home text) as JSON. */
function sizeOf(view: TenantView | null): number {
  const branding = view?.branding;
  return 512 + (branding === undefined ? 0 : JSON.stringify(branding).length * 2);
}

export class TenantCache {
  readonly #tenants: TenantRepository;
  readonly #ttlMs: number;
  readonly #entries: TenantReadCache<TenantView | null>;

  constructor(options: TenantCacheOptions) {
    this.#tenants = new TenantRepository(options.table);
    this.#ttlMs = options.ttlMs ?? BOUND_TENANT_MAX_AGE_MS;
    const missTtlMs = Math.min(options.missTtlMs ?? DEFAULT_TENANT_MISS_TTL_MS, this.#ttlMs);
    this.#entries = new TenantReadCache({
      table: options.table,
      forgetOn: 'tenant',
      ...(options.listens === undefined ? {} : { listens: options.listens }),
      maxEntries: options.maxEntries ?? DEFAULT_TENANT_CACHE_ENTRIES,
      maxBytes: options.maxBytes ?? DEFAULT_TENANT_CACHE_BYTES,
      sizeOf,
      // A tenant that is not there yet may be created any moment: a miss is trusted for less.
      lifetimeOf: (view) => (view === null ? missTtlMs : this.#ttlMs),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /**
   * The tenant's record as read at most `maxAgeMs` ago (capped at the cache's lifetime), or null when
   * there is no such tenant. Inside a tenant-scoped request only that tenant may be asked for.
   */
  get(tenantId: string, maxAgeMs: number = this.#ttlMs): Promise<TenantView | null> {
    const scope = currentTenantScope();
    if (scope !== undefined && scope !== tenantId) {
      return Promise.reject(
        new PartitionScopeError(`A request of tenant ${scope} asked for tenant ${tenantId}'s record`),
      );
    }
    return this.#read(tenantId, maxAgeMs);
  }

  /**
   * The tenant a host binding names, for the host path (`hosts.ts`): resolving a host may read the
   * tenant its binding names whatever scope the caller is in, as reading the binding itself may.
   */
  bound(tenantId: string, maxAgeMs: number = this.#ttlMs): Promise<TenantView | null> {
    return this.#read(tenantId, maxAgeMs);
  }

  #read(tenantId: string, maxAgeMs: number): Promise<TenantView | null> {
    // In that tenant's scope: in a tenant-scoped function its own credentials read it (tenant-scope.ts).
    return this.#entries.read(tenantId, maxAgeMs, () =>
      withTenantScope(tenantId, () => this.#tenants.view(tenantId)),
    );
  }

  /** The tenant's record as shown to its users: read at most SHOWN_TENANT_MAX_AGE_MS ago. */
  shown(tenantId: string): Promise<TenantView | null> {
    return this.get(tenantId, SHOWN_TENANT_MAX_AGE_MS);
  }

  /** The tenant's appearance as shown to its users (a tenant gone meanwhile shows the standard one). */
  async appearance(tenantId: string): Promise<TenantAppearance> {
    const view = await this.shown(tenantId);
    return view === null ? { deliveryMode: 'shared' } : appearanceOf(view);
  }

  get size(): number {
    return this.#entries.size;
  }
}
