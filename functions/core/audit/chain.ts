/**
 * The audit chain of a domain: append-only, tamper-evident, and not a single hot item.
 *
 * Entries are written independently (one conditional put each, keyed by time plus randomness), each
 * carrying the hash of its own content. A sealer folds the entries written since the last seal, in
 * key order, into a seal that hashes their entry hashes plus the previous seal's hash; the head item
 * names the newest seal. Verification recomputes every entry hash, every seal and the head, so a
 * changed, inserted or removed entry or seal is reported.
 *
 * An entry is dated by the writer's clock as it writes, never by a time its caller chooses (a fact's
 * own time goes in its details). Only entries older than a settling window are sealed, so a write
 * still in flight with a slightly earlier timestamp is not skipped; an entry that lands behind the
 * sealed range anyway is reported by verification rather than silently dropped.
 *
 * This module holds the chain's rules (what is hashed, what a seal covers, what verification
 * reports); every read and write of the table is ./audit-repository.ts, which parses items at the
 * boundary.
 */
import { randomBytes } from 'node:crypto';
import type { AuditProblem, AuditVerification } from '../../contract/responses.ts';
import type { Table } from '../db.ts';
import { sha256 } from '../hashing.ts';
import { domainPk } from '../keys.ts';
import type { Page } from '../pagination.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import { AuditRepository, type ChainHead, type ChainSeal } from './audit-repository.ts';
import { ENTRY_PREFIX, RANGE_END } from './keys.ts';

/** Entries of a category also sit in a sparse GSI1 partition of their domain, listed on their own. */
const CATEGORY_PREFIXES = { security: 'security.' } as const;
export type AuditCategory = keyof typeof CATEGORY_PREFIXES;
export const AUDIT_CATEGORIES = Object.keys(CATEGORY_PREFIXES) as AuditCategory[];

function categoryOf(action: string): AuditCategory | undefined {
  return AUDIT_CATEGORIES.find((category) => action.startsWith(CATEGORY_PREFIXES[category]));
}

const GENESIS = '0'.repeat(64);

/** An entry's random id was taken already: nothing a genuine writer makes (64 random bits in the same millisecond). */
export class AuditEntryTakenError extends Error {
  constructor(id: string) {
    super(`Audit entry ${id} exists already`);
    this.name = 'AuditEntryTakenError';
  }
}

/** A keyed fact's claim kept moving under concurrent writers: nothing a retry of one delivery makes. */
export class AuditFactContendedError extends Error {
  constructor(key: string) {
    super(`The audit fact ${key} was claimed by several writers at once`);
    this.name = 'AuditFactContendedError';
  }
}

export interface AuditActor {
  readonly username: string;
  /** `session`, `personal-access-token`, `mcp-client`, or `system` for schedules and workers. */
  readonly via: string;
  /** The AI (MCP) client the user acted through, when `via` is `mcp-client`. */
  readonly client?: { readonly id: string; readonly name: string };
}

/** The audit actor of a caller: who, how, and through which AI client. */
export function actorOf(caller: {
  readonly username: string;
  readonly via: string;
  readonly client?: { readonly id: string; readonly name: string };
}): AuditActor {
  return {
    username: caller.username,
    via: caller.via,
    ...(caller.client === undefined ? {} : { client: { id: caller.client.id, name: caller.client.name } }),
  };
}

export const SYSTEM_ACTOR: AuditActor = { username: 'system', via: 'system' };

export interface AuditInput {
  readonly actor: AuditActor;
  /** Dotted verb, e.g. `auth.login.failed`, `role.updated`, `execution.succeeded`. */
  readonly action: string;
  /** What the action was about, e.g. `user:bob`, `execution:01H…`. */
  readonly target: string;
  /** Facts worth keeping; never secrets, passwords or credential values. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly requestId?: string;
}

export interface AuditEntry extends AuditInput {
  readonly id: string;
  readonly at: string;
  readonly hash: string;
}

export type { AuditProblem, AuditVerification };

/** Filters of a domain's audit trail, each served by an index or the key range (never a scan). */
export interface AuditFilter {
  /** One category of entries (e.g. `security`), read from its own index. */
  readonly category?: AuditCategory;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  /** Entries at or after this instant (ISO 8601). */
  readonly from?: string;
  /** Entries at or before this instant (ISO 8601). */
  readonly to?: string;
}

export interface AuditLogOptions {
  readonly table: Table;
  readonly now?: () => Date;
  /** Entries younger than this are left for the next seal. @default 2000 */
  readonly settleMs?: number;
}

/** JSON with sorted keys, so a hash does not depend on property order (`__proto__` is a key like any other). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // A number kept losslessly (functions/core/json.ts) is hashed as written.
  if (JSON.isRawJSON(value)) return value.rawJSON;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

function entryHash(entry: Omit<AuditEntry, 'hash'>, domain: string): string {
  return sha256(
    canonicalJson({
      domain,
      id: entry.id,
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: entry.details ?? {},
      requestId: entry.requestId ?? null,
    }),
  );
}

function sealHash(seal: Omit<ChainSeal, 'hash'>): string {
  return sha256(`${seal.seq}|${seal.prev}|${seal.fromSk}|${seal.toSk}|${seal.count}|${seal.entriesHash}`);
}

export class AuditLog {
  readonly #store: AuditRepository;
  readonly #now: () => Date;
  readonly #settleMs: number;

  constructor(options: AuditLogOptions) {
    this.#store = new AuditRepository(options.table);
    this.#now = options.now ?? (() => new Date());
    this.#settleMs = options.settleMs ?? 2000;
  }

  /**
   * Appends one entry. Independent of every other writer: no head item is touched. The entry is
   * dated, and so ordered in the chain, by this log's clock as it writes — never by a time the
   * caller chooses: a date in the past could fall inside a range already sealed, and the chain
   * would fail verification from then on. A fact that happened earlier (a script's call, a run's
   * start reported by its runtime) keeps its own time in `details`.
   *
   * With a `key`, the fact is recorded once however often it is recorded: the first writer claims
   * the key for its entry, and a later one answers that entry. A claim whose entry was never
   * written (its writer stopped in between) is moved to an entry written now, not filled in under
   * the earlier, older date.
   */
  async record(
    domain: DomainContext,
    input: AuditInput,
    options: { readonly key?: string } = {},
  ): Promise<AuditEntry> {
    const pk = domainPk(domain);
    const category = categoryOf(input.action);
    if (options.key !== undefined) return this.#recordOnce(domain, input, options.key, category);
    const entry = this.#entry(pk, input, randomBytes(8).toString('hex'));
    if (await this.#store.putEntry(domain, entry, category)) return entry;
    // Our own put, sent again by the SDK after its answer was lost, finds itself; anything else is not ours.
    if ((await this.#store.entry(pk, entry.id))?.hash === entry.hash) return entry;
    throw new AuditEntryTakenError(entry.id);
  }

  /** The entry of `input`, dated now, its id `<now>#<suffix>`. */
  #entry(pk: string, input: AuditInput, suffix: string): AuditEntry {
    const at = this.#now().toISOString();
    const base = { id: `${at}#${suffix}`, at, ...input, details: input.details ?? {} };
    return { ...base, hash: entryHash(base, pk) };
  }

  /** A keyed fact's entry: the one its claim names, or this one, written now (see `record`). */
  async #recordOnce(
    domain: DomainContext,
    input: AuditInput,
    key: string,
    category: AuditCategory | undefined,
  ): Promise<AuditEntry> {
    const pk = domainPk(domain);
    const keyHash = sha256(key);
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = this.#entry(pk, input, keyHash.slice(0, 16));
      const named = await this.#store.claimFact(pk, keyHash, entry.id);
      if (named !== entry.id) {
        const earlier = await this.#store.entry(pk, named);
        if (earlier !== undefined) return earlier;
        // Another writer moved the claim meanwhile: its entry is the fact's, read on the next attempt.
        if (!(await this.#store.moveFactClaim(pk, keyHash, named, entry.id))) continue;
      }
      // Refused only when this very entry is written already (our own put, sent again).
      await this.#store.putEntry(domain, entry, category);
      return entry;
    }
    throw new AuditFactContendedError(key);
  }

  /**
   * Newest first (or oldest first for an export), narrowed by `filter`: one filter picks the index
   * (category, then target, then actor, then action; none: the chain's key range), the dates are a
   * key range, and the other filters narrow each page.
   */
  list(
    domain: DomainContext,
    limit: number,
    cursor?: string,
    filter: AuditFilter = {},
    order: 'newest' | 'oldest' = 'newest',
  ): Promise<Page<AuditEntry>> {
    return this.#store.page(domain, { filter, limit, order, ...(cursor === undefined ? {} : { cursor }) });
  }

  /**
   * Seals every settled entry written since the last seal. Safe to run concurrently and to retry:
   * a seal is written only if its sequence number is free, and the head only moves forward.
   * Returns the number of entries sealed.
   */
  async seal(domain: DomainContext): Promise<number> {
    const pk = domainPk(domain);
    const head = await this.#repairHead(pk);
    // A head not shaped like one is tampering: nothing is sealed onto it (verification reports it).
    if (head === 'altered') return 0;
    const cutoff = `${ENTRY_PREFIX}${new Date(this.#now().getTime() - this.#settleMs).toISOString()}`;
    const from = head?.toSk ?? ENTRY_PREFIX;
    // A sealer whose clock runs behind the one that wrote the head has nothing settled to add.
    if (cutoff <= from) return 0;
    const hashes: string[] = [];
    let first: string | undefined;
    let last: string | undefined;
    for await (const { sk, entry } of this.#store.entries(pk, from, cutoff)) {
      first ??= sk;
      last = sk;
      hashes.push(entry.hash);
    }
    if (first === undefined || last === undefined) return 0;
    const seq = (head?.seq ?? 0) + 1;
    const body = {
      seq,
      prev: head?.hash ?? GENESIS,
      fromSk: first,
      toSk: last,
      count: hashes.length,
      entriesHash: sha256(hashes.join('\n')),
    };
    const seal: ChainSeal = { ...body, hash: sealHash(body) };
    // Another sealer won this sequence number.
    if (!(await this.#store.putSeal(pk, seal))) return 0;
    await this.#store.advanceHead(pk, seal);
    return seal.count;
  }

  /** Recomputes the whole chain of a domain. */
  async verify(domain: DomainContext): Promise<AuditVerification> {
    const pk = domainPk(domain);
    const problems: AuditProblem[] = [];
    let prev = GENESIS;
    let lastSk = ENTRY_PREFIX;
    let expectedSeq = 1;
    let sealedEntries = 0;
    let seals = 0;
    for await (const { sk, seal } of this.#store.seals(pk)) {
      seals++;
      if (seal === null) {
        problems.push({ kind: 'seal-altered', detail: `seal item ${sk} is not a seal` });
        expectedSeq++;
        continue;
      }
      if (seal.seq !== expectedSeq) {
        problems.push({ kind: 'seal-missing', detail: `expected seal ${expectedSeq}, found ${seal.seq}` });
      }
      expectedSeq = seal.seq + 1;
      const { hash, ...body } = seal;
      if (sealHash(body) !== hash || seal.prev !== prev) {
        problems.push({ kind: 'seal-altered', detail: `seal ${seal.seq} does not chain to its predecessor` });
      }
      if (seal.toSk < lastSk) {
        problems.push({ kind: 'seal-altered', detail: `seal ${seal.seq} ends before its predecessor` });
      }
      const hashes: string[] = [];
      for await (const { entry } of this.#store.entries(pk, lastSk, seal.toSk, { inclusive: true })) {
        const { hash: stored, ...content } = entry;
        if (entryHash(content, pk) !== stored) {
          problems.push({ kind: 'entry-altered', detail: `entry ${entry.id} does not match its hash` });
        }
        hashes.push(stored);
      }
      if (hashes.length !== seal.count || sha256(hashes.join('\n')) !== seal.entriesHash) {
        problems.push({
          kind: 'entries-altered',
          detail: `seal ${seal.seq} covers ${seal.count} entries; ${hashes.length} found, or their hashes differ`,
        });
      }
      sealedEntries += hashes.length;
      prev = hash;
      if (seal.toSk > lastSk) lastSk = seal.toSk;
    }
    const head = await this.#store.head(pk);
    if (head === 'altered' || (head?.hash ?? GENESIS) !== prev || (head?.seq ?? 0) !== expectedSeq - 1) {
      problems.push({ kind: 'head-mismatch', detail: 'the chain head does not name the newest seal' });
    }
    let unsealedEntries = 0;
    for await (const { entry } of this.#store.entries(pk, lastSk, `${ENTRY_PREFIX}${RANGE_END}`)) {
      const { hash: stored, ...content } = entry;
      if (entryHash(content, pk) !== stored) {
        problems.push({ kind: 'entry-altered', detail: `entry ${entry.id} does not match its hash` });
      }
      unsealedEntries++;
    }
    return { valid: problems.length === 0, seals, sealedEntries, unsealedEntries, head: prev, problems };
  }

  /**
   * The head, moved forward past any seal a crashed sealer wrote but did not record. A next seal not
   * shaped like one is not followed: the head never names what is not a seal.
   */
  async #repairHead(pk: string): Promise<ChainSeal | ChainHead | 'altered' | undefined> {
    let head: ChainSeal | ChainHead | 'altered' | undefined = await this.#store.head(pk);
    while (head !== 'altered') {
      const next = await this.#store.seal(pk, (head?.seq ?? 0) + 1);
      if (next === undefined || next === null) return head;
      await this.#store.advanceHead(pk, next);
      head = next;
    }
    return head;
  }
}
