/**
 * Where host bindings are stored: one item per host (`HOST#<host>` / `HOST`), unique across the
 * platform, naming the tenant (or the public surface) it serves; public bindings are listed (GSI1
 * `PUBLICHOSTS`) and a binding being onboarded sits in the onboarding index. Every DynamoDB call on
 * host claims made by the tenancy module is here; a claim refused because the host is bound already
 * is answered as `false`, for the caller to read the binding and decide. Which claims are the
 * same, which are abandoned and the order of steps stay in tenants.ts; resolution and its cache in
 * hosts.ts; onboarding's own steps in governance/onboarding.ts.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { type Onboarding, onboardingIndex } from '../governance/onboarding.ts';
import { hostKey, INDEX, ITEM_TYPE, indexAttributes, indexKeyNames, PUBLIC_HOST_LISTING } from '../keys.ts';
import { deleteItem, putItem } from '../store/conditional.ts';
import type { PublicSurface } from './domain.ts';
import type { HostBinding } from './hosts.ts';

const LISTING = indexKeyNames(INDEX.listing);

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
   * Binds a host that no one holds (with its first onboarding, when the platform onboards hosts);
   * public bindings join the listing. False when the host is bound already.
   */
  async claim(binding: HostBinding, boundAt: string, onboarding?: Onboarding): Promise<boolean> {
    const due = onboarding === undefined ? null : onboardingIndex(binding.host, onboarding);
    return this.#put(
      {
        ...hostKey(binding.host),
        type: ITEM_TYPE.host,
        ...binding,
        boundAt,
        ...(onboarding === undefined ? {} : { onboarding }),
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
