/**
 * Customer ledgers: the customers billing ops deal with (with their contacts), which tenants each
 * holds, and an append-only ledger per customer of what happened to it — tenants linked, orders,
 * payments, cancellations, renewal reminders, grace and suspension — newest first with cursors.
 *
 * A ledger entry's key is built from its stable moment and a deterministic id, and written only if
 * absent, so every writer (a retried payment confirmation, a re-run scan) records it once.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Contact } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import { isConditionFailure, queryAll, type Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import { ITEM_TYPE, publicPk } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { type Acting, recordPublic, timeOrderedId } from './acting.ts';
import {
  CUSTOMER_PREFIX,
  customerKey,
  customerTenantKey,
  customerTenantPrefix,
  ledgerKey,
  ledgerPrefix,
} from './keys.ts';
import { newestFirst } from './paging.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Contact };

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly contacts: readonly Contact[];
  readonly notes?: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

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

function customerFromItem(item: Record<string, unknown>): Customer {
  return {
    id: String(item.id),
    name: String(item.name),
    contacts: (item.contacts as Contact[] | undefined) ?? [],
    ...(typeof item.notes === 'string' ? { notes: item.notes } : {}),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
  };
}

function entryFromItem(item: Record<string, unknown>): LedgerEntry {
  return {
    id: String(item.id),
    customerId: String(item.customerId),
    kind: item.kind as LedgerKind,
    at: String(item.at),
    summary: String(item.summary),
    ...(typeof item.tenantId === 'string' ? { tenantId: item.tenantId } : {}),
    ...(typeof item.orderId === 'string' ? { orderId: item.orderId } : {}),
    ...(typeof item.amount === 'number' ? { amount: item.amount } : {}),
    ...(typeof item.currency === 'string' ? { currency: item.currency } : {}),
    ...(item.details === undefined ? {} : { details: item.details as Record<string, unknown> }),
  };
}

export class Customers {
  readonly #table: Table;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#table = options.table;
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
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...customerKey(customer.id), type: ITEM_TYPE.customer, ...customer },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    // Contact details are personal data: the audit keeps who created what, not the contacts.
    await recordPublic(this.#audit, by, 'customer.created', `customer:${customer.id}`, {
      name: customer.name,
      contacts: customer.contacts.length,
    });
    return customer;
  }

  async get(id: string): Promise<Customer> {
    if (!CUSTOMER_ID_PATTERN.test(id)) throw new NotFoundError(`Customer ${id} not found`);
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: customerKey(id), ConsistentRead: true }),
    );
    if (result.Item === undefined) throw new NotFoundError(`Customer ${id} not found`);
    return customerFromItem(result.Item);
  }

  /** Newest first. */
  async list(limit: number, cursor?: string): Promise<Page<Customer>> {
    return newestFirst(this.#table, CUSTOMER_PREFIX, limit, cursor, customerFromItem);
  }

  /** Records that a customer holds a tenant (idempotent). */
  async linkTenant(customerId: string, tenantId: string): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: {
          ...customerTenantKey(customerId, tenantId),
          type: ITEM_TYPE.customerTenant,
          customerId,
          tenantId,
        },
      }),
    );
  }

  async unlinkTenant(customerId: string, tenantId: string): Promise<void> {
    await this.#table.client.send(
      new DeleteCommand({ TableName: this.#table.name, Key: customerTenantKey(customerId, tenantId) }),
    );
  }

  /** Ids of the tenants a customer holds (a customer holds a bounded number of tenants). */
  async tenantIdsOf(customerId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': publicPk, ':prefix': customerTenantPrefix(customerId) },
      ConsistentRead: true,
    })) {
      ids.push(String(item.tenantId));
    }
    return ids;
  }

  /** Appends an entry unless the same event is already recorded; true when this call wrote it. */
  async record(entry: LedgerEntry): Promise<boolean> {
    try {
      await this.#table.client.send(
        new PutCommand({
          TableName: this.#table.name,
          Item: { ...ledgerKey(entry.customerId, entry.at, entry.id), type: ITEM_TYPE.ledger, ...entry },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A customer's ledger, newest first. */
  async ledger(customerId: string, limit: number, cursor?: string): Promise<Page<LedgerEntry>> {
    await this.get(customerId);
    return newestFirst(this.#table, ledgerPrefix(customerId), limit, cursor, entryFromItem);
  }
}
