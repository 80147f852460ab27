/**
 * What this process recently learnt about a session: that it was good, and whose it is. A request
 * signed in by a session found here skips the session and user read; every other check (signature,
 * domain, host, expiry, the user's roles resolved to permissions) still runs on every request.
 *
 * Built so that a stale entry can never do more than the bound written in
 * docs/decisions/session-cache.md:
 * - keyed by a SHA-256 of the domain, host and token (never the token itself), and consulted only
 *   after the token's signature, domain, host and expiry are checked, so a cached session of one
 *   host cannot sign in on another;
 * - an entry lives `ttlMs` at most (seconds), and never past the session's own end;
 * - bounded in entries (least recently used out first);
 * - only good sessions are kept (a refusal is never cached), and only their user's name, roles and
 *   super-admin marker (no password hash);
 * - forgetting (sign-out, a user changed) is immediate in this process, and a read that began before
 *   a forget is not kept (`generation`), so a sign-out racing a request cannot be undone by it.
 */
import { createHash } from 'node:crypto';
import { BoundedCache } from '../cache.ts';

/** What a good session allows a request to know without reading the store. */
export interface CachedSession {
  /** The domain's partition (`domainPk`). */
  readonly domain: string;
  readonly host: string;
  readonly sid: string;
  readonly username: string;
  readonly roles: readonly string[];
  /** The user's explicit super-admin marker (the configured list is checked per request). */
  readonly superAdmin: boolean;
}

export interface SessionCacheOptions {
  /** Longest an entry is trusted; 0 turns the cache off. @default 5000 */
  readonly ttlMs?: number;
  /** Most sessions kept per process. @default 10_000 */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export const DEFAULT_SESSION_CACHE_MS = 5_000;
export const DEFAULT_SESSION_CACHE_ENTRIES = 10_000;

export class SessionCache {
  readonly #entries: BoundedCache<string, CachedSession>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #generation = 0;

  constructor(options: SessionCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_CACHE_MS;
    this.#now = options.now ?? Date.now;
    this.#entries = new BoundedCache({
      maxEntries: options.maxEntries ?? DEFAULT_SESSION_CACHE_ENTRIES,
      now: this.#now,
    });
  }

  /** The cache key of a token presented to a domain and host: a hash, so no token is kept. */
  static keyOf(domain: string, host: string, token: string): string {
    return createHash('sha256').update(`${domain}\n${host}\n${token}`, 'utf8').digest('base64url');
  }

  /** Changes on every forget: a read begun under an older generation is not kept. */
  get generation(): number {
    return this.#generation;
  }

  lookup(key: string): CachedSession | undefined {
    return this.#entries.get(key);
  }

  /**
   * Keeps a good session for the TTL, or until `endsAtMs` (the session's end) if sooner — unless
   * something was forgotten since `generation` was read.
   */
  remember(key: string, session: CachedSession, endsAtMs: number, generation: number): void {
    if (this.#ttlMs <= 0 || generation !== this.#generation) return;
    const ttl = Math.min(this.#ttlMs, endsAtMs - this.#now());
    if (ttl <= 0) return;
    this.#entries.set(key, session, ttl);
  }

  /** Forgets one session (signed out). */
  forgetSession(domain: string, sid: string): void {
    this.#generation++;
    this.#entries.deleteWhere((_key, entry) => entry.domain === domain && entry.sid === sid);
  }

  /** Forgets every session of a user (disabled, re-passworded, re-roled, signed out everywhere). */
  forgetUser(domain: string, username: string): void {
    this.#generation++;
    this.#entries.deleteWhere((_key, entry) => entry.domain === domain && entry.username === username);
  }

  get size(): number {
    return this.#entries.size;
  }
}
