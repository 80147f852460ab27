/**
 * The order center. An order renews one tenant for a number of months; confirming its payment
 * moves the tenant's expiry forward exactly once, however often the confirmation is retried or
 * wherever a previous attempt crashed. The store has no transactions, so confirmation is a chain of
 * conditional steps, each safe to repeat (docs/decisions/order-payment-idempotency.md):
 *
 * 0. While the order is pending, every check that can refuse it runs before anything is written (a
 *    conversion's: its lead and space still convertible, its hosts free, its admin name free).
 * 1. `pending → paying`: the order records the renewal it will apply (the tenant's expiry and
 *    status it was computed from, the new expiry and status) and when it was confirmed.
 *    A conversion then makes its writes that can still be refused (hosts, admin); a refusal undoes
 *    them and puts the order back to `pending`, so nothing of the confirmation remains.
 * 2. The tenant takes the renewal in one write that also adds the order id to its applied set,
 *    conditioned on that id not being there yet and on the expiry and status step 1 saw. If the
 *    tenant changed in between, the order's renewal is recomputed (conditionally) and step 2 retried.
 *    A conversion finishes (rename, space and lead converted) before the next step.
 * 3. `paying → paid`, the last mark. The ledger entry and audit follow; the ledger entry is keyed by
 *    the order, so a repeat writes nothing.
 *
 * A retry at any point re-reads the order and continues from the step it is at.
 */

import type { Order as OrderAnswer } from '../../contract/responses.ts';
import type { PaidPlan } from '../../contract/tenancy.ts';
import { counted } from '../../contract/wording.ts';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { NotFoundError, unlessNotFound, ValidationError } from '../errors.ts';
import type { Page } from '../pagination.ts';
import type { TenantStatus } from '../tenancy/domain.ts';
import type { Tenant, TenantRegistry } from '../tenancy/tenants.ts';
import { type Acting, recordPublic, timeOrderedId } from './acting.ts';
import type { Customers } from './customers.ts';
import { renewedExpiry, statusAfterPayment } from './dates.ts';
import { ConcurrentChangeError, OrderStateError } from './errors.ts';
import { OrderRepository, type Renewal } from './order-repository.ts';

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

/** An order as stored: the API's answer, its status typed, with the renewal's bookkeeping. */
export interface Order extends Omit<OrderAnswer, 'status'> {
  readonly status: OrderStatus;
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
  readonly plan: PaidPlan;
  readonly months: number;
  readonly amount: number;
  readonly currency?: string;
  /** A conversion of a personal space (checked by its caller, free/spaces.ts). */
  readonly conversion?: Conversion & { readonly adminPasswordHash: string };
  /** An id chosen beforehand (a conversion names its order on its lead first). @default a new one */
  readonly id?: string;
}

/**
 * What confirming a conversion order does besides the renewal (free/spaces.ts). Every step is
 * idempotent: a replayed confirmation runs the ones it reaches again.
 */
export interface ConversionSteps {
  /** Every check that can refuse the conversion, while nothing is written yet (a conflict throws). */
  check(order: Order): Promise<void>;
  /**
   * The writes that can still be refused (hosts, admin), before the renewal. With `undoOnRefusal`,
   * a refused write undoes those made before it, then throws.
   */
  bind(order: Order, by: Acting, undoOnRefusal: boolean): Promise<void>;
  /** The rest (rename, space and lead converted), after the renewal and before the paid mark. */
  complete(order: Order, by: Acting): Promise<void>;
  /** After the paid mark: the password hash goes, the conversion is recorded. */
  applied(order: Order, by: Acting): Promise<void>;
}

const NO_CONVERSION: ConversionSteps = {
  check: () => Promise.reject(new OrderStateError('Conversions are not available here')),
  bind: async () => undefined,
  complete: async () => undefined,
  applied: async () => undefined,
};

export interface OrderOutcome {
  readonly order: Order;
  /** False when the call found the work already done (a replay). */
  readonly changed: boolean;
}

const ORDER_ID_PATTERN = /^ord_[0-9a-z]{10}[0-9a-f]{10}$/;

/** Steps one confirmation may take before it reports a concurrent change. */
const MAX_STEPS = 12;

/**
 * The expiry a payment extends: the tenant's own, except for a conversion, whose personal space had
 * no paid period (its expiry is a placeholder far in the future): that one counts from the payment.
 */
function paidFrom(order: Order, tenant: Tenant): string {
  return order.conversion === undefined ? tenant.expiresAt : new Date(0).toISOString();
}

/** The renewal a payment gives a tenant as it is now. */
function renewalOf(order: Order, tenant: Tenant, now: Date): Renewal {
  return {
    previousExpiry: tenant.expiresAt,
    previousStatus: tenant.status,
    newExpiry: renewedExpiry(paidFrom(order, tenant), order.months, now),
    newStatus: statusAfterPayment(tenant.status),
  };
}

export class Orders {
  readonly #store: OrderRepository;
  readonly #tenants: TenantRegistry;
  readonly #customers: Customers;
  readonly #audit: AuditLog;
  readonly #now: () => Date;
  #conversion: ConversionSteps = NO_CONVERSION;

  constructor(options: {
    table: Table;
    tenants: TenantRegistry;
    customers: Customers;
    audit: AuditLog;
    now?: () => Date;
  }) {
    this.#store = new OrderRepository(options.table);
    this.#tenants = options.tenants;
    this.#customers = options.customers;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  /** What confirming a conversion order does besides renewing its tenant (a personal space's). */
  onConversion(steps: ConversionSteps): void {
    this.#conversion = steps;
  }

  /** An id for an order created later (`NewOrder.id`). */
  newId(): string {
    return timeOrderedId('ord', this.#now());
  }

  /** The stored admin password hash of a conversion not applied yet (null once applied, or none). */
  conversionPasswordHash(id: string): Promise<string | null> {
    return this.#store.conversionPasswordHash(id);
  }

  /** A conversion's steps all completed: its password hash goes, and it says when. Idempotent. */
  conversionApplied(id: string): Promise<Order> {
    return this.#store.conversionApplied(id, this.#now().toISOString());
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
      id: input.id ?? timeOrderedId('ord', now),
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
    await this.#store.create(order, input.conversion?.adminPasswordHash);
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
        summary: `Order for ${counted(order.months, 'month')} of ${order.plan} on ${order.tenantId}`,
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
    const order = await this.#store.find(id);
    if (order === null) throw new NotFoundError(`Order ${id} not found`);
    return order;
  }

  /** Newest first. */
  list(limit: number, cursor?: string): Promise<Page<Order>> {
    return this.#store.page(limit, cursor);
  }

  /**
   * The orders as an operator reads them before paying: each pending one with the `renewal` its
   * payment would give now — its tenant's expiry, and the expiry after it — so nobody confirms a
   * payment without seeing the dates it moves (a 12-month order on a tenant created with a year
   * already given runs two years). One read per tenant of the list.
   */
  async withRenewal<T extends Order>(order: T): Promise<T & Pick<OrderAnswer, 'renewal'>> {
    const [one = order] = await this.withRenewals([order]);
    return one;
  }

  /** `withRenewal` for each order of a list. */
  async withRenewals<T extends Order>(orders: readonly T[]): Promise<(T & Pick<OrderAnswer, 'renewal'>)[]> {
    const now = this.#now();
    const tenants = new Map<string, Promise<Tenant | null>>();
    const tenantOf = (id: string) => {
      let tenant = tenants.get(id);
      if (tenant === undefined) {
        tenant = unlessNotFound(this.#tenants.get(id)).then((found) => found ?? null);
        tenants.set(id, tenant);
      }
      return tenant;
    };
    return Promise.all(
      orders.map(async (order) => {
        if (order.status !== 'pending') return order;
        const tenant = await tenantOf(order.tenantId);
        if (tenant === null) return order;
        const { previousExpiry, newExpiry } = renewalOf(order, tenant, now);
        return { ...order, renewal: { previousExpiry, newExpiry } };
      }),
    );
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
          // its steps: an order paid before conversions were finished before the paid mark may still
          // lack some), change nothing else.
          await this.#ledgerPayment(order);
          if (order.conversion !== undefined && order.conversion.appliedAt === undefined) {
            await this.#conversion.bind(order, by, false);
            await this.#conversion.complete(order, by);
            await this.#conversion.applied(order, by);
          }
          return { order: await this.get(id), changed };
        case 'pending': {
          const tenant = await this.#tenants.get(order.tenantId);
          if (order.conversion !== undefined) await this.#conversion.check(order);
          await this.#markPaying(order, tenant, by);
          break;
        }
        case 'paying': {
          if (order.conversion !== undefined) {
            // Before the renewal, a refusal can still be undone; once the renewal is in (a replay
            // after a crash), the order goes on or waits in `paying`, never back.
            const undo = !(await this.#tenants.hasApplied(order.tenantId, order.id));
            try {
              await this.#conversion.bind(order, by, undo);
            } catch (error) {
              // Refused after the checks (a host or the admin name taken meanwhile): its own writes
              // are undone; the order goes back to pending, so the confirmation left nothing.
              if (undo) await this.#store.backToPending(order.id);
              throw error;
            }
          }
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
          if (order.conversion !== undefined) await this.#conversion.complete(order, by);
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
            if (paid.conversion !== undefined) await this.#conversion.applied(paid, by);
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
    const cancelled = await this.#store.cancel(id, this.#now().toISOString(), by.actor.username);
    if (cancelled !== null) {
      await this.#ledgerCancel(cancelled);
      await recordPublic(this.#audit, by, 'order.cancelled', `order:${id}`, { tenantId: cancelled.tenantId });
      return { order: cancelled, changed: true };
    }
    const order = await this.get(id);
    if (order.status !== 'cancelled') {
      throw new OrderStateError(`Order ${id} is ${order.status} and can no longer be cancelled`, {
        extra: { orderStatus: order.status },
      });
    }
    await this.#ledgerCancel(order);
    return { order, changed: false };
  }

  /** Step 1: `pending → paying` with the renewal to apply. False when the order moved meanwhile. */
  async #markPaying(order: Order, tenant: Tenant, by: Acting): Promise<boolean> {
    if (tenant.status === 'archived') {
      throw new OrderStateError(`Tenant ${tenant.id} is archived; restore it before confirming payment`);
    }
    const now = this.#now();
    return this.#store.markPaying(
      order.id,
      renewalOf(order, tenant, now),
      now.toISOString(),
      by.actor.username,
    );
  }

  /** The tenant changed between steps 1 and 2: recompute the renewal from what it says now. */
  async #recompute(order: Order): Promise<void> {
    const tenant = await this.#tenants.get(order.tenantId);
    if (tenant.status === 'archived') {
      throw new OrderStateError(`Tenant ${tenant.id} is archived; restore it and retry the confirmation`);
    }
    // False: another confirmation recomputed or finished it; the next step re-reads the order.
    await this.#store.recompute(
      order.id,
      { expiry: order.previousExpiry, status: order.previousStatus },
      renewalOf(order, tenant, this.#now()),
    );
  }

  /** Step 3: `paying → paid`. True when this call made the change. */
  #markPaid(order: Order): Promise<boolean> {
    return this.#store.markPaid(order.id);
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
      summary: `Order for ${counted(order.months, 'month')} of ${order.plan} on ${order.tenantId} cancelled`,
    });
  }
}
