/**
 * Where tenant records are stored: one item per tenant (`T#<id>` / `TENANT`), listed by id (GSI1
 * `TENANTS`) and placed in the sparse lifecycle index (GSI2, a partition per phase, sorted by
 * expiry). Every DynamoDB call on tenant records is here; items are parsed into tenants at this
 * boundary and a write refused by its condition comes out as a typed error or, where a refusal is an
 * expected answer (a renewal computed from an older record, a scan that lost a race), as that
 * answer. The rules — what a valid tenant is, the order of multi-item steps, who is told — stay in
 * tenants.ts; host bindings are host-repository.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Branding } from '../../contract/responses.ts';
import { queryAll, type Table } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { ConcurrentChangeError } from '../governance/errors.ts';
import {
  INDEX,
  ITEM_TYPE,
  indexAttributes,
  indexKeyNames,
  isLifecyclePartition,
  type LifecyclePhase,
  lifecyclePartition,
  lifecycleSort,
  lifecycleSortUntil,
  RETIRED_EXPIRY_PREFIX,
  TENANT_LISTING,
  tenantKey,
} from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, type Refusal, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { TenantStatus, TenantSummary } from './domain.ts';
import type {
  DeliveryMode,
  PersonalSpace,
  Renewal,
  Tenant,
  TenantChange,
  TenantExpectation,
  TenantInPhase,
} from './tenants.ts';

/** A tenant of this id exists already. A 409, as before the store was split out. */
export class TenantExistsError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Tenant ${id} already exists`, options);
  }
}

/** The record no longer says what an update expected (or is gone: the caller tells which). */
export class TenantChangedError extends ConcurrentChangeError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Tenant ${id} changed meanwhile; read it again and retry`, options);
  }
}

/** A conversion named a tenant that is not a personal space (or is gone: the caller tells which). */
export class NotPersonalSpaceError extends ConflictError {
  constructor(id: string, options: { cause?: unknown } = {}) {
    super(`Tenant ${id} is not a personal space`, options);
  }
}

/** A tenant record as stored: the tenant and what its conditional writes are checked against. */
export interface TenantRecord {
  readonly tenant: Tenant;
  /** The revision of the host list (null before its first change after creation). */
  readonly hostsRevision: number | null;
  /** The paid orders applied to the tenant. */
  readonly appliedOrders: ReadonlySet<string>;
}

/**
 * What a request needs of a tenant's record: its summary and its appearance (the branding is kept
 * while the delivery is shared, and shown only once it is dedicated).
 */
export interface TenantView {
  readonly summary: TenantSummary;
  readonly deliveryMode: DeliveryMode;
  readonly branding?: Branding;
}

/** An update of a tenant record, its key filled in by the repository. */
type TenantUpdate = Omit<Parameters<typeof updateItem>[1], 'Key'>;

/** A new tenant record; `createdAt` and `updatedAt` are the same instant. */
export type NewTenantRecord = Omit<Tenant, 'branding' | 'updatedAt'>;

/** The lifecycle phase of a status; null for statuses no scan acts on. */
export function phaseOf(status: TenantStatus): LifecyclePhase | null {
  if (status === 'trial' || status === 'active') return 'live';
  if (status === 'grace') return 'grace';
  return null;
}

const LIFECYCLE = indexKeyNames(INDEX.lifecycle);
const LISTING = indexKeyNames(INDEX.listing);

/** Where a tenant record sits in the lifecycle index: its phase's partition (none: in no phase) and its sort key. */
export function lifecycleIndex(
  status: TenantStatus,
  expiresAt: string,
  id: string,
): { readonly partition?: string; readonly sort: string } {
  const phase = phaseOf(status);
  return {
    ...(phase === null ? {} : { partition: lifecyclePartition(phase) }),
    sort: lifecycleSort(expiresAt, id),
  };
}

/** The lifecycle index attributes of a tenant record (its partition absent: in no phase). */
function lifecycleAttributes(index: {
  readonly partition?: string;
  readonly sort: string;
}): Record<string, string> {
  return {
    ...(index.partition === undefined ? {} : { [LIFECYCLE.pk]: index.partition }),
    [LIFECYCLE.sk]: index.sort,
  };
}

export function brandingFromItem(item: Record<string, unknown>): Branding | undefined {
  const value = item.branding;
  return value !== null && typeof value === 'object' ? (value as Branding) : undefined;
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
    ...(brandingFromItem(item) === undefined ? {} : { branding: brandingFromItem(item) as Branding }),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    ...(typeof item.customerId === 'string' ? { customerId: item.customerId } : {}),
    ...(item.personal !== null && typeof item.personal === 'object'
      ? { personal: item.personal as PersonalSpace }
      : {}),
  };
}

/** A tenant's summary from its stored record. */
export function tenantSummaryOf(item: Record<string, unknown>): TenantSummary {
  return {
    id: String(item.id),
    name: String(item.name),
    status: item.status as TenantStatus,
    plan: String(item.plan),
    expiresAt: String(item.expiresAt),
  };
}

function recordOf(item: Record<string, unknown>): TenantRecord {
  const orders = item.appliedOrders;
  return {
    tenant: tenantFromItem(item),
    hostsRevision: typeof item.hostsRevision === 'number' ? item.hostsRevision : null,
    appliedOrders:
      orders instanceof Set
        ? (orders as Set<string>)
        : new Set(Array.isArray(orders) ? (orders as string[]) : []),
  };
}

export class TenantRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The record of a tenant (strongly consistent), or null. */
  async find(id: string): Promise<TenantRecord | null> {
    const item = await this.#item(id, true);
    return item === undefined ? null : recordOf(item);
  }

  /** A tenant's summary, or null; eventually consistent unless asked otherwise. */
  async summary(id: string, consistent = false): Promise<TenantSummary | null> {
    const item = await this.#item(id, consistent);
    return item === undefined ? null : tenantSummaryOf(item);
  }

  /** What a request needs of a tenant's record (eventually consistent), or null. */
  async view(id: string): Promise<TenantView | null> {
    const item = await this.#item(id, false);
    if (item === undefined) return null;
    const branding = brandingFromItem(item);
    return {
      summary: tenantSummaryOf(item),
      deliveryMode: item.deliveryMode === 'dedicated' ? 'dedicated' : 'shared',
      ...(branding === undefined ? {} : { branding }),
    };
  }

  /** Writes a new tenant record, listed and placed in its lifecycle phase. TenantExistsError if the id is taken. */
  async create(tenant: NewTenantRecord): Promise<Tenant> {
    const item = {
      ...tenantKey(tenant.id),
      ...indexAttributes(INDEX.listing, { partition: TENANT_LISTING, sort: tenant.id }),
      ...lifecycleAttributes(lifecycleIndex(tenant.status, tenant.expiresAt, tenant.id)),
      type: ITEM_TYPE.tenant,
      ...tenant,
      updatedAt: tenant.createdAt,
    };
    await putItem(
      this.#table,
      { Item: item, ConditionExpression: 'attribute_not_exists(PK)' },
      (cause) => new TenantExistsError(tenant.id, { cause }),
    );
    return tenantFromItem(item);
  }

  /** A page of tenants ordered by id. */
  async page(limit: number, cursor?: string): Promise<Page<Tenant>> {
    return queryPageOf(
      this.#table,
      { index: INDEX.listing, partition: TENANT_LISTING, limit, ...(cursor === undefined ? {} : { cursor }) },
      tenantFromItem,
    );
  }

  /** Replaces the tenant's branding; `null` removes it. NotFoundError when there is no such tenant. */
  async setBranding(id: string, branding: Branding | null, now: string): Promise<Tenant> {
    const item = await this.#update(
      id,
      {
        UpdateExpression:
          branding === null
            ? 'REMOVE branding SET updatedAt = :now'
            : 'SET branding = :branding, updatedAt = :now',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':now': now, ...(branding === null ? {} : { ':branding': branding }) },
        ReturnValues: 'ALL_NEW',
      },
      (cause) => new NotFoundError(`Tenant ${id} not found`, { cause }),
    );
    return tenantFromItem(item);
  }

  /**
   * Changes a tenant's fields in one conditional write (its lifecycle index moves with its status and
   * expiry); `expiresAt` must be canonical. TenantChangedError when the record does not exist or no
   * longer says what `expect` says.
   */
  async update(id: string, change: TenantChange, expect: TenantExpectation, now: string): Promise<Tenant> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': now };
    const sets = ['updatedAt = :now'];
    const removes: string[] = [];
    const set = (field: string, value: unknown) => {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    };
    if (change.name !== undefined) set('name', change.name);
    if (change.plan !== undefined) set('plan', change.plan);
    if (change.status !== undefined) {
      set('status', change.status);
      const phase = phaseOf(change.status);
      if (phase === null) {
        names[`#${LIFECYCLE.pk}`] = LIFECYCLE.pk;
        removes.push(`#${LIFECYCLE.pk}`);
      } else set(LIFECYCLE.pk, lifecyclePartition(phase));
    }
    if (change.deliveryMode !== undefined) set('deliveryMode', change.deliveryMode);
    if (change.expiresAt !== undefined) {
      set('expiresAt', change.expiresAt);
      set(LIFECYCLE.sk, lifecycleSort(change.expiresAt, id));
    }
    if (change.customerId === null) {
      names['#customerId'] = 'customerId';
      removes.push('#customerId');
    } else if (change.customerId !== undefined) set('customerId', change.customerId);

    const conditions = ['attribute_exists(PK)'];
    const expected = (field: string, value: unknown) => {
      names[`#${field}`] = field;
      values[`:expected_${field}`] = value;
      conditions.push(`#${field} = :expected_${field}`);
    };
    if (expect.status !== undefined) expected('status', expect.status);
    if (expect.expiresAt !== undefined) expected('expiresAt', expect.expiresAt);
    if (expect.customerId === null) {
      names['#customerId'] = 'customerId';
      conditions.push('attribute_not_exists(#customerId)');
    } else if (expect.customerId !== undefined) expected('customerId', expect.customerId);

    const item = await this.#update(
      id,
      {
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: conditions.join(' AND '),
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      },
      (cause) => new TenantChangedError(id, { cause }),
    );
    return tenantFromItem(item);
  }

  /**
   * Applies a paid order in one write that also records its id, if the order is not recorded yet and
   * the record still has the expiry and status the renewal was computed from. False when it had not.
   */
  async applyRenewal(id: string, renewal: Renewal, now: string): Promise<boolean> {
    const index = lifecycleIndex(renewal.status, renewal.expiresAt, id);
    const applied = await this.#update(id, {
      UpdateExpression: `SET expiresAt = :expiresAt, ${index.partition === undefined ? '' : '#lpk = :partition, '}#lsk = :sort, #status = :status, #plan = :plan, updatedAt = :now ADD appliedOrders :orders${index.partition === undefined ? ' REMOVE #lpk' : ''}`,
      ConditionExpression:
        'attribute_exists(PK) AND expiresAt = :previousExpiry AND #status = :previousStatus AND NOT contains(appliedOrders, :orderId)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#plan': 'plan',
        '#lpk': LIFECYCLE.pk,
        '#lsk': LIFECYCLE.sk,
      },
      ExpressionAttributeValues: {
        ':expiresAt': renewal.expiresAt,
        ...(index.partition === undefined ? {} : { ':partition': index.partition }),
        ':sort': index.sort,
        ':status': renewal.status,
        ':plan': renewal.plan,
        ':now': now,
        ':orders': new Set([renewal.orderId]),
        ':previousExpiry': renewal.previousExpiry,
        ':previousStatus': renewal.previousStatus,
        ':orderId': renewal.orderId,
      },
    });
    return applied !== null;
  }

  /**
   * Moves a tenant from one status to another if it still has the status and expiry a scan saw, and
   * parks it in the `notice` phase owing that status's notice. Null when it no longer does.
   */
  async transition(
    id: string,
    from: TenantStatus,
    to: TenantStatus,
    seenExpiry: string,
    now: string,
  ): Promise<Tenant | null> {
    const item = await this.#update(id, {
      UpdateExpression: 'SET #status = :to, updatedAt = :now, #lpk = :notice, noticeOwed = :to',
      ConditionExpression: 'attribute_exists(PK) AND #status = :from AND expiresAt = :seen',
      ExpressionAttributeNames: { '#status': 'status', '#lpk': LIFECYCLE.pk },
      ExpressionAttributeValues: {
        ':to': to,
        ':from': from,
        ':seen': seenExpiry,
        ':now': now,
        ':notice': lifecyclePartition('notice'),
      },
      ReturnValues: 'ALL_NEW',
    });
    return item === null ? null : tenantFromItem(item);
  }

  /**
   * The notice owed for `status` is out: the tenant moves from `notice` to that status's phase. A
   * tenant that changed meanwhile is left where its new status placed it.
   */
  async noticeSent(id: string, status: TenantStatus): Promise<void> {
    const phase = phaseOf(status);
    await this.#update(id, {
      UpdateExpression: `REMOVE noticeOwed${phase === null ? ', #lpk' : ' SET #lpk = :partition'}`,
      ConditionExpression: '#status = :status AND noticeOwed = :status AND #lpk = :notice',
      ExpressionAttributeNames: { '#status': 'status', '#lpk': LIFECYCLE.pk },
      ExpressionAttributeValues: {
        ':status': status,
        ':notice': lifecyclePartition('notice'),
        ...(phase === null ? {} : { ':partition': lifecyclePartition(phase) }),
      },
    });
  }

  /**
   * The tenants of a lifecycle phase whose expiry is at or before `until` (and, with `from`, at or
   * after it), read from the sparse lifecycle index only.
   */
  async *inPhase(phase: LifecyclePhase, until?: string, from?: string): AsyncGenerator<TenantInPhase> {
    const range =
      until === undefined
        ? ''
        : from === undefined
          ? ' AND #sk <= :until'
          : ' AND #sk BETWEEN :from AND :until';
    for await (const item of queryAll(this.#table, {
      IndexName: INDEX.lifecycle,
      KeyConditionExpression: `#pk = :partition${range}`,
      ExpressionAttributeNames: {
        '#pk': LIFECYCLE.pk,
        ...(until === undefined ? {} : { '#sk': LIFECYCLE.sk }),
      },
      ExpressionAttributeValues: {
        ':partition': lifecyclePartition(phase),
        ...(until === undefined ? {} : { ':until': lifecycleSortUntil(until) }),
        ...(from === undefined ? {} : { ':from': from }),
      },
    })) {
      const owed = item.noticeOwed;
      yield {
        tenant: tenantFromItem(item),
        ...(owed === 'grace' || owed === 'suspended' ? { noticeOwed: owed } : {}),
      };
    }
  }

  /**
   * Places every tenant written before the lifecycle index existed (expiry-day buckets) in it, read
   * through the tenant listing; records written since are left alone. Returns the number moved.
   */
  async reindexLifecycle(): Promise<number> {
    let moved = 0;
    for await (const item of queryAll(this.#table, {
      IndexName: INDEX.listing,
      KeyConditionExpression: '#pk = :listing',
      ExpressionAttributeNames: { '#pk': LISTING.pk },
      ExpressionAttributeValues: { ':listing': TENANT_LISTING },
    })) {
      const tenant = tenantFromItem(item);
      const index = lifecycleIndex(tenant.status, tenant.expiresAt, tenant.id);
      // Already placed (written since the index exists): nothing to write.
      if (
        item[LIFECYCLE.sk] === index.sort &&
        (item[LIFECYCLE.pk] === undefined || isLifecyclePartition(String(item[LIFECYCLE.pk])))
      )
        continue;
      const placed = await this.#update(tenant.id, {
        UpdateExpression: `SET #lsk = :sort${index.partition === undefined ? ' REMOVE #lpk' : ', #lpk = :partition'}`,
        // Only records still in the old layout, and only if their status did not change meanwhile.
        ConditionExpression: '#status = :status AND (attribute_not_exists(#lpk) OR begins_with(#lpk, :old))',
        ExpressionAttributeNames: { '#status': 'status', '#lpk': LIFECYCLE.pk, '#lsk': LIFECYCLE.sk },
        ExpressionAttributeValues: {
          ':sort': index.sort,
          ':status': tenant.status,
          ':old': RETIRED_EXPIRY_PREFIX,
          ...(index.partition === undefined ? {} : { ':partition': index.partition }),
        },
      });
      if (placed !== null) moved++;
    }
    return moved;
  }

  /**
   * Records on a personal space the order that converted it (idempotent). NotPersonalSpaceError when
   * the tenant is not one, or does not exist.
   */
  async markConverted(id: string, orderId: string, now: string): Promise<Tenant> {
    const item = await this.#update(
      id,
      {
        UpdateExpression:
          'SET personal.convertedAt = if_not_exists(personal.convertedAt, :now), personal.conversionOrderId = :order, updatedAt = :now',
        ConditionExpression: 'attribute_exists(personal)',
        ExpressionAttributeValues: { ':now': now, ':order': orderId },
        ReturnValues: 'ALL_NEW',
      },
      (cause) => new NotPersonalSpaceError(id, { cause }),
    );
    return tenantFromItem(item);
  }

  /**
   * Replaces the host list if no other host change happened since it was read (its revision is
   * unchanged); null when one did. (A revision counter rather than comparing the lists: the local
   * store cannot compare lists in a condition.)
   */
  async replaceHosts(
    id: string,
    revision: number | null,
    after: readonly string[],
    now: string,
  ): Promise<Tenant | null> {
    const item = await this.#update(id, {
      UpdateExpression: 'SET hosts = :after, hostsRevision = :next, updatedAt = :now',
      ConditionExpression:
        revision === null
          ? 'attribute_exists(PK) AND attribute_not_exists(hostsRevision)'
          : 'attribute_exists(PK) AND hostsRevision = :revision',
      ExpressionAttributeValues: {
        ':after': after,
        ':next': (revision ?? 0) + 1,
        ':now': now,
        ...(revision === null ? {} : { ':revision': revision }),
      },
      ReturnValues: 'ALL_NEW',
    });
    return item === null ? null : tenantFromItem(item);
  }

  async #item(id: string, consistent: boolean): Promise<Record<string, unknown> | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: tenantKey(id), ConsistentRead: consistent }),
    );
    return result.Item;
  }

  /** A conditional update of a tenant record: its attributes as asked, or null when refused. */
  #update(id: string, input: TenantUpdate): Promise<Record<string, unknown> | null>;
  #update(id: string, input: TenantUpdate, refused: Refusal): Promise<Record<string, unknown>>;
  #update(id: string, input: TenantUpdate, refused?: Refusal): Promise<Record<string, unknown> | null> {
    const update = { Key: tenantKey(id), ...input };
    return refused === undefined ? updateItem(this.#table, update) : updateItem(this.#table, update, refused);
  }
}
