/**
 * Where orders are stored (`ORDER#<id>` in the public partition, with a conversion's admin password
 * hash until the conversion is applied). Every DynamoDB call of the order center is here; items are
 * parsed at this boundary. Each step of a confirmation is one conditional write whose refusal is an
 * answer (the order moved meanwhile: the caller re-reads it); an order that cannot take a change is
 * OrderStateError. The order of the steps and what a renewal is stay in orders.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ITEM_TYPE } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import type { TenantStatus } from '../tenancy/domain.ts';
import { ConcurrentChangeError, OrderStateError } from './errors.ts';
import { ORDER_PREFIX, orderKey } from './keys.ts';
import type { Conversion, Order, OrderStatus } from './orders.ts';
import { newestFirst } from './paging.ts';

/** What a confirmation will do to its tenant, computed from the tenant as it was read. */
export interface Renewal {
  readonly previousExpiry: string;
  readonly previousStatus: TenantStatus;
  readonly newExpiry: string;
  readonly newStatus: TenantStatus;
}

function orderFromItem(item: Record<string, unknown>): Order {
  const optional = (field: string) => (typeof item[field] === 'string' ? { [field]: item[field] } : {});
  return {
    id: String(item.id),
    tenantId: String(item.tenantId),
    ...optional('customerId'),
    plan: String(item.plan),
    months: Number(item.months),
    amount: Number(item.amount),
    currency: String(item.currency),
    status: item.status as OrderStatus,
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    ...optional('confirmedAt'),
    ...optional('confirmedBy'),
    ...optional('previousExpiry'),
    ...optional('previousStatus'),
    ...optional('newExpiry'),
    ...optional('newStatus'),
    ...optional('paidAt'),
    ...optional('cancelledAt'),
    ...optional('cancelledBy'),
    ...(item.conversion !== null && typeof item.conversion === 'object'
      ? { conversion: item.conversion as Conversion }
      : {}),
  } as Order;
}

function renewalValues(renewal: Renewal): Record<string, unknown> {
  return {
    ':previousExpiry': renewal.previousExpiry,
    ':previousStatus': renewal.previousStatus,
    ':newExpiry': renewal.newExpiry,
    ':newStatus': renewal.newStatus,
  };
}

export class OrderRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** An order (strongly consistent), or null. */
  async find(id: string): Promise<Order | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: orderKey(id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : orderFromItem(result.Item);
  }

  /** Newest first. */
  page(limit: number, cursor?: string): Promise<Page<Order>> {
    return newestFirst(this.#table, ORDER_PREFIX, limit, cursor, orderFromItem);
  }

  /** Writes a new order (with a conversion's password hash); its id taken is ConcurrentChangeError. */
  async create(order: Order, conversionAdminPasswordHash?: string): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: {
          ...orderKey(order.id),
          type: ITEM_TYPE.order,
          ...order,
          ...(conversionAdminPasswordHash === undefined ? {} : { conversionAdminPasswordHash }),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConcurrentChangeError(`Order ${order.id} exists already; retry`, { cause: error }),
    );
  }

  /** The stored admin password hash of a conversion not applied yet (null once applied, or none). */
  async conversionPasswordHash(id: string): Promise<string | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: orderKey(id), ConsistentRead: true }),
    );
    const hash = result.Item?.conversionAdminPasswordHash;
    return typeof hash === 'string' ? hash : null;
  }

  /**
   * Marks a paid order's conversion applied (its first time kept) and forgets its password hash.
   * An order that is not a paid conversion is OrderStateError.
   */
  async conversionApplied(id: string, at: string): Promise<Order> {
    const result = await updateItem(
      this.#table,
      {
        Key: orderKey(id),
        UpdateExpression:
          'SET conversion.appliedAt = if_not_exists(conversion.appliedAt, :now) REMOVE conversionAdminPasswordHash',
        ConditionExpression: 'attribute_exists(conversion) AND #status = :paid',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':now': at, ':paid': 'paid' },
        ReturnValues: 'ALL_NEW',
      },
      (error) => new OrderStateError(`Order ${id} is not a paid conversion`, { cause: error }),
    );
    return orderFromItem(result);
  }

  /** Cancels a pending order; null when the order is not pending (or not there). */
  async cancel(id: string, at: string, by: string): Promise<Order | null> {
    const result = await updateItem(this.#table, {
      Key: orderKey(id),
      UpdateExpression: 'SET #status = :cancelled, cancelledAt = :now, cancelledBy = :by',
      ConditionExpression: 'attribute_exists(PK) AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':cancelled': 'cancelled',
        ':pending': 'pending',
        ':now': at,
        ':by': by,
      },
      ReturnValues: 'ALL_NEW',
    });
    return result === null ? null : orderFromItem(result);
  }

  /** Step 1: `pending → paying` with the renewal to apply. False when the order moved meanwhile. */
  async markPaying(id: string, renewal: Renewal, at: string, by: string): Promise<boolean> {
    return this.#step(id, {
      UpdateExpression:
        'SET #status = :paying, confirmedAt = :now, confirmedBy = :by, previousExpiry = :previousExpiry, previousStatus = :previousStatus, newExpiry = :newExpiry, newStatus = :newStatus',
      ConditionExpression: '#status = :pending',
      ExpressionAttributeValues: {
        ':paying': 'paying',
        ':pending': 'pending',
        ':now': at,
        ':by': by,
        ...renewalValues(renewal),
      },
    });
  }

  /**
   * Replaces a paying order's renewal, if it was still computed from `seen`. False when another
   * confirmation recomputed or finished it.
   */
  async recompute(
    id: string,
    seen: { readonly expiry: string | undefined; readonly status: TenantStatus | undefined },
    renewal: Renewal,
  ): Promise<boolean> {
    return this.#step(id, {
      UpdateExpression:
        'SET previousExpiry = :previousExpiry, previousStatus = :previousStatus, newExpiry = :newExpiry, newStatus = :newStatus',
      ConditionExpression:
        '#status = :paying AND previousExpiry = :seenExpiry AND previousStatus = :seenStatus',
      ExpressionAttributeValues: {
        ':paying': 'paying',
        ':seenExpiry': seen.expiry,
        ':seenStatus': seen.status,
        ...renewalValues(renewal),
      },
    });
  }

  /**
   * Undoes step 1 (`paying → pending`, the renewal forgotten) when a conversion's write was refused
   * before the renewal. False when the order moved meanwhile.
   */
  async backToPending(id: string): Promise<boolean> {
    return this.#step(id, {
      UpdateExpression:
        'SET #status = :pending REMOVE confirmedAt, confirmedBy, previousExpiry, previousStatus, newExpiry, newStatus',
      ConditionExpression: '#status = :paying',
      ExpressionAttributeValues: { ':pending': 'pending', ':paying': 'paying' },
    });
  }

  /** Step 3: `paying → paid`. True when this call made the change. */
  async markPaid(id: string): Promise<boolean> {
    return this.#step(id, {
      UpdateExpression: 'SET #status = :paid, paidAt = confirmedAt',
      ConditionExpression: '#status = :paying',
      ExpressionAttributeValues: { ':paid': 'paid', ':paying': 'paying' },
    });
  }

  /** One conditional step on an order's status: false when its condition refused it. */
  async #step(
    id: string,
    update: {
      readonly UpdateExpression: string;
      readonly ConditionExpression: string;
      readonly ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: orderKey(id),
        ...update,
        ExpressionAttributeNames: { '#status': 'status' },
      })) !== null
    );
  }
}
