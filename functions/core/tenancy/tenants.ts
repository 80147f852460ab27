/**
 * Tenant records and host bindings. DynamoDB-compatible stores here have no transactions, so every
 * multi-item change is a sequence of idempotent conditional steps ordered so that a crash between
 * two of them never serves a half-made tenant: hosts are claimed first (a claim whose tenant record
 * does not exist resolves to nothing), the tenant record is written last, and a failed creation
 * releases exactly the claims it made.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { expiryBucket, hostKey, TENANT_LISTING, tenantKey } from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';
import { type PublicSurface, TENANT_ID_PATTERN, type TenantStatus, type TenantSummary } from './domain.ts';
import { type HostBinding, type HostDirectory, isValidHost } from './hosts.ts';

export type DeliveryMode = 'dedicated' | 'shared';

export interface Tenant extends TenantSummary {
  readonly hosts: readonly string[];
  readonly deliveryMode: DeliveryMode;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly customerId?: string;
}

export interface NewTenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly hosts: readonly string[];
  readonly expiresAt: string;
  readonly status?: TenantStatus;
  readonly deliveryMode?: DeliveryMode;
  readonly customerId?: string;
}

export interface TenantRegistryOptions {
  readonly table: Table;
  /** Host cache of this process, invalidated when a binding changes. */
  readonly hosts?: HostDirectory;
  readonly now?: () => Date;
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/** `2026-11-23T00:00:00.000Z` → `2026-11-23`. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

export function tenantFromItem(item: Record<string, unknown>): Tenant {
  return {
    id: String(item.id),
    name: String(item.name),
    plan: String(item.plan),
    status: item.status as TenantStatus,
    expiresAt: String(item.expiresAt),
    hosts: (item.hosts as string[] | undefined) ?? [],
    deliveryMode: (item.deliveryMode as DeliveryMode | undefined) ?? 'shared',
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    ...(typeof item.customerId === 'string' ? { customerId: item.customerId } : {}),
  };
}

export class TenantRegistry {
  readonly #table: Table;
  readonly #hosts: HostDirectory | undefined;
  readonly #now: () => Date;

  constructor(options: TenantRegistryOptions) {
    this.#table = options.table;
    this.#hosts = options.hosts;
    this.#now = options.now ?? (() => new Date());
  }

  async create(input: NewTenant): Promise<Tenant> {
    if (!TENANT_ID_PATTERN.test(input.id)) {
      throw new ValidationError('Tenant id must be a lowercase slug', [
        { path: 'id', message: '3-40 characters: a-z, 0-9 and hyphens, starting with a letter' },
      ]);
    }
    const hosts = [...new Set(input.hosts.map((host) => host.trim().toLowerCase()))];
    for (const host of hosts) {
      if (!isValidHost(host))
        throw new ValidationError('Invalid host name', [{ path: 'hosts', message: host }]);
    }
    const existing = await this.get(input.id).catch(() => null);
    if (existing !== null) throw new ConflictError(`Tenant ${input.id} already exists`);

    const claimed: string[] = [];
    try {
      for (const host of hosts) {
        await this.#claimHost({ host, domain: 'tenant', tenantId: input.id });
        claimed.push(host);
      }
      const now = this.#now().toISOString();
      const item = {
        ...tenantKey(input.id),
        GSI1PK: TENANT_LISTING,
        GSI1SK: input.id,
        GSI2PK: expiryBucket(dayOf(input.expiresAt)),
        GSI2SK: input.id,
        type: 'TENANT',
        id: input.id,
        name: input.name,
        plan: input.plan,
        status: input.status ?? 'active',
        expiresAt: input.expiresAt,
        hosts,
        deliveryMode: input.deliveryMode ?? 'shared',
        createdAt: now,
        updatedAt: now,
        ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
      };
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: item,
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      for (const host of hosts) this.#hosts?.invalidate(host);
      return tenantFromItem(item);
    } catch (error) {
      for (const host of claimed) await this.#releaseHost(host, input.id);
      if (isConditionFailure(error))
        throw new ConflictError(`Tenant ${input.id} already exists`, { cause: error });
      throw error;
    }
  }

  async get(id: string): Promise<Tenant> {
    if (!TENANT_ID_PATTERN.test(id)) throw new NotFoundError(`Tenant ${id} not found`);
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: tenantKey(id), ConsistentRead: true }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Tenant ${id} not found`);
    return tenantFromItem(result.Item);
  }

  /** A page of tenants ordered by id. */
  async list(limit: number, cursor?: string): Promise<Page<Tenant>> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :listing',
        ExpressionAttributeValues: { ':listing': TENANT_LISTING },
        Limit: limit,
        ...(cursor === undefined
          ? {}
          : { ExclusiveStartKey: decodeCursor(cursor, { GSI1PK: TENANT_LISTING }) }),
      }),
    );
    const items = (result.Items ?? []).map(tenantFromItem);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
  }

  async setStatus(id: string, status: TenantStatus): Promise<Tenant> {
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: tenantKey(id),
          UpdateExpression: 'SET #status = :status, updatedAt = :now',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ':now': this.#now().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const tenant = tenantFromItem(result.Attributes ?? {});
      for (const host of tenant.hosts) this.#hosts?.invalidate(host);
      return tenant;
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`Tenant ${id} not found`, { cause: error });
      throw error;
    }
  }

  /** Binds a host of the public domain (the governance console or the free entry). */
  async bindPublicHost(host: string, surface: PublicSurface): Promise<void> {
    const name = host.trim().toLowerCase();
    if (!isValidHost(name)) throw new ValidationError('Invalid host name', [{ path: 'host', message: name }]);
    await this.#claimHost({ host: name, domain: 'public', surface });
    this.#hosts?.invalidate(name);
  }

  async #claimHost(binding: HostBinding): Promise<void> {
    const sameOwner =
      binding.domain === 'tenant'
        ? { expression: 'tenantId = :owner', value: binding.tenantId }
        : { expression: 'surface = :owner', value: binding.surface };
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: { ...hostKey(binding.host), type: 'HOST', ...binding },
          // A host is unique across the platform; re-claiming one's own binding is a no-op retry.
          ConditionExpression: `attribute_not_exists(PK) OR (#domain = :domain AND ${sameOwner.expression})`,
          ExpressionAttributeNames: { '#domain': 'domain' },
          ExpressionAttributeValues: { ':domain': binding.domain, ':owner': sameOwner.value },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new ConflictError(`Host ${binding.host} is already bound`, {
          cause: error,
          extra: { host: binding.host },
        });
      }
      throw error;
    }
  }

  async #releaseHost(host: string, tenantId: string): Promise<void> {
    await this.#table.client
      .send(
        new DeleteCommand({
          TableName: this.#table.name,
          Key: hostKey(host),
          ConditionExpression: 'tenantId = :tenant',
          ExpressionAttributeValues: { ':tenant': tenantId },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
    this.#hosts?.invalidate(host);
  }
}
