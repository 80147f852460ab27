/**
 * Cursors for paged reads. A cursor is DynamoDB's LastEvaluatedKey, signed with an HMAC so only
 * cursors this platform issued come back in (a crafted key — another partition, a key outside the
 * query's range, a wrong shape — is a 422, never a query DynamoDB refuses); on the way back in it
 * must also still name the partition the query reads.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.ts';

/** Key of cursor signatures: set once per process from the platform's secret (API functions). */
let cursorKey: Buffer = randomBytes(32);

export function setCursorKey(secret: string): void {
  cursorKey = createHmac('sha256', secret).update('execfabric-cursor-v1').digest();
}

function sign(payload: string): string {
  return createHmac('sha256', cursorKey).update(payload).digest('base64url');
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

export function encodeCursor(key: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
  return `${payload}.${sign(payload)}`;
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
  const [payload = '', signature = '', ...rest] = cursor.split('.');
  const expectedSignature = Buffer.from(sign(payload));
  const givenSignature = Buffer.from(signature);
  if (
    rest.length > 0 ||
    givenSignature.length !== expectedSignature.length ||
    !timingSafeEqual(givenSignature, expectedSignature)
  ) {
    throw invalidCursor();
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
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
