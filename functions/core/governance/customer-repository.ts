/**
 * Where customers are stored, all in the public partition: the customer (`CUSTOMER#<id>`), the
 * tenants it holds (`CUSTTENANT#<customer>#<tenant>`) and its ledger
 * (`LEDGER#<customer>#<at>#<entry>`). Every DynamoDB call of the customer ledgers is here; items are
 * parsed at this boundary, and a ledger entry recorded twice is an answer (`false`), not an error.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Contact } from '../../contract/responses.ts';
import { queryAll, type Table } from '../db.ts';
import { ITEM_TYPE, publicPk } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem } from '../store/conditional.ts';
import type { Customer, LedgerEntry, LedgerKind } from './customers.ts';
import { ConcurrentChangeError } from './errors.ts';
import {
  CUSTOMER_PREFIX,
  customerKey,
  customerTenantKey,
  customerTenantPrefix,
  ledgerKey,
  ledgerPrefix,
} from './keys.ts';
import { newestFirst } from './paging.ts';

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

export class CustomerRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes a new customer; its id taken is ConcurrentChangeError. */
  async create(customer: Customer): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: { ...customerKey(customer.id), type: ITEM_TYPE.customer, ...customer },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConcurrentChangeError(`Customer ${customer.id} exists already; retry`, { cause: error }),
    );
  }

  /** A customer (strongly consistent), or null. */
  async find(id: string): Promise<Customer | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: customerKey(id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : customerFromItem(result.Item);
  }

  /** Newest first. */
  page(limit: number, cursor?: string): Promise<Page<Customer>> {
    return newestFirst(this.#table, CUSTOMER_PREFIX, limit, cursor, customerFromItem);
  }

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

  /** Ids of the tenants a customer holds (strongly consistent; a bounded number). */
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

  /** Appends a ledger entry unless it is there already; true when this call wrote it. */
  async record(entry: LedgerEntry): Promise<boolean> {
    return putItem(this.#table, {
      Item: { ...ledgerKey(entry.customerId, entry.at, entry.id), type: ITEM_TYPE.ledger, ...entry },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }

  /** A customer's ledger, newest first. */
  ledgerPage(customerId: string, limit: number, cursor?: string): Promise<Page<LedgerEntry>> {
    return newestFirst(this.#table, ledgerPrefix(customerId), limit, cursor, entryFromItem);
  }
}
