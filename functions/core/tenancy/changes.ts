/**
 * Change notices within one process: a tenant record, a host binding or a tenant's Skill catalogue
 * changed here, so every cache of this process on a table of that name forgets it at once
 * (tenant-cache.ts, hosts.ts, catalog/catalog-cache.ts). In AWS a process is one container of one
 * function; on the local platform it is every function at once.
 *
 * A notice carries a tenant id or a host name and nothing else, and a cache can only forget on it:
 * whoever could send one (code in this process only) could cost a read, never put a value in.
 * Tables are compared by name, not client: two platforms in one process with the same table name
 * forget each other's entries too, which costs a read and nothing else. Listeners are held weakly,
 * so a cache that is no longer used is not kept alive by being told.
 */
import { ReadThroughCache, type ReadThroughCacheOptions } from '../cache.ts';
import type { Table } from '../db.ts';

export type ChangeNotice =
  | { readonly tenant: string }
  | { readonly host: string }
  /** A Skill of this tenant was written (or a write of one was attempted): its catalogue changed. */
  | { readonly catalog: string };

export interface ChangeListener {
  changed(notice: ChangeNotice): void;
}

const listeners = new Map<string, Set<WeakRef<ChangeListener>>>();

/** Tells `listener` of every change announced in this process on a table named like `table`. */
export function listenForChanges(table: Table, listener: ChangeListener): void {
  const set = listeners.get(table.name) ?? new Set();
  // Listeners gone since are dropped here too, not only when a change is announced: a process that
  // builds many cores on one table (tests, the local platform) keeps no trail of dead references.
  for (const ref of set) if (ref.deref() === undefined) set.delete(ref);
  set.add(new WeakRef(listener));
  listeners.set(table.name, set);
}

/** A tenant record, host binding or tenant catalogue of `table` changed in this process. */
export function announceChange(table: Table, notice: ChangeNotice): void {
  const set = listeners.get(table.name);
  if (set === undefined) return;
  for (const ref of set) {
    const listener = ref.deref();
    if (listener === undefined) set.delete(ref);
    else listener.changed(notice);
  }
  if (set.size === 0) listeners.delete(table.name);
}

/** What a per-tenant cache forgets on: a tenant's record, or its catalogue. */
export type TenantChange = 'tenant' | 'catalog';

export interface TenantReadCacheOptions<V> extends ReadThroughCacheOptions<V> {
  readonly table: Table;
  /** The notices that forget an entry: those naming its tenant's record, or its catalogue. */
  readonly forgetOn: TenantChange;
  /**
   * Whether changes announced in this process forget entries. Off only where a test stands in for
   * another process. @default true
   */
  readonly listens?: boolean;
}

/**
 * A read-through cache keyed by tenant id (cache.ts) that forgets a tenant as soon as a change of
 * its kind naming that tenant is announced in this process: the caches of tenant records
 * (tenant-cache.ts) and of Skill catalogues (catalog/catalog-cache.ts).
 */
export class TenantReadCache<V> extends ReadThroughCache<string, V> implements ChangeListener {
  readonly #forgetOn: TenantChange;

  constructor(options: TenantReadCacheOptions<V>) {
    super(options);
    this.#forgetOn = options.forgetOn;
    if (options.listens !== false) listenForChanges(options.table, this);
  }

  changed(notice: ChangeNotice): void {
    const tenantId = (notice as Partial<Record<TenantChange, string>>)[this.#forgetOn];
    if (tenantId !== undefined) this.forget(tenantId);
  }
}
