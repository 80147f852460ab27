/**
 * Where HTTP resources are stored: the resource (`HTTPRES#<id>` in the public partition: its
 * configuration, the set of tenants it is granted to, its credential state — never a value) and, in
 * each granted tenant's partition, an index item (`HTTPGRANT#<id>`) so the tenant lists its grants
 * without reading the others. Every DynamoDB call of the resources is here; items are parsed at this
 * boundary. A configuration changed since it was read is HttpResourceConflictError (still a 409), a
 * resource gone is NotFoundError, and a credential rotated meanwhile is an answer. Validation,
 * grants' rules and credential policy stay in resources.ts.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AvailabilityState } from '../availability.ts';
import { stateOf } from '../availability.ts';
import { queryAll, type Table } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { PUBLIC_DOMAIN } from '../governance/keys.ts';
import { domainPk, ITEM_TYPE } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import { stateUpdate } from '../store/state-update.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { GRANT_PREFIX, grantKey, RESOURCE_PREFIX, resourceKey } from './keys.ts';
import type { CredentialState, HttpMethod, HttpResource } from './model.ts';

/** A resource's configuration changed since it was read. Still a 409. */
export class HttpResourceConflictError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`HTTP resource ${id} changed concurrently; retry`, options);
  }
}

function gone(id: string, error: unknown): NotFoundError {
  return new NotFoundError(`HTTP resource ${id} not found`, { cause: error });
}

function toResource(item: Record<string, unknown>): HttpResource {
  const grants = item.grants instanceof Set ? [...(item.grants as Set<string>)] : [];
  const credential = item.credential as CredentialState | undefined;
  return {
    id: String(item.id),
    state: stateOf(item),
    version: Number(item.version),
    configHash: String(item.configHash),
    name: String(item.name),
    description: String(item.description ?? ''),
    baseUrl: String(item.baseUrl),
    methods: item.methods as HttpMethod[],
    paths: item.paths as string[],
    writeAllowed: item.writeAllowed === true,
    auth: item.auth as HttpResource['auth'],
    timeoutSeconds: Number(item.timeoutSeconds),
    maxResponseBytes: Number(item.maxResponseBytes),
    localDevelopment: item.localDevelopment === true,
    grants: grants.sort(),
    ...(credential === undefined ? {} : { credential }),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    updatedAt: String(item.updatedAt),
    updatedBy: String(item.updatedBy),
  };
}

export class HttpResourceRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** A resource (strongly consistent), or null. */
  async find(id: string): Promise<HttpResource | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: resourceKey(id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : toResource(result.Item);
  }

  page(limit: number, cursor?: string): Promise<Page<HttpResource>> {
    return queryPageOf(
      this.#table,
      {
        partition: domainPk(PUBLIC_DOMAIN),
        range: { prefix: RESOURCE_PREFIX },
        limit,
        // The console reads this list again right after a change (a trial's confirmation) to show it.
        consistent: true,
        ...(cursor === undefined ? {} : { cursor }),
      },
      toResource,
    );
  }

  /** Writes a new resource (its grants start empty); its id taken is HttpResourceConflictError. */
  async create(resource: HttpResource): Promise<void> {
    const { grants: _grants, ...stored } = resource;
    await putItem(
      this.#table,
      {
        Item: { ...resourceKey(resource.id), type: ITEM_TYPE.httpResource, ...stored },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new HttpResourceConflictError(resource.id, { cause: error }),
    );
  }

  /**
   * Moves the configuration from `expectedVersion` to the next: the fields in `changed` and the new
   * hash. Any other version (or none) is HttpResourceConflictError. Returns the resource as written.
   */
  async reconfigure(
    id: string,
    expectedVersion: number,
    change: {
      readonly hash: string;
      readonly changed: Readonly<Record<string, unknown>>;
      readonly at: string;
      readonly by: string;
    },
  ): Promise<HttpResource> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = {
      ':expected': expectedVersion,
      ':version': expectedVersion + 1,
      ':hash': change.hash,
      ':now': change.at,
      ':by': change.by,
    };
    const sets = ['#version = :version', 'configHash = :hash', 'updatedAt = :now', 'updatedBy = :by'];
    Object.entries(change.changed).forEach(([field, value], index) => {
      names[`#c${index}`] = field;
      values[`:c${index}`] = value;
      sets.push(`#c${index} = :c${index}`);
    });
    const result = await updateItem(
      this.#table,
      {
        Key: resourceKey(id),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(PK) AND #version = :expected',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      },
      (error) => new HttpResourceConflictError(id, { cause: error }),
    );
    return toResource(result);
  }

  /** Sets the availability state; returns the resource as written (NotFoundError when gone). */
  async setState(
    id: string,
    state: AvailabilityState,
    change: { readonly at: string; readonly by: string; readonly reason: string },
  ): Promise<HttpResource> {
    const result = await updateItem(
      this.#table,
      {
        Key: resourceKey(id),
        ...stateUpdate(state, change),
        ReturnValues: 'ALL_NEW',
      },
      (error) => gone(id, error),
    );
    return toResource(result);
  }

  /** Adds tenants to, or takes them from, the grant set; returns the resource as written. */
  async changeGrants(
    id: string,
    action: 'ADD' | 'DELETE',
    tenantIds: readonly string[],
  ): Promise<HttpResource> {
    const result = await updateItem(
      this.#table,
      {
        Key: resourceKey(id),
        UpdateExpression: `${action} grants :tenants`,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':tenants': new Set(tenantIds) },
        ReturnValues: 'ALL_NEW',
      },
      (error) => gone(id, error),
    );
    return toResource(result);
  }

  /** Writes a tenant's index item of a grant. */
  async putGrantIndex(domain: TenantContext, id: string, at: string, by: string): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...grantKey(domain, id),
          type: ITEM_TYPE.httpGrant,
          resourceId: id,
          grantedAt: at,
          grantedBy: by,
        },
      }),
    );
  }

  async deleteGrantIndex(domain: TenantContext, id: string): Promise<void> {
    await this.#table.client.send(
      new DeleteCommand({ TableName: this.#table.name, Key: grantKey(domain, id) }),
    );
  }

  /** The ids of the resources a tenant's index items name (the grant sets remain the authority). */
  async grantedIds(domain: TenantContext): Promise<string[]> {
    const ids: string[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': GRANT_PREFIX },
    })) {
      ids.push(String(item.resourceId));
    }
    return ids;
  }

  /** Records a new credential state (NotFoundError when the resource is gone). */
  async setCredential(id: string, credential: CredentialState): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: resourceKey(id),
        UpdateExpression: 'SET credential = :credential',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':credential': credential },
      },
      (error) => gone(id, error),
    );
  }

  /** Forgets the previous credential version; NotFoundError when the resource keeps no credential. */
  async dropPreviousCredential(id: string): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: resourceKey(id),
        UpdateExpression: 'REMOVE credential.previous',
        ConditionExpression: 'attribute_exists(credential)',
      },
      (error) => new NotFoundError(`HTTP resource ${id} keeps no credential`, { cause: error }),
    );
  }

  /**
   * Marks `version` confirmed and forgets the previous one; false when `version` is no longer the
   * current one (rotated meanwhile).
   */
  async confirmCredential(id: string, version: string, at: string): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: resourceKey(id),
        UpdateExpression:
          'SET credential.confirmed = :true, credential.confirmedAt = :now REMOVE credential.previous',
        ConditionExpression: 'credential.#current = :version',
        ExpressionAttributeNames: { '#current': 'current' },
        ExpressionAttributeValues: { ':true': true, ':now': at, ':version': version },
      })) !== null
    );
  }
}
