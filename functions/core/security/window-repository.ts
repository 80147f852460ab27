/**
 * Where security-event rate windows are stored: one small counter per domain, source and window
 * (`SECWIN#<sourceHash>#<windowStart>`, expiring a week after the window), and — once a window has
 * suppressed events — its place in the domain's sparse index of windows owing a summary. Every
 * DynamoDB call of the security events is here; a summary claimed by another process is answered as
 * null. What is recorded, suppressed and summarised stays in events.ts.
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import {
  INDEX,
  ITEM_TYPE,
  indexKeyNames,
  type Key,
  securityWindowKey,
  suppressedSecurityWindowSort,
  suppressedSecurityWindows,
} from '../keys.ts';
import { updateItem } from '../store/conditional.ts';
import type { DomainContext } from '../tenancy/domain.ts';

/** Where a window that owes its summary is listed (the domain's pending partition of GSI1). */
const PENDING = indexKeyNames(INDEX.listing);

/** One window of one source. */
export interface SecurityWindow {
  readonly domain: DomainContext;
  readonly sourceHash: string;
  /** The source as recorded (cut). */
  readonly source: string;
  readonly start: string;
  readonly end: string;
  readonly expiresAtEpoch: number;
}

/** A window claimed for its summary. */
export interface SuppressedWindow {
  readonly count: number;
  readonly source: string;
  readonly kind: string;
  readonly windowEnd: string;
}

function keyOf(window: SecurityWindow): Key {
  return securityWindowKey(window.domain, window.sourceHash, window.start);
}

export class SecurityWindowRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Counts one more event in its window (created as needed); returns the window's count so far. */
  async count(window: SecurityWindow): Promise<number> {
    const counted = await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: keyOf(window),
        UpdateExpression:
          'ADD #count :one SET #type = :type, #source = :source, windowEnd = :end, expiresAtEpoch = :expires',
        ExpressionAttributeNames: { '#count': 'count', '#type': 'type', '#source': 'source' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':type': ITEM_TYPE.securityWindow,
          ':source': window.source,
          ':end': window.end,
          ':expires': window.expiresAtEpoch,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(counted.Attributes?.count ?? 1);
  }

  /** The window suppressed its first event: it now owes a summary of `kind` once it is over. */
  async owesSummary(window: SecurityWindow, kind: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: keyOf(window),
        UpdateExpression: 'SET #pk = :pending, #sk = :sort, #kind = :kind',
        ExpressionAttributeNames: { '#kind': 'kind', '#pk': PENDING.pk, '#sk': PENDING.sk },
        ExpressionAttributeValues: {
          ':pending': suppressedSecurityWindows(window.domain),
          ':sort': suppressedSecurityWindowSort(window.end, window.sourceHash),
          ':kind': kind,
        },
      }),
    );
  }

  /** Up to `limit` windows of a domain over before `now` that still owe their summary. */
  async due(domain: DomainContext, now: string, limit: number): Promise<Key[]> {
    const due = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        IndexName: INDEX.listing,
        KeyConditionExpression: '#pk = :pending AND #sk < :now',
        ExpressionAttributeNames: { '#pk': PENDING.pk, '#sk': PENDING.sk },
        ExpressionAttributeValues: { ':pending': suppressedSecurityWindows(domain), ':now': now },
        Limit: limit,
      }),
    );
    return (due.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
  }

  /**
   * Takes a window out of the pending index, if it is still there: whoever does writes its summary.
   * Null when another process took it.
   */
  async claimSummary(domain: DomainContext, key: Key): Promise<SuppressedWindow | null> {
    const claimed = await updateItem(this.#table, {
      Key: key,
      UpdateExpression: 'REMOVE #pk, #sk',
      ConditionExpression: '#pk = :pending',
      ExpressionAttributeNames: { '#pk': PENDING.pk, '#sk': PENDING.sk },
      ExpressionAttributeValues: { ':pending': suppressedSecurityWindows(domain) },
      ReturnValues: 'ALL_NEW',
    });
    if (claimed === null) return null;
    return {
      count: Number(claimed.count ?? 0),
      source: String(claimed.source ?? 'unknown'),
      kind: String(claimed.kind ?? 'unknown'),
      windowEnd: String(claimed.windowEnd ?? ''),
    };
  }
}
