/**
 * Newest-first pages of one listing inside the public partition (customers, a customer's ledger,
 * orders). A cursor must name the public partition and a key inside the listing's own range, so a
 * cursor of one listing cannot start a page of another (the range check of `queryPage`).
 */
import type { Table } from '../db.ts';
import { publicPk } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { queryPageOf } from '../store/paged-query.ts';

export function newestFirst<T>(
  table: Table,
  prefix: string,
  limit: number,
  cursor: string | undefined,
  map: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  return queryPageOf(
    table,
    {
      partition: publicPk,
      range: { prefix },
      newestFirst: true,
      limit,
      ...(cursor === undefined ? {} : { cursor }),
    },
    map,
  );
}
