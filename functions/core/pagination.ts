/**
 * Cursors for paged reads. A cursor is the opaque form of DynamoDB's LastEvaluatedKey; on the way
 * back in it must still name the partition the query reads, so a crafted cursor cannot start a
 * page in someone else's partition.
 */
import { ValidationError } from './errors.ts';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function invalidCursor(cause?: unknown): ValidationError {
  return new ValidationError(
    'Invalid cursor',
    [{ path: 'cursor', message: 'not a cursor this API issued' }],
    {
      cause,
    },
  );
}

/** Decodes a cursor and checks it stays inside the partition described by `expected`. */
export function decodeCursor(
  cursor: string,
  expected: Readonly<Record<string, string>>,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (cause) {
    throw invalidCursor(cause);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidCursor();
  const key = value as Record<string, unknown>;
  for (const [name, wanted] of Object.entries(expected)) {
    if (key[name] !== wanted) throw invalidCursor();
  }
  for (const part of Object.values(key)) {
    if (typeof part !== 'string' && typeof part !== 'number') throw invalidCursor();
  }
  return key;
}

/** Page size from a query string value: 1…MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE. */
export function pageSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new ValidationError('Invalid page size', [{ path: 'limit', message: `1 to ${MAX_PAGE_SIZE}` }]);
  }
  return size;
}
