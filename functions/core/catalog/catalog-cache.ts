/**
 * What this process recently read of each tenant's Skill catalogue: every head, as one consistent
 * Query read it, sorted by name. One copy per tenant per process, read by the catalogue's list reads
 * only (`GET /api/skills`, MCP `tools/list`, the run history's visibility filter, through
 * `SkillCatalog.listVisible`). Built so that a stale entry can never do more than the bounds in
 * docs/decisions/session-cache.md ("Skill catalogues"):
 * - it holds the tenant's whole catalogue, whoever may see it: what a caller may see is filtered per
 *   caller after the cache (`canSee`), exactly as it was filtered after the Query;
 * - keyed by the tenant id the server bound the request to (the domain, never input), and refused
 *   outright for any tenant but the scope's inside a tenant-scoped request (`tenant-scope.ts`), so
 *   one tenant's request cannot be answered from another tenant's entry;
 * - an entry is trusted from the moment its read began, for at most CATALOG_MAX_AGE_MS or the
 *   reader's own `maxAgeMs` if shorter (0: read it now — a request's `Cache-Control: no-cache`);
 * - bounded in entries and in bytes, least recently used out first; a catalogue larger than the whole
 *   bound is read every time, never kept;
 * - every Skill write the repository makes in this process (`skill-repository.ts`) forgets that
 *   tenant in every cache of the process on the same table at once (`tenancy/changes.ts`), and a
 *   read that began before a forget is not kept (`generation`), so a write racing a read cannot be
 *   undone by it.
 * Runs, approvals and every governance decision never read it: they read the Skill's head
 * consistently (`SkillCatalog.get`, the run admission's batch read) whatever this holds.
 */
import type { Table } from '../db.ts';
import { CACHED_READ_MAX_AGE_SECONDS } from '../headers.ts';
import { TenantReadCache } from '../tenancy/changes.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { currentTenantScope, PartitionScopeError } from '../tenancy/tenant-scope.ts';
import type { Skill } from './skills.ts';

/**
 * How old a catalogue may be when it is listed: what another container's write may lag by. The same
 * bound as a tenant's record shown to its users (`SHOWN_TENANT_MAX_AGE_MS`); the console asks for a
 * fresh read for that long after its own writes, so its user never waits it out.
 */
export const CATALOG_MAX_AGE_MS = CACHED_READ_MAX_AGE_SECONDS * 1000;
export const DEFAULT_CATALOG_CACHE_ENTRIES = 1_000;
/** A few hundred ordinary catalogues, or one of ~16k Skills with small schemas. */
export const DEFAULT_CATALOG_CACHE_BYTES = 32 * 1024 * 1024;

export interface CatalogCacheOptions {
  readonly table: Table;
  /** Reads every head of the tenant from the store (consistently). */
  readonly read: (domain: TenantContext) => Promise<Skill[]>;
  /** The longest an entry is trusted. @default CATALOG_MAX_AGE_MS */
  readonly ttlMs?: number;
  /** @default DEFAULT_CATALOG_CACHE_ENTRIES */
  readonly maxEntries?: number;
  /** Bound on the (estimated) bytes of the entries. @default DEFAULT_CATALOG_CACHE_BYTES */
  readonly maxBytes?: number;
  /**
   * Whether catalogue changes announced in this process forget this cache's entries. Off only where
   * a test stands in for another process. @default true
   */
  readonly listens?: boolean;
  readonly now?: () => number;
}

/** Freezes a parsed item all the way down: an entry is shared by every request of the process. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const field of Object.values(value)) deepFreeze(field);
  }
  return value;
}

export class CatalogCache {
  readonly #read: CatalogCacheOptions['read'];
  readonly #ttlMs: number;
  readonly #entries: TenantReadCache<readonly Skill[]>;

  constructor(options: CatalogCacheOptions) {
    this.#read = options.read;
    this.#ttlMs = options.ttlMs ?? CATALOG_MAX_AGE_MS;
    const ttlMs = this.#ttlMs;
    this.#entries = new TenantReadCache({
      table: options.table,
      forgetOn: 'catalog',
      ...(options.listens === undefined ? {} : { listens: options.listens }),
      maxEntries: options.maxEntries ?? DEFAULT_CATALOG_CACHE_ENTRIES,
      maxBytes: options.maxBytes ?? DEFAULT_CATALOG_CACHE_BYTES,
      // UTF-16 code units of the JSON, as an estimate of what the parsed objects hold.
      sizeOf: (skills) => JSON.stringify(skills).length * 2,
      lifetimeOf: () => ttlMs,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /**
   * Every Skill of the tenant (frozen, by name) as read at most `maxAgeMs` ago (capped at the cache's
   * lifetime; 0 reads now). Inside a tenant-scoped request only that tenant may be asked for.
   */
  async skills(domain: TenantContext, maxAgeMs: number = this.#ttlMs): Promise<readonly Skill[]> {
    const tenantId = domain.tenant.id;
    const scope = currentTenantScope();
    if (scope !== undefined && scope !== tenantId) {
      throw new PartitionScopeError(`A request of tenant ${scope} asked for tenant ${tenantId}'s catalogue`);
    }
    return this.#entries.read(tenantId, maxAgeMs, async () =>
      deepFreeze((await this.#read(domain)).sort((a, b) => a.name.localeCompare(b.name))),
    );
  }

  get size(): number {
    return this.#entries.size;
  }
}
