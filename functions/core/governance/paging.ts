/**
 * Newest-first pages of one listing inside the public partition (customers, a customer's ledger,
 * orders). A cursor must name the public partition and a key inside the listing's own range, so a
 * cursor of one listing cannot start a page of another.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { publicPk } from '../keys.ts';
import { decodeCursor, encodeCursor, type Page } from '../pagination.ts';

export async function newestFirst<T>(
  table: Table,
  prefix: string,
  limit: number,
  cursor: string | undefined,
  map: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const start = cursor === undefined ? undefined : decodeCursor(cursor, { PK: publicPk });
  if (start !== undefined && !String(start.SK).startsWith(prefix)) {
    throw new ValidationError('Invalid cursor', [
      { path: 'cursor', message: 'not a cursor of this listing' },
    ]);
  }
  const result = await table.client.send(
    new QueryCommand({
      TableName: table.name,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': publicPk, ':prefix': prefix },
      ScanIndexForward: false,
      Limit: limit,
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    }),
  );
  const items = (result.Items ?? []).map(map);
  return result.LastEvaluatedKey === undefined
    ? { items }
    : { items, cursor: encodeCursor(result.LastEvaluatedKey) };
}
