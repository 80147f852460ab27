/**
 * The local edge's count of API requests per host and client address (the rule:
 * lib/edge/rate-limit.ts; a "host" below is that pair). The address is in the key so that no one can
 * spend another's budget: anyone may send any Host, and counted by the Host alone, an outsider with
 * no credential refused a tenant's own signed-in users for a window at the cost of 3,000 requests
 * (the third attack pass). A fixed
 * window: each host's count starts again when the window does (WAF's rate-based rule counts a
 * sliding window; a fixed one lets a host send up to twice the rule across a window's edge, and
 * never more). Hosts are whatever a client sends, so the table is bounded: past MAX_COUNTED_HOSTS
 * in one window, a host first seen after it is not counted until the window ends. (Sharing one
 * count among them instead let anyone who sprayed that many made-up hosts push every tenant first
 * seen after it into 429; uncounted, the worst such a spray buys is a window without a count for
 * hosts it did not reach first — and it costs far more requests than it lets through.) A Host that
 * is no host name (longer than DNS allows, or with characters no name has) is no tenant's: all such
 * share one count, NOT_A_HOST_NAME, so a key is never longer than a name. (Counted under their own
 * names, 100,000 Host headers of 16 KiB each, what Node takes in a head, held ~1.6 GB for a window.)
 */
import { isValidHost } from '../../functions/core/tenancy/hosts.ts';
import type { HostRateRule } from '../edge/rate-limit.ts';

/**
 * Distinct hosts (each with its client address) counted in one window (~9.5 MiB of heap when full:
 * bench/host-rate-limit.ts); hosts first seen after them are not counted.
 */
export const MAX_COUNTED_HOSTS = 100_000;

/** The one count of every Host that is no host name (the empty one too): no tenant is bound to one. */
export const NOT_A_HOST_NAME = '';

export class HostRateLimiter {
  readonly rule: HostRateRule;
  readonly #now: () => number;
  readonly #onFull: () => void;
  #window = -1;
  readonly #counts = new Map<string, number>();
  readonly #refused = new Set<string>();
  #full = false;

  /** `onFull` is called once in a window whose table fills up (worth one log line). */
  constructor(rule: HostRateRule, now: () => number = Date.now, onFull: () => void = () => undefined) {
    this.rule = rule;
    this.#now = now;
    this.#onFull = onFull;
  }

  /**
   * Counts one API request of `sent` (the Host) from `viewer` (the client's address): null when it
   * may go on, else the seconds until its window ends and whether this is the pair's first refusal
   * of the window (worth one log line).
   */
  take(
    sent: string,
    viewer: string,
  ): { readonly retryAfterSeconds: number; readonly firstRefusal: boolean } | null {
    // A space is in neither a host name nor an address; an address is at most 45 characters.
    const host = `${isValidHost(sent) ? sent : NOT_A_HOST_NAME} ${viewer.slice(0, 45)}`;
    const windowMs = this.rule.windowSeconds * 1000;
    const now = this.#now();
    const window = Math.floor(now / windowMs);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts.clear();
      this.#refused.clear();
      this.#full = false;
    }
    const used = this.#counts.get(host);
    if (used === undefined && this.#counts.size >= MAX_COUNTED_HOSTS) {
      if (!this.#full) this.#onFull();
      this.#full = true;
      return null;
    }
    if ((used ?? 0) < this.rule.requests) {
      this.#counts.set(host, (used ?? 0) + 1);
      return null;
    }
    const firstRefusal = !this.#refused.has(host);
    this.#refused.add(host);
    return {
      retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)),
      firstRefusal,
    };
  }
}
