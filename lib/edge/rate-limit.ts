/**
 * The edge's request rate limit per host: every host is one tenant (or one console, one personal
 * space), so a tenant flooding its API cannot take the API stage's whole throttle (shared by every
 * tenant) for itself. It is counted per host and client address, so no one spends another's
 * budget (anyone may send any Host). The rule is counted at the edge, before any function runs: in
 * AWS by a WAFv2 rate-based rule on the CloudFront distribution, aggregated by the Host header and
 * the client's IP (lib/aws/host-rate-limit.ts); on one machine by the local edge (lib/local/host-rate-limit.ts), with the
 * same numbers. Only API paths count (`/api/…`, `/mcp`, the OAuth metadata); the static sites are
 * files a CDN caches. docs/decisions/host-rate-limit.md says why these numbers and this place.
 */
import { edgeProblem } from './problem.ts';

export interface HostRateRule {
  /** API requests one host may send in a window. */
  readonly requests: number;
  /** The window, in seconds (WAF evaluates 60, 120, 300 or 600). */
  readonly windowSeconds: 60 | 120 | 300 | 600;
}

/**
 * 3,000 API requests a minute per host and client address, 50 a second on average: twenty people
 * with a console open (it refreshes a run every second or two) and a busy CI together stay far below
 * it, and one client of a tenant takes at most a quarter of the API stage's default 200 a second.
 */
export const HOST_API_RATE: HostRateRule = { requests: 3000, windowSeconds: 60 };

/** What a refused request reads: the local edge knows when its window ends, WAF waits one window. */
export function rateLimitedProblem(rule: HostRateRule, retryAfterSeconds: number) {
  // `rate-limited`: the slug of the API's own rate limits (RateLimitedError).
  return edgeProblem(
    429,
    'rate-limited',
    'Too Many Requests',
    `More than ${rule.requests} API requests to this host from your address in ${rule.windowSeconds} seconds; try again in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}
