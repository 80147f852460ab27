/**
 * Where a host's onboarding is stored: on its binding (`HOST#<host>`), with, while a state waits, an
 * entry in the sparse due index (GSI2 `ONBOARDING`, by when). Every DynamoDB call of the onboarding
 * is here; bindings are parsed at this boundary, and a step written over a state that changed since
 * it was read is an answer (null), not an error. The state machine stays in onboarding.ts.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import {
  hostKey,
  INDEX,
  type IndexEntry,
  indexKeyNames,
  ONBOARDING_DUE,
  onboardingDueUntil,
  PUBLIC_HOST_LISTING,
} from '../keys.ts';
import { updateItem } from '../store/conditional.ts';
import type { HostBinding } from '../tenancy/hosts.ts';
import type { Onboarding } from './onboarding.ts';

/** A binding as onboarding reads it. */
export interface BoundHost {
  readonly binding: HostBinding;
  /** Null for a binding made before onboarding existed. */
  readonly onboarding: Onboarding | null;
  readonly boundAt?: string;
}

const LISTING = indexKeyNames(INDEX.listing);
const DUE = indexKeyNames(INDEX.lifecycle);

export function onboardingFromItem(item: Record<string, unknown>): Onboarding | null {
  const value = item.onboarding as Partial<Onboarding> | undefined;
  if (value === undefined || typeof value.state !== 'string') return null;
  return {
    state: value.state,
    attempts: Number(value.attempts ?? 0),
    since: String(value.since),
    updatedAt: String(value.updatedAt ?? value.since),
    revision: Number(value.revision ?? 0),
    ...(value.code === undefined ? {} : { code: String(value.code) }),
    ...(value.reason === undefined ? {} : { reason: String(value.reason) }),
    ...(value.checkedAt === undefined ? {} : { checkedAt: String(value.checkedAt) }),
    ...(value.nextAttemptAt === undefined ? {} : { nextAttemptAt: String(value.nextAttemptAt) }),
  };
}

function boundHost(item: Record<string, unknown>): BoundHost {
  return {
    binding: item as unknown as HostBinding,
    onboarding: onboardingFromItem(item),
    ...(typeof item.boundAt === 'string' ? { boundAt: item.boundAt } : {}),
  };
}

export class OnboardingRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** A host's binding (strongly consistent), or null when the host is bound to nothing. */
  async find(host: string): Promise<BoundHost | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: hostKey(host), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : boundHost(result.Item);
  }

  /** The platform's own hosts, from their sparse listing (at most `limit`). */
  async publicHosts(limit: number): Promise<string[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        IndexName: INDEX.listing,
        KeyConditionExpression: '#pk = :listing',
        ExpressionAttributeNames: { '#pk': LISTING.pk },
        ExpressionAttributeValues: { ':listing': PUBLIC_HOST_LISTING },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => String(item.host));
  }

  /** Hosts whose next check is due at or before `now` (at most `limit`), with the state the index saw. */
  async due(now: string, limit: number): Promise<{ host: string; onboarding: Onboarding | null }[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        IndexName: INDEX.lifecycle,
        KeyConditionExpression: '#pk = :due AND #sk <= :now',
        ExpressionAttributeNames: { '#pk': DUE.pk, '#sk': DUE.sk },
        ExpressionAttributeValues: { ':due': ONBOARDING_DUE, ':now': onboardingDueUntil(now) },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      host: String(item.host),
      onboarding: onboardingFromItem(item),
    }));
  }

  /**
   * Writes `next` (and its due index entry, or none) if the binding still holds the onboarding at
   * `revision`; the binding as written, or null when it changed meanwhile or is gone.
   */
  async write(
    host: string,
    revision: number,
    next: Onboarding,
    index: IndexEntry | null,
  ): Promise<BoundHost | null> {
    const result = await updateItem(this.#table, {
      Key: hostKey(host),
      UpdateExpression:
        index === null
          ? 'SET #ob = :next REMOVE #duePk, #dueSk'
          : 'SET #ob = :next, #duePk = :pk, #dueSk = :sk',
      ConditionExpression: 'attribute_exists(PK) AND #ob.#rev = :rev',
      ExpressionAttributeNames: {
        '#ob': 'onboarding',
        '#rev': 'revision',
        '#duePk': DUE.pk,
        '#dueSk': DUE.sk,
      },
      ExpressionAttributeValues: {
        ':next': next,
        ':rev': revision,
        ...(index === null ? {} : { ':pk': index.partition, ':sk': index.sort }),
      },
      ReturnValues: 'ALL_NEW',
    });
    return result === null ? null : boundHost(result);
  }
}
