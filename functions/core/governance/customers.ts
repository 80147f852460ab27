/**
 * Customer ledgers: the customers billing ops deal with (with their contacts), which tenants each
 * holds, and an append-only ledger per customer of what happened to it — tenants linked, orders,
 * payments, cancellations, renewal reminders, grace and suspension — newest first with cursors.
 *
 * A ledger entry's key is built from its stable moment and a deterministic id, and written only if
 * absent, so every writer (a retried payment confirmation, a re-run scan) records it once.
 */
import type { Contact, Customer as CustomerAnswer } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import type { Page } from '../pagination.ts';
import { type Acting, recordPublic, timeOrderedId } from './acting.ts';
import { CustomerRepository } from './customer-repository.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Contact };

/** A customer as stored: the API's answer without the tenants it adds when asked. */
export type Customer = Omit<CustomerAnswer, 'tenants'>;

export interface NewCustomer {
  readonly name: string;
  readonly contacts: readonly Contact[];
  readonly notes?: string;
}

export const LEDGER_KINDS = [
  'tenant-linked',
  'tenant-unlinked',
  'order-created',
  'payment-confirmed',
  'order-cancelled',
  'renewal-reminder',
  'tenant-grace',
  'tenant-suspended',
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export interface LedgerEntry {
  /** Deterministic: the same event always has the same id. */
  readonly id: string;
  readonly customerId: string;
  readonly kind: LedgerKind;
  /** The event's stable moment (when it happened or fell due), the ledger's order. */
  readonly at: string;
  readonly summary: string;
  readonly tenantId?: string;
  readonly orderId?: string;
  readonly amount?: number;
  readonly currency?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Customer ids as this module issues them. */
const CUSTOMER_ID_PATTERN = /^cus_[0-9a-z]{10}[0-9a-f]{10}$/;

export class Customers {
  readonly #store: CustomerRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#store = new CustomerRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  async create(input: NewCustomer, by: Acting): Promise<Customer> {
    const now = this.#now();
    const customer: Customer = {
      id: timeOrderedId('cus', now),
      name: input.name,
      contacts: input.contacts.map((contact) => ({ ...contact })),
      ...(input.notes === undefined ? {} : { notes: input.notes }),
      createdAt: now.toISOString(),
      createdBy: by.actor.username,
    };
    await this.#store.create(customer);
    // Contact details are personal data: the audit keeps who created what, not the contacts.
    await recordPublic(this.#audit, by, 'customer.created', `customer:${customer.id}`, {
      name: customer.name,
      contacts: customer.contacts.length,
    });
    return customer;
  }

  async get(id: string): Promise<Customer> {
    if (!CUSTOMER_ID_PATTERN.test(id)) throw new NotFoundError(`Customer ${id} not found`);
    const customer = await this.#store.find(id);
    if (customer === null) throw new NotFoundError(`Customer ${id} not found`);
    return customer;
  }

  /** Newest first. */
  list(limit: number, cursor?: string): Promise<Page<Customer>> {
    return this.#store.page(limit, cursor);
  }

  /** Records that a customer holds a tenant (idempotent). */
  linkTenant(customerId: string, tenantId: string): Promise<void> {
    return this.#store.linkTenant(customerId, tenantId);
  }

  unlinkTenant(customerId: string, tenantId: string): Promise<void> {
    return this.#store.unlinkTenant(customerId, tenantId);
  }

  /** Ids of the tenants a customer holds (a customer holds a bounded number of tenants). */
  tenantIdsOf(customerId: string): Promise<string[]> {
    return this.#store.tenantIdsOf(customerId);
  }

  /** Appends an entry unless the same event is already recorded; true when this call wrote it. */
  record(entry: LedgerEntry): Promise<boolean> {
    return this.#store.record(entry);
  }

  /** A customer's ledger, newest first. */
  async ledger(customerId: string, limit: number, cursor?: string): Promise<Page<LedgerEntry>> {
    await this.get(customerId);
    return this.#store.ledgerPage(customerId, limit, cursor);
  }
}
