/**
 * Security events: what the platform refused because someone tried what they may not — a
 * privileged request without the permission, a forged, tampered or expired token, an internal
 * message that failed verification — recorded in the audit chain of the domain it concerns, so a
 * tenant admin sees attacks on their domain and super-admins see the platform's.
 *
 * Stable API (the HTTP pipeline calls it; the results recorder and the executors call it for the
 * internal messages they refuse):
 *
 *   await core.securityEvents.record(domain, { kind, source, detail })
 *
 * - `domain`: `'public'` or a DomainContext (a tenant's, or the public one).
 * - `kind`: one of SECURITY_EVENT_KINDS — `privileged-request-refused`, `token-refused`,
 *   `internal-message-refused`.
 * - `source`: who or where it came from, the rate-limit key: a client IP, a username, a queue name
 *   (at most 200 characters are kept).
 * - `detail`: a few facts (method, path, permission, reason, message id…): strings are cut to 200
 *   characters, at most 12 members; never a token, password, signature or message body.
 * - Resolves `'recorded'` or `'suppressed'`. It throws only when the store fails; the caller
 *   decides what then (the pipeline logs it and still answers the refusal).
 *
 * Flood control: at most MAX_EVENTS_PER_WINDOW entries per domain and source per window of
 * WINDOW_SECONDS; the rest are counted on one small item per window, not written to the chain, and
 * once the window is over a single `security.suppressed` entry says how many there were. Entries
 * carry the action `security.<kind>` and sit in a sparse index per domain, so the console lists
 * them without reading the rest of the chain (`AuditLog.list(..., { category: 'security' })`).
 */
import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { PUBLIC_DOMAIN } from '../governance/keys.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import { type SecurityWindow, SecurityWindowRepository } from './window-repository.ts';

export const SECURITY_EVENT_KINDS = [
  'privileged-request-refused',
  'token-refused',
  'internal-message-refused',
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEvent {
  readonly kind: SecurityEventKind;
  readonly source: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Entries written per domain and source in one window; further events are only counted. */
export const MAX_EVENTS_PER_WINDOW = 20;
/** Length of a rate-limit window. */
export const WINDOW_SECONDS = 300;
/** Ended windows summarised per flush. */
const FLUSH_BATCH = 25;
/** A process looks for ended windows to summarise at most this often (besides explicit flushes). */
const FLUSH_EVERY_MS = 10_000;
const MAX_TEXT = 200;
const MAX_DETAIL_MEMBERS = 12;
/** The action prefix of security entries in the audit chain. */
export const SECURITY_ACTION_PREFIX = 'security.';

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** Facts safe to keep: scalars (strings cut), at most a dozen, nothing nested. */
function cleanDetail(detail: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail ?? {}).slice(0, MAX_DETAIL_MEMBERS)) {
    if (typeof value === 'string') clean[cut(key)] = cut(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null)
      clean[cut(key)] = value;
  }
  return clean;
}

export interface SecurityEventsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly now?: () => Date;
  /** @default MAX_EVENTS_PER_WINDOW */
  readonly maxPerWindow?: number;
  /** @default WINDOW_SECONDS */
  readonly windowSeconds?: number;
}

export class SecurityEvents {
  readonly #windows: SecurityWindowRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  readonly #max: number;
  readonly #windowMs: number;
  #lastFlush = 0;

  constructor(options: SecurityEventsOptions) {
    this.#windows = new SecurityWindowRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
    this.#max = options.maxPerWindow ?? MAX_EVENTS_PER_WINDOW;
    this.#windowMs = (options.windowSeconds ?? WINDOW_SECONDS) * 1000;
  }

  /** Records one refused attempt (see the module header). */
  async record(domain: 'public' | DomainContext, event: SecurityEvent): Promise<'recorded' | 'suppressed'> {
    const context: DomainContext = domain === 'public' ? PUBLIC_DOMAIN : domain;
    const source = cut(String(event.source || 'unknown'));
    const now = this.#now();
    const windowStart = Math.floor(now.getTime() / this.#windowMs) * this.#windowMs;
    const window: SecurityWindow = {
      domain: context,
      sourceHash: createHash('sha256').update(source, 'utf8').digest('hex').slice(0, 32),
      source,
      start: new Date(windowStart).toISOString(),
      end: new Date(windowStart + this.#windowMs).toISOString(),
      expiresAtEpoch: Math.floor((windowStart + this.#windowMs) / 1000) + 7 * 24 * 3600,
    };
    const count = await this.#windows.count(window);
    let outcome: 'recorded' | 'suppressed' = 'suppressed';
    if (count <= this.#max) {
      await this.#audit.record(context, {
        actor: {
          username: typeof event.detail?.username === 'string' ? cut(event.detail.username) : 'anonymous',
          via: 'security',
        },
        action: `${SECURITY_ACTION_PREFIX}${event.kind}`,
        target: `source:${source}`,
        details: { kind: event.kind, source, ...cleanDetail(event.detail) },
      });
      outcome = 'recorded';
    } else if (count === this.#max + 1) {
      // The first suppressed event: the window now owes a summary once it is over.
      await this.#windows.owesSummary(window, event.kind);
    }
    if (now.getTime() - this.#lastFlush >= FLUSH_EVERY_MS) await this.flush(context);
    return outcome;
  }

  /**
   * Writes the `security.suppressed` summary of every window of a domain that is over and suppressed
   * events, each once: a window is claimed (removed from the pending index, conditionally) before its
   * summary is written. Called by `record` now and then and before the domain's audit is listed.
   * Returns the number of summaries written.
   */
  async flush(domain: 'public' | DomainContext): Promise<number> {
    const context: DomainContext = domain === 'public' ? PUBLIC_DOMAIN : domain;
    const now = this.#now();
    this.#lastFlush = now.getTime();
    let written = 0;
    for (const key of await this.#windows.due(context, now.toISOString(), FLUSH_BATCH)) {
      const claimed = await this.#windows.claimSummary(context, key);
      if (claimed === null) continue; // another process summarises it
      const { count: total, source, kind, windowEnd } = claimed;
      await this.#audit.record(context, {
        actor: { username: 'system', via: 'security' },
        action: `${SECURITY_ACTION_PREFIX}suppressed`,
        target: `source:${source}`,
        details: {
          kind,
          source,
          suppressed: Math.max(0, total - this.#max),
          recorded: Math.min(total, this.#max),
          windowStart: new Date(Date.parse(windowEnd) - this.#windowMs).toISOString(),
          windowEnd,
        },
      });
      written++;
    }
    return written;
  }
}
