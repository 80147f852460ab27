/**
 * The order center. An order renews one tenant for a number of months; confirming its payment
 * moves the tenant's expiry forward exactly once, however often the confirmation is retried or
 * wherever a previous attempt crashed. The store has no transactions, so confirmation is a chain of
 * conditional steps, each safe to repeat (docs/decisions/order-payment-idempotency.md):
 *
 * 1. `pending → paying`: the order records the renewal it will apply (the tenant's expiry and
 *    status it was computed from, the new expiry and status) and when it was confirmed.
 * 2. The tenant takes the renewal in one write that also adds the order id to its applied set,
 *    conditioned on that id not being there yet and on the expiry and status step 1 saw. If the
 *    tenant changed in between, the order's renewal is recomputed (conditionally) and step 2 retried.
 * 3. `paying → paid`. The ledger entry and audit follow; the ledger entry is keyed by the order, so
 *    a repeat writes nothing.
 *
 * A retry at any point re-reads the order and continues from the step it is at.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditLog } from '../audit/chain.ts';
import { isConditionFailure, type Table } from '../db.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { ITEM_TYPE } from '../keys.ts';
import type { Page } from '../pagination.ts';
import type { TenantStatus } from '../tenancy/domain.ts';
import type { Tenant, TenantRegistry } from '../tenancy/tenants.ts';
import { type Acting, recordPublic, timeOrderedId } from './acting.ts';
import type { Customers } from './customers.ts';
import { renewedExpiry, statusAfterPayment } from './dates.ts';
import { ConcurrentChangeError, OrderStateError } from './errors.ts';
import { ORDER_PREFIX, orderKey } from './keys.ts';
import { newestFirst } from './paging.ts';

export const ORDER_STATUSES = ['pending', 'paying', 'paid', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const DEFAULT_CURRENCY = 'USD';

/**
 * What an order that converts a personal space of the free edition into a standard tenant does
 * besides renewing it, once paid: bind the new hosts, create the first admin, rename the tenant.
 * The admin's password is kept only as its scrypt hash, and only until the conversion is applied.
 */
export interface Conversion {
  readonly leadId: string;
  readonly hosts: readonly string[];
  readonly adminUsername: string;
  readonly name?: string;
  /** When the paid order's conversion steps all completed. */
  readonly appliedAt?: string;
}

export interface Order {
  readonly id: string;
  readonly tenantId: string;
  readonly customerId?: string;
  readonly plan: string;
  readonly months: number;
  readonly amount: number;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly confirmedAt?: string;
  readonly confirmedBy?: string;
  /** The tenant's expiry and status the renewal was computed from. */
  readonly previousExpiry?: string;
  readonly previousStatus?: TenantStatus;
  /** The expiry and status the renewal gives the tenant. */
  readonly newExpiry?: string;
  readonly newStatus?: TenantStatus;
  readonly paidAt?: string;
  readonly cancelledAt?: string;
  readonly cancelledBy?: string;
  readonly conversion?: Conversion;
}

export interface NewOrder {
  readonly tenantId: string;
  readonly plan: string;
  readonly months: number;
  readonly amount: number;
  readonly currency?: string;
  /** A conversion of a personal space (checked by its caller, free/conversions.ts). */
  readonly conversion?: Conversion & { readonly adminPasswordHash: string };
}

/** Runs after an order is paid (and again on every replay of the confirmation): must be idempotent. */
export type AfterPaid = (order: Order, by: Acting) => Promise<void>;

export interface OrderOutcome {
  readonly order: Order;
  /** False when the call found the work already done (a replay). */
  readonly changed: boolean;
}

const ORDER_ID_PATTERN = /^ord_[0-9a-z]{10}[0-9a-f]{10}$/;

/** Steps one confirmation may take before it reports a concurrent change. */
const MAX_STEPS = 12;

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

/**
 * The expiry a payment extends: the tenant's own, except for a conversion, whose personal space had
 * no paid period (its expiry is a placeholder far in the future): that one counts from the payment.
 */
function paidFrom(order: Order, tenant: Tenant): string {
  return order.conversion === undefined ? tenant.expiresAt : new Date(0).toISOString();
}

export class Orders {
  readonly #table: Table;
  readonly #tenants: TenantRegistry;
  readonly #customers: Customers;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  #afterPaid: AfterPaid = async () => undefined;

  constructor(options: {
    table: Table;
    tenants: TenantRegistry;
    customers: Customers;
    audit: AuditLog;
    now?: () => Date;
  }) {
    this.#table = options.table;
    this.#tenants = options.tenants;
    this.#customers = options.customers;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  /** What a paid order does besides renewing its tenant (a personal space's conversion). */
  onPaid(afterPaid: AfterPaid): void {
    this.#afterPaid = afterPaid;
  }

  /** The stored admin password hash of a conversion not applied yet (null once applied, or none). */
  async conversionPasswordHash(id: string): Promise<string | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: orderKey(id), ConsistentRead: true }),
    );
    const hash = result.Item?.conversionAdminPasswordHash;
    return typeof hash === 'string' ? hash : null;
  }

  /** A conversion's steps all completed: its password hash goes, and it says when. Idempotent. */
  async conversionApplied(id: string): Promise<Order> {
    const result = await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: orderKey(id),
        UpdateExpression:
          'SET conversion.appliedAt = if_not_exists(conversion.appliedAt, :now) REMOVE conversionAdminPasswordHash',
        ConditionExpression: 'attribute_exists(conversion) AND #status = :paid',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':now': this.#now().toISOString(), ':paid': 'paid' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return orderFromItem(result.Attributes ?? {});
  }

  async create(input: NewOrder, by: Acting): Promise<Order> {
    const tenant = await this.#tenants.get(input.tenantId).catch((error: unknown) => {
      if (error instanceof NotFoundError) {
        throw new ValidationError('Unknown tenant', [
          { path: 'tenantId', message: `no tenant ${input.tenantId}` },
        ]);
      }
      throw error;
    });
    if (tenant.status === 'archived') throw new OrderStateError(`Tenant ${tenant.id} is archived`);
    const personal = tenant.personal !== undefined && tenant.personal.convertedAt === undefined;
    if (personal && input.conversion === undefined) {
      throw new OrderStateError(
        `Tenant ${tenant.id} is a personal space: order its conversion from its lead instead`,
      );
    }
    if (!personal && input.conversion !== undefined) {
      throw new OrderStateError(`Tenant ${tenant.id} is not a personal space to convert`);
    }
    const now = this.#now();
    const order: Order = {
      id: timeOrderedId('ord', now),
      tenantId: tenant.id,
      ...(tenant.customerId === undefined ? {} : { customerId: tenant.customerId }),
      plan: input.plan,
      months: input.months,
      amount: input.amount,
      currency: input.currency ?? DEFAULT_CURRENCY,
      status: 'pending',
      createdAt: now.toISOString(),
      createdBy: by.actor.username,
      ...(input.conversion === undefined
        ? {}
        : {
            conversion: {
              leadId: input.conversion.leadId,
              hosts: [...input.conversion.hosts],
              adminUsername: input.conversion.adminUsername,
              ...(input.conversion.name === undefined ? {} : { name: input.conversion.name }),
            },
          }),
    };
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...orderKey(order.id),
          type: ITEM_TYPE.order,
          ...order,
          ...(input.conversion === undefined
            ? {}
            : { conversionAdminPasswordHash: input.conversion.adminPasswordHash }),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    if (order.customerId !== undefined) {
      await this.#customers.record({
        id: `order-${order.id}-created`,
        customerId: order.customerId,
        kind: 'order-created',
        at: order.createdAt,
        tenantId: order.tenantId,
        orderId: order.id,
        amount: order.amount,
        currency: order.currency,
        summary: `Order for ${order.months} month(s) of ${order.plan} on ${order.tenantId}`,
      });
    }
    await recordPublic(this.#audit, by, 'order.created', `order:${order.id}`, {
      tenantId: order.tenantId,
      plan: order.plan,
      months: order.months,
      amount: order.amount,
      currency: order.currency,
      ...(order.conversion === undefined ? {} : { conversion: order.conversion }),
    });
    return order;
  }

  async get(id: string): Promise<Order> {
    if (!ORDER_ID_PATTERN.test(id)) throw new NotFoundError(`Order ${id} not found`);
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: orderKey(id), ConsistentRead: true }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Order ${id} not found`);
    return orderFromItem(result.Item);
  }

  /** Newest first. */
  list(limit: number, cursor?: string): Promise<Page<Order>> {
    return newestFirst(this.#table, ORDER_PREFIX, limit, cursor, orderFromItem);
  }

  /** Confirms payment: see the module comment. Safe to call any number of times. */
  async confirmPayment(id: string, by: Acting): Promise<OrderOutcome> {
    let changed = false;
    for (let step = 0; step < MAX_STEPS; step++) {
      const order = await this.get(id);
      switch (order.status) {
        case 'cancelled':
          throw new OrderStateError(`Order ${id} was cancelled`, { extra: { orderStatus: order.status } });
        case 'paid':
          // A replay, or a crash after the last step: make sure the ledger has it (and a conversion
          // its steps), change nothing else.
          await this.#ledgerPayment(order);
          await this.#afterPaid(order, by);
          return { order: await this.get(id), changed };
        case 'pending': {
          const tenant = await this.#tenants.get(order.tenantId);
          await this.#markPaying(order, tenant, by);
          break;
        }
        case 'paying': {
          const outcome = await this.#tenants.applyRenewal(order.tenantId, {
            orderId: order.id,
            previousExpiry: String(order.previousExpiry),
            previousStatus: order.previousStatus ?? 'active',
            expiresAt: String(order.newExpiry),
            status: order.newStatus ?? 'active',
            plan: order.plan,
          });
          if (outcome === 'stale') {
            await this.#recompute(order);
            break;
          }
          if (await this.#markPaid(order)) {
            changed = true;
            const paid = await this.get(id);
            await this.#ledgerPayment(paid);
            await recordPublic(this.#audit, by, 'order.paid', `order:${id}`, {
              tenantId: paid.tenantId,
              months: paid.months,
              amount: paid.amount,
              currency: paid.currency,
              previousExpiry: paid.previousExpiry,
              newExpiry: paid.newExpiry,
              previousStatus: paid.previousStatus,
              newStatus: paid.newStatus,
            });
            await this.#afterPaid(paid, by);
            return { order: await this.get(id), changed };
          }
          break;
        }
      }
    }
    throw new ConcurrentChangeError(`Order ${id} or its tenant kept changing; retry the confirmation`);
  }

  /** Cancels a pending order; a repeat of a cancellation is a no-op. */
  async cancel(id: string, by: Acting): Promise<OrderOutcome> {
    const now = this.#now().toISOString();
    try {
      const result = await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: orderKey(id),
          UpdateExpression: 'SET #status = :cancelled, cancelledAt = :now, cancelledBy = :by',
          ConditionExpression: 'attribute_exists(PK) AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':cancelled': 'cancelled',
            ':pending': 'pending',
            ':now': now,
            ':by': by.actor.username,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const order = orderFromItem(result.Attributes ?? {});
      await this.#ledgerCancel(order);
      await recordPublic(this.#audit, by, 'order.cancelled', `order:${id}`, { tenantId: order.tenantId });
      return { order, changed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const order = await this.get(id);
      if (order.status !== 'cancelled') {
        throw new OrderStateError(`Order ${id} is ${order.status} and can no longer be cancelled`, {
          extra: { orderStatus: order.status },
        });
      }
      await this.#ledgerCancel(order);
      return { order, changed: false };
    }
  }

  /** Step 1: `pending → paying` with the renewal to apply. False when the order moved meanwhile. */
  async #markPaying(order: Order, tenant: Tenant, by: Acting): Promise<boolean> {
    if (tenant.status === 'archived') {
      throw new OrderStateError(`Tenant ${tenant.id} is archived; restore it before confirming payment`);
    }
    const now = this.#now();
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: orderKey(order.id),
          UpdateExpression:
            'SET #status = :paying, confirmedAt = :now, confirmedBy = :by, previousExpiry = :previousExpiry, previousStatus = :previousStatus, newExpiry = :newExpiry, newStatus = :newStatus',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':paying': 'paying',
            ':pending': 'pending',
            ':now': now.toISOString(),
            ':by': by.actor.username,
            ':previousExpiry': tenant.expiresAt,
            ':previousStatus': tenant.status,
            ':newExpiry': renewedExpiry(paidFrom(order, tenant), order.months, now),
            ':newStatus': statusAfterPayment(tenant.status),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The tenant changed between steps 1 and 2: recompute the renewal from what it says now. */
  async #recompute(order: Order): Promise<void> {
    const tenant = await this.#tenants.get(order.tenantId);
    if (tenant.status === 'archived') {
      throw new OrderStateError(`Tenant ${tenant.id} is archived; restore it and retry the confirmation`);
    }
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: orderKey(order.id),
          UpdateExpression:
            'SET previousExpiry = :previousExpiry, previousStatus = :previousStatus, newExpiry = :newExpiry, newStatus = :newStatus',
          ConditionExpression:
            '#status = :paying AND previousExpiry = :seenExpiry AND previousStatus = :seenStatus',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':paying': 'paying',
            ':seenExpiry': order.previousExpiry,
            ':seenStatus': order.previousStatus,
            ':previousExpiry': tenant.expiresAt,
            ':previousStatus': tenant.status,
            ':newExpiry': renewedExpiry(paidFrom(order, tenant), order.months, this.#now()),
            ':newStatus': statusAfterPayment(tenant.status),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Another confirmation recomputed or finished it; the next step re-reads the order.
    }
  }

  /** Step 3: `paying → paid`. True when this call made the change. */
  async #markPaid(order: Order): Promise<boolean> {
    try {
      await this.#table.client.send(
        new UpdateCommand({
          TableName: this.#table.name,
          Key: orderKey(order.id),
          UpdateExpression: 'SET #status = :paid, paidAt = confirmedAt',
          ConditionExpression: '#status = :paying',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':paid': 'paid', ':paying': 'paying' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async #ledgerPayment(order: Order): Promise<void> {
    if (order.customerId === undefined) return;
    await this.#customers.record({
      id: `order-${order.id}-paid`,
      customerId: order.customerId,
      kind: 'payment-confirmed',
      at: String(order.paidAt ?? order.confirmedAt),
      tenantId: order.tenantId,
      orderId: order.id,
      amount: order.amount,
      currency: order.currency,
      summary: `Payment of ${order.amount} ${order.currency} confirmed; ${order.tenantId} renewed until ${order.newExpiry}`,
      details: { months: order.months, previousExpiry: order.previousExpiry, newExpiry: order.newExpiry },
    });
  }

  async #ledgerCancel(order: Order): Promise<void> {
    if (order.customerId === undefined) return;
    await this.#customers.record({
      id: `order-${order.id}-cancelled`,
      customerId: order.customerId,
      kind: 'order-cancelled',
      at: String(order.cancelledAt),
      tenantId: order.tenantId,
      orderId: order.id,
      amount: order.amount,
      currency: order.currency,
      summary: `Order for ${order.months} month(s) of ${order.plan} on ${order.tenantId} cancelled`,
    });
  }
}
