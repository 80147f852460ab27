/**
 * Where host bindings are stored: one item per host (`HOST#<host>` / `HOST`), unique across the
 * platform, naming the tenant (or the public surface) it serves; public bindings are listed (GSI1
 * `PUBLICHOSTS`), and a binding's onboarding is kept on it, with, while a state waits, an entry in
 * the sparse due index (GSI2 `ONBOARDING`, by when). Every DynamoDB call on host bindings is here:
 * the tenancy module's claims and releases, and onboarding's reads and steps. A claim refused
 * because the host is bound already is answered as `false`, for the caller to read the binding and
 * decide; an onboarding step written over a state that changed since it was read is answered as
 * null. Which claims are the same, which are abandoned and the order of steps stay in tenants.ts;
 * resolution and its cache in hosts.ts; onboarding's state machine and where a state sits in the
 * due index in governance/onboarding.ts.
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import type { Onboarding } from '../governance/onboarding.ts';
import {
  hostKey,
  INDEX,
  type IndexEntry,
  ITEM_TYPE,
  indexAttributes,
  indexKeyNames,
  ONBOARDING_DUE,
  onboardingDueUntil,
  PUBLIC_HOST_LISTING,
} from '../keys.ts';
import { deleteItem, putItem, updateItem } from '../store/conditional.ts';
import type { PublicSurface } from './domain.ts';
import type { HostBinding } from './hosts.ts';

const LISTING = indexKeyNames(INDEX.listing);
const DUE = indexKeyNames(INDEX.lifecycle);

/** A binding as stored: whom it serves, and what a claim is checked against. */
export interface StoredHostBinding {
  readonly binding: HostBinding;
  /** The sign-up that claimed a personal host (absent on governance claims). */
  readonly claimId?: string;
  readonly boundAt: string;
  /** Whether a public binding is in the listing of the platform's hosts. */
  readonly listed: boolean;
}

function bindingOf(item: Record<string, unknown>): StoredHostBinding {
  const host = String(item.host);
  return {
    binding:
      item.domain === 'public'
        ? { host, domain: 'public', surface: item.surface as PublicSurface }
        : { host, domain: 'tenant', tenantId: String(item.tenantId) },
    ...(typeof item.claimId === 'string' ? { claimId: item.claimId } : {}),
    boundAt: String(item.boundAt),
    listed: item[LISTING.pk] !== undefined,
  };
}

/** A binding as onboarding reads it. */
export interface BoundHost {
  readonly binding: HostBinding;
  /** Null for a binding made before onboarding existed. */
  readonly onboarding: Onboarding | null;
  readonly boundAt?: string;
}

function onboardingOf(item: Record<string, unknown>): Onboarding | null {
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

function boundHostOf(item: Record<string, unknown>): BoundHost {
  return {
    binding: bindingOf(item).binding,
    onboarding: onboardingOf(item),
    ...(typeof item.boundAt === 'string' ? { boundAt: item.boundAt } : {}),
  };
}

export class HostBindingRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The binding of a host, or null; eventually consistent unless asked otherwise. */
  async find(host: string, consistent = false): Promise<StoredHostBinding | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: hostKey(host),
        ...(consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return result.Item === undefined ? null : bindingOf(result.Item);
  }

  /**
   * Binds a host that no one holds (with its first onboarding and that onboarding's due index entry,
   * when the platform onboards hosts); public bindings join the listing. False when the host is
   * bound already.
   */
  async claim(
    binding: HostBinding,
    boundAt: string,
    onboarding?: { readonly state: Onboarding; readonly due: IndexEntry | null },
  ): Promise<boolean> {
    const due = onboarding?.due ?? null;
    return this.#put(
      {
        ...hostKey(binding.host),
        type: ITEM_TYPE.host,
        ...binding,
        boundAt,
        ...(onboarding === undefined ? {} : { onboarding: onboarding.state }),
        ...(due === null ? {} : indexAttributes(INDEX.lifecycle, due)),
        ...(binding.domain === 'public'
          ? indexAttributes(INDEX.listing, { partition: PUBLIC_HOST_LISTING, sort: binding.host })
          : {}),
      },
      { ConditionExpression: 'attribute_not_exists(PK)' },
    );
  }

  /** Adds a public binding made before the platform's hosts were listed to the listing. */
  async list(host: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: hostKey(host),
        UpdateExpression: 'SET #pk = :listing, #sk = :host',
        ExpressionAttributeNames: { '#pk': LISTING.pk, '#sk': LISTING.sk },
        ExpressionAttributeValues: { ':listing': PUBLIC_HOST_LISTING, ':host': host },
      }),
    );
  }

  /** Gives a tenant's host back; a no-op when the host is not (or no longer) that tenant's. */
  async release(host: string, tenantId: string): Promise<void> {
    await this.#delete(host, 'tenantId = :tenant', { ':tenant': tenantId });
  }

  /**
   * Binds a personal host for one sign-up (`claimId`): over nothing, or — with `seenClaimId` — over
   * the abandoned claim of that sign-up and no other. False when someone holds the host.
   */
  async claimPersonal(
    host: string,
    tenantId: string,
    claimId: string,
    boundAt: string,
    seenClaimId?: string,
  ): Promise<boolean> {
    return this.#put(
      { ...hostKey(host), type: ITEM_TYPE.host, host, domain: 'tenant', tenantId, claimId, boundAt },
      seenClaimId === undefined
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : { ConditionExpression: 'claimId = :seen', ExpressionAttributeValues: { ':seen': seenClaimId } },
    );
  }

  /** Gives back a personal host claimed by `claimId`; a no-op otherwise. */
  async releasePersonal(host: string, claimId: string): Promise<void> {
    await this.#delete(host, 'claimId = :claim', { ':claim': claimId });
  }

  /** A host's binding with its onboarding (strongly consistent); null when the host is bound to nothing. */
  async findOnboarding(host: string): Promise<BoundHost | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: hostKey(host), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : boundHostOf(result.Item);
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

  /** Hosts whose onboarding check is due at or before `now` (at most `limit`), as the index saw them. */
  async dueOnboardings(
    now: string,
    limit: number,
  ): Promise<{ host: string; onboarding: Onboarding | null }[]> {
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
      onboarding: onboardingOf(item),
    }));
  }

  /**
   * Writes onboarding's `next` state (and its due index entry, or none) if the binding still holds
   * the onboarding at `revision`; the binding as written, or null when it changed meanwhile or is gone.
   */
  async writeOnboarding(
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
    return result === null ? null : boundHostOf(result);
  }

  #put(
    item: Record<string, unknown>,
    condition: { ConditionExpression: string; ExpressionAttributeValues?: Record<string, unknown> },
  ): Promise<boolean> {
    return putItem(this.#table, { Item: item, ...condition });
  }

  async #delete(host: string, condition: string, values: Record<string, unknown>): Promise<void> {
    await deleteItem(this.#table, {
      Key: hostKey(host),
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    });
  }
}
