/**
 * Where a domain's audit chain is stored (./keys.ts): its entries, its seals, its head and the claims
 * of keyed facts. Every
 * DynamoDB call of the chain is here, and items are parsed at this boundary — a seal or a head not
 * shaped like one is reported as such (`null`, `'altered'`), never cast, since the chain is
 * tamper-evidence and whoever reaches the table may have rewritten any item. Each write is one
 * conditional request whose refusal is an answer: an entry or a seal whose key is taken, a head at
 * or past the seal offered. What is hashed, sealed and verified stays in chain.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll, type Table } from '../db.ts';
import { storedJson, stringifyJson } from '../json.ts';
import {
  auditByAction,
  auditByActor,
  auditByTarget,
  domainPk,
  FILTER_INDEXES,
  ITEM_TYPE,
  indexKeyNames,
} from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { type PagedQuery, queryPageOf } from '../store/paged-query.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import type { AuditActor, AuditCategory, AuditEntry, AuditFilter } from './chain.ts';
import {
  CATEGORY_INDEX,
  categoryPartition,
  ENTRY_PREFIX,
  entrySk,
  factClaimKey,
  headKey,
  RANGE_END,
  SEAL_PREFIX,
  sealSk,
} from './keys.ts';

/** A seal as stored: the range of entries it covers, their hash, and the chain link. */
export interface ChainSeal {
  readonly seq: number;
  readonly prev: string;
  readonly fromSk: string;
  readonly toSk: string;
  readonly count: number;
  readonly entriesHash: string;
  readonly hash: string;
}

/** The head as stored: the newest seal it names. */
export type ChainHead = Pick<ChainSeal, 'seq' | 'hash' | 'toSk' | 'prev'>;

/** An entry with the sort key it is stored under. */
export interface StoredEntry {
  readonly sk: string;
  readonly entry: AuditEntry;
}

const BY_ACTOR = indexKeyNames(FILTER_INDEXES.auditActor);
const BY_TARGET = indexKeyNames(FILTER_INDEXES.auditTarget);
const BY_ACTION = indexKeyNames(FILTER_INDEXES.auditAction);
const BY_CATEGORY = indexKeyNames(CATEGORY_INDEX);

/** A seal, or null when the item is not shaped like one (it was tampered with). */
function sealFromItem(item: Record<string, unknown>): ChainSeal | null {
  const { seq, prev, fromSk, toSk, count, entriesHash, hash } = item;
  if (
    typeof seq !== 'number' ||
    typeof prev !== 'string' ||
    typeof fromSk !== 'string' ||
    typeof toSk !== 'string' ||
    typeof count !== 'number' ||
    typeof entriesHash !== 'string' ||
    typeof hash !== 'string' ||
    !toSk.startsWith(ENTRY_PREFIX)
  ) {
    return null;
  }
  return { seq, prev, fromSk, toSk, count, entriesHash, hash };
}

/** The head, or `'altered'` when the item is not shaped like one. */
function headFromItem(item: Record<string, unknown>): ChainHead | 'altered' {
  const { seq, hash, toSk, prev } = item;
  if (
    typeof seq !== 'number' ||
    typeof hash !== 'string' ||
    typeof toSk !== 'string' ||
    typeof prev !== 'string'
  ) {
    return 'altered';
  }
  return { seq, hash, toSk, prev };
}

function entryFromItem(item: Record<string, unknown>): AuditEntry {
  return {
    id: String(item.id),
    at: String(item.at),
    actor: item.actor as AuditActor,
    action: String(item.action),
    target: String(item.target),
    details: (storedJson(item.detailsJson, item.details) ?? {}) as Record<string, unknown>,
    ...(typeof item.requestId === 'string' ? { requestId: item.requestId } : {}),
    hash: String(item.hash),
  };
}

/** A page of a domain's entries: where it reads and how it is narrowed. */
export interface EntryListing {
  readonly filter: AuditFilter;
  readonly limit: number;
  readonly cursor?: string;
  readonly order: 'newest' | 'oldest';
}

export class AuditRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /**
   * Writes an entry (in its category's partition too, when it has one); false when an entry with its
   * id exists already.
   */
  putEntry(domain: DomainContext, entry: AuditEntry, category: AuditCategory | undefined): Promise<boolean> {
    const pk = domainPk(domain);
    const sk = entrySk(entry.id);
    const { details, ...rest } = entry;
    return putItem(this.#table, {
      Item: {
        PK: pk,
        SK: sk,
        type: ITEM_TYPE.auditEntry,
        ...rest,
        // As JSON text: details carry what tenants wrote (a Skill's request templates, a schedule's
        // input), and a marshaller takes a map with a `constructor` key for a class instance.
        // Entries written before carry a map, read as it is; the hash is of the value either way.
        detailsJson: stringifyJson(details),
        // Filter indexes (not part of the hashed content): by actor, target and action.
        [BY_ACTOR.pk]: auditByActor(domain, entry.actor.username),
        [BY_ACTOR.sk]: sk,
        [BY_TARGET.pk]: auditByTarget(domain, entry.target),
        [BY_TARGET.sk]: sk,
        [BY_ACTION.pk]: auditByAction(domain, entry.action),
        [BY_ACTION.sk]: sk,
        ...(category === undefined
          ? {}
          : { [BY_CATEGORY.pk]: categoryPartition(pk, category), [BY_CATEGORY.sk]: sk }),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** The entry with this id (strongly consistent), or undefined. */
  async entry(pk: string, id: string): Promise<AuditEntry | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: { PK: pk, SK: entrySk(id) }, ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : entryFromItem(result.Item);
  }

  /**
   * Claims a keyed fact for the entry `entryId`: the id of the entry the claim names once this is
   * done — `entryId` when the claim is new, the earlier entry's when the fact was claimed before.
   */
  async claimFact(pk: string, keyHash: string, entryId: string): Promise<string> {
    const key = factClaimKey(pk, keyHash);
    const claimed = await putItem(this.#table, {
      Item: { ...key, type: ITEM_TYPE.auditKey, entryId },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
    if (claimed) return entryId;
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: key, ConsistentRead: true }),
    );
    return String(result.Item?.entryId);
  }

  /** Moves a fact's claim from the entry `from` to `to`; false when it no longer names `from`. */
  async moveFactClaim(pk: string, keyHash: string, from: string, to: string): Promise<boolean> {
    const moved = await updateItem(this.#table, {
      Key: factClaimKey(pk, keyHash),
      UpdateExpression: 'SET entryId = :to',
      ConditionExpression: 'entryId = :from',
      ExpressionAttributeValues: { ':from': from, ':to': to },
    });
    return moved !== null;
  }

  /**
   * A page of entries, narrowed by `filter`: one filter picks the index (category, then target, then
   * actor, then action; none: the chain's key range), the dates are a key range, and the other
   * filters narrow each page. A cursor must lie in the range, index and domain read.
   */
  page(domain: DomainContext, listing: EntryListing): Promise<Page<AuditEntry>> {
    const { filter } = listing;
    const pk = domainPk(domain);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const narrow: string[] = [];
    const also = (name: 'action' | 'target', value: string | undefined) => {
      if (value === undefined) return;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      narrow.push(`#${name} = :${name}`);
    };
    const alsoActor = () => {
      if (filter.actor === undefined) return;
      names['#actor'] = 'actor';
      names['#username'] = 'username';
      values[':actor'] = filter.actor;
      narrow.push('#actor.#username = :actor');
    };
    let where: Pick<PagedQuery, 'index' | 'partition'>;
    if (filter.category !== undefined) {
      // A category's entries sit in their own sparse partition: read there, narrowed by the rest.
      where = { index: CATEGORY_INDEX, partition: categoryPartition(pk, filter.category) };
      also('action', filter.action);
      also('target', filter.target);
      alsoActor();
    } else if (filter.target !== undefined) {
      where = { index: FILTER_INDEXES.auditTarget, partition: auditByTarget(domain, filter.target) };
      also('action', filter.action);
      alsoActor();
    } else if (filter.actor !== undefined) {
      where = { index: FILTER_INDEXES.auditActor, partition: auditByActor(domain, filter.actor) };
      also('action', filter.action);
    } else if (filter.action !== undefined) {
      where = { index: FILTER_INDEXES.auditAction, partition: auditByAction(domain, filter.action) };
    } else {
      where = { partition: pk };
    }
    return queryPageOf(
      this.#table,
      {
        ...where,
        ...(where.index === undefined ? {} : { owner: { partition: pk, prefix: ENTRY_PREFIX } }),
        range: {
          from: `${ENTRY_PREFIX}${filter.from ?? ''}`,
          to: `${ENTRY_PREFIX}${filter.to ?? ''}${RANGE_END}`,
        },
        ...(narrow.length === 0 ? {} : { filter: { expression: narrow.join(' AND '), names, values } }),
        newestFirst: listing.order === 'newest',
        limit: listing.limit,
        ...(listing.cursor === undefined ? {} : { cursor: listing.cursor }),
      },
      entryFromItem,
    );
  }

  /**
   * Entries with `after < SK < until` (`<= until` when inclusive), in key order (strongly
   * consistent).
   */
  async *entries(
    pk: string,
    after: string,
    until: string,
    options: { readonly inclusive?: boolean } = {},
  ): AsyncGenerator<StoredEntry> {
    // An empty range (e.g. from a rewritten seal): DynamoDB refuses BETWEEN with bounds reversed.
    if (until < after) return;
    for await (const item of this.#range(pk, after, until)) {
      const sk = String(item.SK);
      if (!sk.startsWith(ENTRY_PREFIX) || sk === after) continue;
      if (options.inclusive === true ? sk > until : sk >= until) return;
      yield { sk, entry: entryFromItem(item) };
    }
  }

  /** Every seal item of the chain in sequence order: its sort key, and the seal (null: not shaped like one). */
  async *seals(pk: string): AsyncGenerator<{ readonly sk: string; readonly seal: ChainSeal | null }> {
    for await (const item of this.#range(pk, SEAL_PREFIX, `${SEAL_PREFIX}${RANGE_END}`)) {
      yield { sk: String(item.SK), seal: sealFromItem(item) };
    }
  }

  /** The seal numbered `seq` (strongly consistent): undefined when there is none, null when not shaped like one. */
  async seal(pk: string, seq: number): Promise<ChainSeal | null | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: { PK: pk, SK: sealSk(seq) }, ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : sealFromItem(result.Item);
  }

  /** Writes a seal; false when its number is taken (another sealer won it). */
  putSeal(pk: string, seal: ChainSeal): Promise<boolean> {
    return putItem(this.#table, {
      Item: { PK: pk, SK: sealSk(seal.seq), type: ITEM_TYPE.auditSeal, ...seal },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** The head (strongly consistent): undefined when there is none, `'altered'` when not shaped like one. */
  async head(pk: string): Promise<ChainHead | 'altered' | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: headKey(pk), ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : headFromItem(result.Item);
  }

  /** Moves the head to `seal`; false when it names that seal or a later one already (it only moves forward). */
  async advanceHead(pk: string, seal: ChainSeal): Promise<boolean> {
    const moved = await updateItem(this.#table, {
      Key: headKey(pk),
      UpdateExpression: 'SET seq = :seq, #hash = :hash, toSk = :toSk, prev = :prev',
      ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
      ExpressionAttributeNames: { '#hash': 'hash' },
      ExpressionAttributeValues: {
        ':seq': seal.seq,
        ':hash': seal.hash,
        ':toSk': seal.toSk,
        ':prev': seal.prev,
      },
    });
    return moved !== null;
  }

  /** Every item with `from <= SK <= until`, page after page (strongly consistent). */
  #range(pk: string, from: string, until: string): AsyncGenerator<Record<string, unknown>> {
    return queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :until',
      ExpressionAttributeValues: { ':pk': pk, ':from': from, ':until': until },
      ConsistentRead: true,
    });
  }
}
