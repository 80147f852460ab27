/**
 * The audit chain of a domain: append-only, tamper-evident, and not a single hot item.
 *
 * Entries are written independently (one conditional put each, keyed by time plus randomness), each
 * carrying the hash of its own content. A sealer folds the entries written since the last seal, in
 * key order, into a seal that hashes their entry hashes plus the previous seal's hash; the head item
 * names the newest seal. Verification recomputes every entry hash, every seal and the head, so a
 * changed, inserted or removed entry or seal is reported.
 *
 * Only entries older than a settling window are sealed, so a write still in flight with a slightly
 * earlier timestamp is not skipped; an entry that lands behind the sealed range anyway is reported
 * by verification rather than silently dropped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditProblem, AuditVerification } from '../../contract/responses.ts';
import { isConditionFailure, type Table } from '../db.ts';
import { auditByAction, auditByActor, auditByTarget, domainPk, FILTER_INDEXES, type Key } from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';
import type { DomainContext } from '../tenancy/domain.ts';

const ENTRY = 'AUDIT#';
/** Entries of a category also sit in a sparse GSI1 partition of their domain, listed on their own. */
const CATEGORY_PREFIXES = { security: 'security.' } as const;
export type AuditCategory = keyof typeof CATEGORY_PREFIXES;
export const AUDIT_CATEGORIES = Object.keys(CATEGORY_PREFIXES) as AuditCategory[];

function categoryPartition(pk: string, category: AuditCategory): string {
  return `${pk}#AUDIT#${category}`;
}

function categoryOf(action: string): AuditCategory | undefined {
  return AUDIT_CATEGORIES.find((category) => action.startsWith(CATEGORY_PREFIXES[category]));
}
const SEAL = 'SEAL#';
const HEAD_SK = 'AUDITHEAD';
const GENESIS = '0'.repeat(64);

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

interface SealItem {
  readonly seq: number;
  readonly prev: string;
  readonly fromSk: string;
  readonly toSk: string;
  readonly count: number;
  readonly entriesHash: string;
  readonly hash: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
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

function sealHash(seal: Omit<SealItem, 'hash'>): string {
  return sha256(`${seal.seq}|${seal.prev}|${seal.fromSk}|${seal.toSk}|${seal.count}|${seal.entriesHash}`);
}

function sealSk(seq: number): string {
  return `${SEAL}${String(seq).padStart(12, '0')}`;
}

/** A seal as stored, or null when the item is not shaped like one (it was tampered with). */
function sealFromItem(item: Record<string, unknown>): SealItem | null {
  const { seq, prev, fromSk, toSk, count, entriesHash, hash } = item;
  if (
    typeof seq !== 'number' ||
    typeof prev !== 'string' ||
    typeof fromSk !== 'string' ||
    typeof toSk !== 'string' ||
    typeof count !== 'number' ||
    typeof entriesHash !== 'string' ||
    typeof hash !== 'string' ||
    !toSk.startsWith(ENTRY)
  ) {
    return null;
  }
  return { seq, prev, fromSk, toSk, count, entriesHash, hash };
}

function toEntry(item: Record<string, unknown>): AuditEntry {
  return {
    id: String(item.id),
    at: String(item.at),
    actor: item.actor as AuditActor,
    action: String(item.action),
    target: String(item.target),
    details: (item.details as Record<string, unknown> | undefined) ?? {},
    ...(typeof item.requestId === 'string' ? { requestId: item.requestId } : {}),
    hash: String(item.hash),
  };
}

export class AuditLog {
  readonly #table: Table;
  readonly #now: () => Date;
  readonly #settleMs: number;

  constructor(options: AuditLogOptions) {
    this.#table = options.table;
    this.#now = options.now ?? (() => new Date());
    this.#settleMs = options.settleMs ?? 2000;
  }

  /**
   * Appends one entry. Independent of every other writer: no head item is touched. With a `key`
   * (and the time of the fact it records), the entry's id is deterministic and a retry that writes
   * the same fact again is a no-op.
   */
  async record(
    domain: DomainContext,
    input: AuditInput,
    options: { readonly at?: string; readonly key?: string } = {},
  ): Promise<AuditEntry> {
    const at = options.at ?? this.#now().toISOString();
    const suffix =
      options.key === undefined ? randomBytes(8).toString('hex') : sha256(options.key).slice(0, 16);
    const id = `${at}#${suffix}`;
    const pk = domainPk(domain);
    const base = { id, at, ...input, details: input.details ?? {} };
    const entry: AuditEntry = { ...base, hash: entryHash(base, pk) };
    const category = categoryOf(input.action);
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: {
            PK: pk,
            SK: `${ENTRY}${id}`,
            type: 'AUDIT',
            ...entry,
            // Filter indexes (not part of the hashed content): by actor, target and action.
            GSI3PK: auditByActor(domain, entry.actor.username),
            GSI3SK: `${ENTRY}${id}`,
            GSI4PK: auditByTarget(domain, entry.target),
            GSI4SK: `${ENTRY}${id}`,
            GSI5PK: auditByAction(domain, entry.action),
            GSI5SK: `${ENTRY}${id}`,
            ...(category === undefined
              ? {}
              : { GSI1PK: categoryPartition(pk, category), GSI1SK: `${ENTRY}${id}` }),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (options.key === undefined || !isConditionFailure(error)) throw error;
    }
    return entry;
  }

  /**
   * Newest first (or oldest first for an export), narrowed by `filter`: one filter picks the index
   * (category, then target, then actor, then action; none: the chain's key range), the dates are a
   * key range, and the other filters narrow each page.
   */
  async list(
    domain: DomainContext,
    limit: number,
    cursor?: string,
    filter: AuditFilter = {},
    order: 'newest' | 'oldest' = 'newest',
  ): Promise<Page<AuditEntry>> {
    const lower = `${ENTRY}${filter.from ?? ''}`;
    const upper = `${ENTRY}${filter.to ?? ''}~`;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const narrow: string[] = [];
    const also = (path: string, name: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      narrow.push(`${path.replace(name, `#${name}`)} = :${name}`);
    };
    let index: { name?: string; pk: string; pkName: string; skName: string };
    if (filter.category !== undefined) {
      // A category's entries sit in their own sparse partition: read there, narrowed by the rest.
      index = {
        name: 'GSI1',
        pk: categoryPartition(domainPk(domain), filter.category),
        pkName: 'GSI1PK',
        skName: 'GSI1SK',
      };
      also('action', 'action', filter.action);
      also('target', 'target', filter.target);
      if (filter.actor !== undefined) {
        names['#actor'] = 'actor';
        names['#username'] = 'username';
        values[':actor'] = filter.actor;
        narrow.push('#actor.#username = :actor');
      }
    } else if (filter.target !== undefined) {
      index = {
        name: FILTER_INDEXES.auditTarget,
        pk: auditByTarget(domain, filter.target),
        pkName: 'GSI4PK',
        skName: 'GSI4SK',
      };
      also('action', 'action', filter.action);
      if (filter.actor !== undefined) {
        names['#actor'] = 'actor';
        names['#username'] = 'username';
        values[':actor'] = filter.actor;
        narrow.push('#actor.#username = :actor');
      }
    } else if (filter.actor !== undefined) {
      index = {
        name: FILTER_INDEXES.auditActor,
        pk: auditByActor(domain, filter.actor),
        pkName: 'GSI3PK',
        skName: 'GSI3SK',
      };
      also('action', 'action', filter.action);
    } else if (filter.action !== undefined) {
      index = {
        name: FILTER_INDEXES.auditAction,
        pk: auditByAction(domain, filter.action),
        pkName: 'GSI5PK',
        skName: 'GSI5SK',
      };
    } else {
      index = { pk: domainPk(domain), pkName: 'PK', skName: 'SK' };
    }
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        ...(index.name === undefined ? {} : { IndexName: index.name }),
        KeyConditionExpression: `${index.pkName} = :pk AND ${index.skName} BETWEEN :lower AND :upper`,
        ...(narrow.length > 0
          ? { FilterExpression: narrow.join(' AND '), ExpressionAttributeNames: names }
          : {}),
        ExpressionAttributeValues: { ...values, ':pk': index.pk, ':lower': lower, ':upper': upper },
        ScanIndexForward: order === 'oldest',
        Limit: limit,
        ...(cursor === undefined
          ? {}
          : { ExclusiveStartKey: decodeCursor(cursor, { [index.pkName]: index.pk }) }),
      }),
    );
    const items = (result.Items ?? []).map(toEntry);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /**
   * Seals every settled entry written since the last seal. Safe to run concurrently and to retry:
   * a seal is written only if its sequence number is free, and the head only moves forward.
   * Returns the number of entries sealed.
   */
  async seal(domain: DomainContext): Promise<number> {
    const pk = domainPk(domain);
    const head = await this.#repairHead(pk);
    const cutoff = `${ENTRY}${new Date(this.#now().getTime() - this.#settleMs).toISOString()}`;
    const from = head?.toSk ?? ENTRY;
    // A sealer whose clock runs behind the one that wrote the head has nothing settled to add.
    if (cutoff <= from) return 0;
    const hashes: string[] = [];
    let first: string | undefined;
    let last: string | undefined;
    for await (const item of this.#entries(pk, from, cutoff)) {
      first ??= String(item.SK);
      last = String(item.SK);
      hashes.push(String(item.hash));
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
    const seal: SealItem = { ...body, hash: sealHash(body) };
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: { PK: pk, SK: sealSk(seq), type: 'AUDITSEAL', ...seal },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return 0; // another sealer won this sequence number
      throw error;
    }
    await this.#advanceHead(pk, seal);
    return seal.count;
  }

  /** Recomputes the whole chain of a domain. */
  async verify(domain: DomainContext): Promise<AuditVerification> {
    const pk = domainPk(domain);
    const problems: AuditProblem[] = [];
    let prev = GENESIS;
    let lastSk = ENTRY;
    let expectedSeq = 1;
    let sealedEntries = 0;
    let seals = 0;
    for await (const item of this.#query(pk, SEAL, `${SEAL}~`)) {
      const seal = sealFromItem(item);
      seals++;
      if (seal === null) {
        problems.push({ kind: 'seal-altered', detail: `seal item ${String(item.SK)} is not a seal` });
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
      for await (const entryItem of this.#entries(pk, lastSk, seal.toSk, true)) {
        const entry = toEntry(entryItem);
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
    const head = await this.#head(pk);
    if ((head?.hash ?? GENESIS) !== prev || (head?.seq ?? 0) !== expectedSeq - 1) {
      problems.push({ kind: 'head-mismatch', detail: 'the chain head does not name the newest seal' });
    }
    let unsealedEntries = 0;
    for await (const entryItem of this.#entries(pk, lastSk, `${ENTRY}~`)) {
      const entry = toEntry(entryItem);
      const { hash: stored, ...content } = entry;
      if (entryHash(content, pk) !== stored) {
        problems.push({ kind: 'entry-altered', detail: `entry ${entry.id} does not match its hash` });
      }
      unsealedEntries++;
    }
    return { valid: problems.length === 0, seals, sealedEntries, unsealedEntries, head: prev, problems };
  }

  async #head(pk: string): Promise<SealItem | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: { PK: pk, SK: HEAD_SK }, ConsistentRead: true }),
    );
    return result.Item as SealItem | undefined;
  }

  /** The head, moved forward past any seal a crashed sealer wrote but did not record. */
  async #repairHead(pk: string): Promise<SealItem | undefined> {
    let head = await this.#head(pk);
    for (;;) {
      const next = await this.#table.client.send(
        new GetCommand({
          TableName: this.#table.name,
          Key: { PK: pk, SK: sealSk((head?.seq ?? 0) + 1) },
          ConsistentRead: true,
        }),
      );
      if (next.Item === undefined) return head;
      const seal = next.Item as SealItem;
      await this.#advanceHead(pk, seal);
      head = seal;
    }
  }

  async #advanceHead(pk: string, seal: SealItem): Promise<void> {
    const key: Key = { PK: pk, SK: HEAD_SK };
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: key,
          UpdateExpression: 'SET seq = :seq, #hash = :hash, toSk = :toSk, prev = :prev',
          ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: {
            ':seq': seal.seq,
            ':hash': seal.hash,
            ':toSk': seal.toSk,
            ':prev': seal.prev,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Entries with `after < SK <= until` (or `< until` when not inclusive), in key order. */
  async *#entries(pk: string, after: string, until: string, inclusive = false) {
    for await (const item of this.#query(pk, after, until)) {
      const sk = String(item.SK);
      if (!sk.startsWith(ENTRY) || sk === after) continue;
      if (inclusive ? sk > until : sk >= until) return;
      yield item;
    }
  }

  async *#query(pk: string, from: string, until: string) {
    // An empty range (e.g. from a rewritten seal): DynamoDB refuses BETWEEN with bounds reversed.
    if (until < from) return;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#table.client.send(
        new QueryCommand({
          TableName: this.#table.name,
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :until',
          ExpressionAttributeValues: { ':pk': pk, ':from': from, ':until': until },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) yield item;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
}
