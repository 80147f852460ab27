/**
 * Where the free edition's leads are stored: one partition (`FREE#LEADS`, sorted by the lead's
 * time-ordered id) and two sparse filter indexes (by source, by status). Every DynamoDB call of the
 * leads is here; items are parsed at this boundary, and a status change refused because the lead
 * moved meanwhile is an answer (null). Which moves are allowed stays in leads.ts.
 */
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { ITEM_TYPE, indexKeyNames } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { type PagedQuery, queryPageOf, type SortRange } from '../store/paged-query.ts';
import { LEAD_INDEXES, LEADS_PARTITION, leadKey, leadsBySource, leadsByStatus } from './keys.ts';
import type { Lead, LeadStatus } from './leads.ts';

const BY_SOURCE = indexKeyNames(LEAD_INDEXES.source);
const BY_STATUS = indexKeyNames(LEAD_INDEXES.status);

function leadFromItem(item: Record<string, unknown>): Lead {
  const optional = (field: string) => (typeof item[field] === 'string' ? { [field]: item[field] } : {});
  return {
    id: String(item.id),
    handle: String(item.handle),
    tenantId: String(item.tenantId),
    host: String(item.host),
    email: String(item.email),
    ...optional('name'),
    source: String(item.source),
    ...optional('campaign'),
    ...optional('referrer'),
    templates: Array.isArray(item.templates) ? item.templates.map(String) : [],
    status: item.status as LeadStatus,
    createdAt: String(item.createdAt),
    sourceIp: String(item.sourceIp ?? ''),
    ...optional('disabledAt'),
    ...optional('disabledBy'),
    ...optional('disabledReason'),
    ...optional('convertedAt'),
    ...optional('orderId'),
    ...optional('plan'),
    ...optional('conversionOrderId'),
  } as Lead;
}

/** A lead's entries in the filter indexes, and what the console's text search looks in. */
function indexed(lead: Lead): Record<string, string> {
  return {
    [BY_SOURCE.pk]: leadsBySource(lead.source),
    [BY_SOURCE.sk]: lead.id,
    [BY_STATUS.pk]: leadsByStatus(lead.status),
    [BY_STATUS.sk]: lead.id,
    // Lower-cased once.
    searchText: [lead.email, lead.name ?? ''].join(' ').toLowerCase(),
  };
}

/** Where a listing reads: the ledger, or one filter index partition. */
export type LeadListing =
  | { readonly by: 'all' }
  | { readonly by: 'status'; readonly status: LeadStatus }
  | { readonly by: 'source'; readonly source: string };

export class LeadRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes a new lead; its id taken is ConflictError. */
  async create(lead: Lead): Promise<void> {
    await putItem(
      this.#table,
      {
        Item: { ...leadKey(lead.id), type: ITEM_TYPE.lead, ...lead, ...indexed(lead) },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
      (error) => new ConflictError(`Lead ${lead.id} exists; retry`, { cause: error }),
    );
  }

  /**
   * Names `orderId` as the lead's conversion order, if the lead is not converted and names no order
   * or still names `seen` (a cancelled or vanished one). False when the lead moved meanwhile.
   */
  async claimConversion(id: string, orderId: string, seen: string | undefined): Promise<boolean> {
    const result = await updateItem(this.#table, {
      Key: leadKey(id),
      UpdateExpression: 'SET conversionOrderId = :order',
      ConditionExpression:
        seen === undefined
          ? 'attribute_exists(PK) AND #status <> :converted AND attribute_not_exists(conversionOrderId)'
          : 'attribute_exists(PK) AND #status <> :converted AND conversionOrderId = :seen',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':order': orderId,
        ':converted': 'converted',
        ...(seen === undefined ? {} : { ':seen': seen }),
      },
    });
    return result !== null;
  }

  /** Forgets `orderId` as the lead's conversion order (an order that could not be written). */
  async releaseConversion(id: string, orderId: string): Promise<void> {
    await updateItem(this.#table, {
      Key: leadKey(id),
      UpdateExpression: 'REMOVE conversionOrderId',
      ConditionExpression: 'conversionOrderId = :order',
      ExpressionAttributeValues: { ':order': orderId },
    });
  }

  async delete(id: string): Promise<void> {
    await this.#table.client.send(new DeleteCommand({ TableName: this.#table.name, Key: leadKey(id) }));
  }

  /** A lead (strongly consistent), or null. */
  async find(id: string): Promise<Lead | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: leadKey(id), ConsistentRead: true }),
    );
    return result.Item === undefined ? null : leadFromItem(result.Item);
  }

  /**
   * Newest first: one listing, an id range (either end open), and what narrows each page — a
   * source (on the status index) and a lower-cased text in the handle, email or name.
   */
  page(
    listing: LeadListing,
    options: {
      readonly range?: SortRange;
      readonly source?: string;
      readonly text?: string;
      readonly limit: number;
      readonly cursor?: string;
    },
  ): Promise<Page<Lead>> {
    const where: Pick<PagedQuery, 'index' | 'partition'> =
      listing.by === 'status'
        ? { index: LEAD_INDEXES.status, partition: leadsByStatus(listing.status) }
        : listing.by === 'source'
          ? { index: LEAD_INDEXES.source, partition: leadsBySource(listing.source) }
          : { partition: LEADS_PARTITION };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const narrowing: string[] = [];
    if (options.source !== undefined) {
      names['#source'] = 'source';
      values[':source'] = options.source;
      narrowing.push('#source = :source');
    }
    if (options.text !== undefined) {
      values[':q'] = options.text;
      narrowing.push('(contains(handle, :q) OR contains(searchText, :q))');
    }
    return queryPageOf(
      this.#table,
      {
        ...where,
        ...(options.range === undefined ? {} : { range: options.range }),
        ...(narrowing.length === 0 ? {} : { filter: { expression: narrowing.join(' AND '), names, values } }),
        newestFirst: true,
        limit: options.limit,
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      },
      leadFromItem,
    );
  }

  /**
   * Moves a lead from `from` to `status` with `fields` (its status index entry moves in the same
   * write); the lead as written, or null when it is no longer at `from`.
   */
  async setStatus(
    id: string,
    from: LeadStatus,
    status: LeadStatus,
    fields: Readonly<Record<string, string>>,
  ): Promise<Lead | null> {
    const names: Record<string, string> = { '#status': 'status', '#index': BY_STATUS.pk };
    const values: Record<string, unknown> = {
      ':status': status,
      ':from': from,
      ':index': leadsByStatus(status),
    };
    const sets = ['#status = :status', '#index = :index'];
    for (const [field, value] of Object.entries(fields)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    const result = await updateItem(this.#table, {
      Key: leadKey(id),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: '#status = :from',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
    return result === null ? null : leadFromItem(result);
  }
}
