/**
 * A small in-process cache, bounded by entries and (optionally) by an estimate of their size, least
 * recently used out first; each entry may carry a lifetime. One mechanism for what a warm Lambda
 * container or the local platform keeps: items that never change once written (script versions,
 * Skill revisions: no lifetime), and reads that may be a little stale (host bindings, tenant
 * contexts: a lifetime). A miss costs nothing.
 */
export interface BoundedCacheOptions<V> {
  readonly maxEntries: number;
  /** Bound on the sum of `sizeOf` over the entries. @default unbounded */
  readonly maxBytes?: number;
  readonly sizeOf?: (value: V) => number;
  readonly now?: () => number;
}

export class BoundedCache<K, V> {
  readonly #entries = new Map<K, { value: V; size: number; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  readonly #now: () => number;
  #bytes = 0;

  constructor(options: BoundedCacheOptions<V>) {
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#sizeOf = options.sizeOf ?? (() => 0);
    this.#now = options.now ?? Date.now;
  }

  /** The live entry for `key` (`found: false` when absent or expired). */
  lookup(key: K): { readonly found: true; readonly value: V } | { readonly found: false } {
    const entry = this.#entries.get(key);
    if (entry === undefined) return { found: false };
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#now()) {
      this.#bytes -= entry.size;
      return { found: false };
    }
    // Most recently used last: Map keeps insertion order.
    this.#entries.set(key, entry);
    return { found: true, value: entry.value };
  }

  get(key: K): V | undefined {
    const hit = this.lookup(key);
    return hit.found ? hit.value : undefined;
  }

  /** Keeps `value` for `ttlMs` (for good when omitted); a value larger than the whole bound is not kept. */
  set(key: K, value: V, ttlMs = Number.POSITIVE_INFINITY): void {
    this.delete(key);
    const size = this.#sizeOf(value);
    if (size > this.#maxBytes) return;
    this.#entries.set(key, { value, size, expiresAt: this.#now() + ttlMs });
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.size;
    }
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }

  /** Drops every entry `matches` picks (a scan of all entries: for rare invalidations). */
  deleteWhere(matches: (key: K, value: V) => boolean): void {
    for (const [key, entry] of this.#entries) {
      if (!matches(key, entry.value)) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.size;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }
}

export interface ReadThroughCacheOptions<V> {
  readonly maxEntries: number;
  readonly maxBytes?: number;
  /** An estimate of what a value holds, taken once when it is kept. */
  readonly sizeOf?: (value: V) => number;
  /** How long a value may be trusted from the moment its read began (a miss may be trusted less). */
  readonly lifetimeOf: (value: V) => number;
  readonly now?: () => number;
}

/**
 * A bounded cache of reads that may be a little stale, for as long as the reader accepts and never
 * longer than the value's lifetime, counted from the moment its read *began*. A forget voids what it
 * names at once and also every read already under way (the generation guard): such a read answers
 * its own caller but is not kept, so a write racing a read can never be undone by it.
 */
export class ReadThroughCache<K, V> {
  readonly #entries: BoundedCache<K, { readonly value: V; readonly readAt: number }>;
  readonly #lifetimeOf: (value: V) => number;
  readonly #now: () => number;
  #generation = 0;

  constructor(options: ReadThroughCacheOptions<V>) {
    const sizeOf = options.sizeOf ?? (() => 0);
    this.#lifetimeOf = options.lifetimeOf;
    this.#now = options.now ?? Date.now;
    this.#entries = new BoundedCache({
      maxEntries: options.maxEntries,
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      sizeOf: (entry) => sizeOf(entry.value),
      now: this.#now,
    });
  }

  /** The value of `key` as read at most `maxAgeMs` ago (and within its lifetime), else `load()`'s. */
  async read(key: K, maxAgeMs: number, load: () => Promise<V>): Promise<V> {
    const cached = this.#entries.get(key);
    if (
      cached !== undefined &&
      this.#now() - cached.readAt < Math.min(maxAgeMs, this.#lifetimeOf(cached.value))
    ) {
      return cached.value;
    }
    const generation = this.#generation;
    const readAt = this.#now();
    const value = await load();
    if (generation === this.#generation) {
      const ttl = this.#lifetimeOf(value) - (this.#now() - readAt);
      if (ttl > 0) this.#entries.set(key, { value, readAt }, ttl);
    }
    return value;
  }

  /** Forgets one key, or every key; a read under way when it is called is not kept. */
  forget(key?: K): void {
    this.#generation++;
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
