/**
 * The local edge's count of API requests per host (the rule: lib/edge/rate-limit.ts). A fixed
 * window: each host's count starts again when the window does (WAF's rate-based rule counts a
 * sliding window; a fixed one lets a host send up to twice the rule across a window's edge, and
 * never more). Hosts are whatever a client sends, so the table is bounded: past MAX_COUNTED_HOSTS
 * in one window, every further host shares one count.
 */
import type { HostRateRule } from '../edge/rate-limit.ts';

/** Distinct hosts counted in one window; later hosts of that window share one count. */
export const MAX_COUNTED_HOSTS = 10_000;
const SHARED = '';

export class HostRateLimiter {
  readonly rule: HostRateRule;
  readonly #now: () => number;
  #window = -1;
  readonly #counts = new Map<string, number>();
  readonly #refused = new Set<string>();

  constructor(rule: HostRateRule, now: () => number = Date.now) {
    this.rule = rule;
    this.#now = now;
  }

  /**
   * Counts one API request of `host`: null when it may go on, else the seconds until its window
   * ends and whether this is the host's first refusal of the window (worth one log line).
   */
  take(host: string): { readonly retryAfterSeconds: number; readonly firstRefusal: boolean } | null {
    const windowMs = this.rule.windowSeconds * 1000;
    const now = this.#now();
    const window = Math.floor(now / windowMs);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts.clear();
      this.#refused.clear();
    }
    const key = this.#counts.has(host) || this.#counts.size < MAX_COUNTED_HOSTS ? host : SHARED;
    const used = this.#counts.get(key) ?? 0;
    if (used < this.rule.requests) {
      this.#counts.set(key, used + 1);
      return null;
    }
    const firstRefusal = !this.#refused.has(key);
    this.#refused.add(key);
    return {
      retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)),
      firstRefusal,
    };
  }
}
