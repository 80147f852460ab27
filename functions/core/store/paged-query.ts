/**
 * The one paged query of the platform. Every listing that hands a cursor to a caller reads through
 * `queryPage`: it builds the key condition from a partition and an optional sort range, signs the
 * page's LastEvaluatedKey into a cursor (pagination.ts), and on the way back in checks that the
 * cursor's key lies inside the very range this query reads — its partition, its sort prefix or
 * bounds, the table partition it must belong to, and exactly the key attributes of the table (and
 * index) read. A cursor of another listing, another tenant or another index is a 422 before any
 * read; DynamoDB never sees a start key outside the query.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { indexKeyNames, TABLE_KEY_NAMES } from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';

/**
 * The sort keys a query reads: those that begin with a prefix (the items of one type: `SKILL#`), or
 * those between inclusive bounds (either may be open). A key condition holds one sort condition, and
 * a filter may not name a key attribute, so the two do not combine.
 */
export type SortRange =
  | { readonly prefix: string; readonly from?: never; readonly to?: never }
  | { readonly prefix?: never; readonly from?: string; readonly to?: string };

export interface PagedQuery {
  /** A global secondary index (keys.ts `INDEX`, `FILTER_INDEXES`); the table itself when absent. */
  readonly index?: string;
  /** The partition read (the value of the table's or the index's partition key). */
  readonly partition: string;
  /** The sort key range read. @default the whole partition */
  readonly range?: SortRange;
  /**
   * Where in the table every item of an index partition lives (a tenant's partition and the items'
   * sort-key prefix, for a tenant's own GSI partitions): a cursor whose table key lies elsewhere is
   * refused. @default not checked (a query of the table itself is checked through `partition` and
   * `range`)
   */
  readonly owner?: { readonly partition: string; readonly prefix?: string };
  readonly limit: number;
  readonly cursor?: string;
  /** Descending sort key order. @default false */
  readonly newestFirst?: boolean;
  /** @default false */
  readonly consistent?: boolean;
  /** The attributes read (plain names, no placeholders). @default every attribute */
  readonly projection?: string;
  /** Narrows each page after the read (a page may then hold fewer than `limit` items). */
  readonly filter?: {
    readonly expression: string;
    readonly names?: Readonly<Record<string, string>>;
    readonly values?: Readonly<Record<string, unknown>>;
  };
}

function outsideListing(): ValidationError {
  return new ValidationError('Invalid cursor', [{ path: 'cursor', message: 'not a cursor of this listing' }]);
}

function inRange(sort: unknown, range: SortRange | undefined): boolean {
  if (typeof sort !== 'string') return false;
  if (range === undefined) return true;
  if (range.prefix !== undefined && !sort.startsWith(range.prefix)) return false;
  if (range.from !== undefined && sort < range.from) return false;
  if (range.to !== undefined && sort > range.to) return false;
  return true;
}

/**
 * The start key a cursor names, if it lies inside `query`: signed by this platform, in the queried
 * partition and sort range, in the owner's table partition, and made of exactly the key attributes
 * a page of this query ends on.
 */
export function startKeyOf(query: PagedQuery): Record<string, unknown> | undefined {
  if (query.cursor === undefined) return undefined;
  const names = query.index === undefined ? TABLE_KEY_NAMES : indexKeyNames(query.index);
  const key = decodeCursor(query.cursor, { [names.pk]: query.partition });
  const expected = new Set([TABLE_KEY_NAMES.pk, TABLE_KEY_NAMES.sk, names.pk, names.sk]);
  const attributes = Object.keys(key);
  if (attributes.length !== expected.size || !attributes.every((name) => expected.has(name))) {
    throw outsideListing();
  }
  if (!inRange(key[names.sk], query.range)) throw outsideListing();
  if (typeof key[TABLE_KEY_NAMES.pk] !== 'string' || typeof key[TABLE_KEY_NAMES.sk] !== 'string') {
    throw outsideListing();
  }
  if (
    query.owner !== undefined &&
    (key[TABLE_KEY_NAMES.pk] !== query.owner.partition ||
      !inRange(
        key[TABLE_KEY_NAMES.sk],
        query.owner.prefix === undefined ? undefined : { prefix: query.owner.prefix },
      ))
  ) {
    throw outsideListing();
  }
  return key;
}

/** One page of a query, and the signed cursor of the next (absent on the last page). */
export async function queryPage(table: Table, query: PagedQuery): Promise<Page<Record<string, unknown>>> {
  const start = startKeyOf(query);
  const names = query.index === undefined ? TABLE_KEY_NAMES : indexKeyNames(query.index);
  const attributeNames: Record<string, string> = { '#pk': names.pk, ...query.filter?.names };
  const values: Record<string, unknown> = { ':pk': query.partition, ...query.filter?.values };
  let condition = '#pk = :pk';
  const range = query.range;
  if (range !== undefined) {
    attributeNames['#sk'] = names.sk;
    if (range.prefix !== undefined) {
      values[':prefix'] = range.prefix;
      condition += ' AND begins_with(#sk, :prefix)';
    } else if (range.from !== undefined && range.to !== undefined) {
      values[':from'] = range.from;
      values[':to'] = range.to;
      condition += ' AND #sk BETWEEN :from AND :to';
    } else if (range.from !== undefined) {
      values[':from'] = range.from;
      condition += ' AND #sk >= :from';
    } else if (range.to !== undefined) {
      values[':to'] = range.to;
      condition += ' AND #sk <= :to';
    } else {
      delete attributeNames['#sk'];
    }
  }
  const result = await table.client.send(
    new QueryCommand({
      TableName: table.name,
      ...(query.index === undefined ? {} : { IndexName: query.index }),
      KeyConditionExpression: condition,
      ...(query.filter === undefined ? {} : { FilterExpression: query.filter.expression }),
      ExpressionAttributeNames: attributeNames,
      ExpressionAttributeValues: values,
      Limit: query.limit,
      ...(query.newestFirst === true ? { ScanIndexForward: false } : {}),
      ...(query.consistent === true ? { ConsistentRead: true } : {}),
      ...(query.projection === undefined ? {} : { ProjectionExpression: query.projection }),
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    }),
  );
  const items = result.Items ?? [];
  return result.LastEvaluatedKey === undefined
    ? { items }
    : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
}

/** A page whose items are parsed at the boundary. */
export async function queryPageOf<T>(
  table: Table,
  query: PagedQuery,
  parse: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const page = await queryPage(table, query);
  const items = page.items.map(parse);
  return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
}
