/**
 * Cursors for paged reads. A cursor is DynamoDB's LastEvaluatedKey sealed with AES-256-GCM: only
 * cursors this platform issued come back in (a crafted key — another partition, a key outside the
 * query's range, a wrong shape — is a 422, never a query DynamoDB refuses), and a cursor says
 * nothing of its key. The last key read is often an item the caller was not shown (a page is
 * filtered after the read: a run, a schedule's fire, a notice of a Skill hidden from them); a
 * readable cursor named it — its id, its time. On the way back in it must also still name the
 * partition the query reads.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { ValidationError } from './errors.ts';

/** Key of cursor encryption: set once per process from the platform's secret (API functions). */
let cursorKey: Buffer = randomBytes(32);

export function setCursorKey(secret: string): void {
  cursorKey = createHmac('sha256', secret).update('execfabric-cursor-v2').digest();
}

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/** `iv | ciphertext | tag`, base64url: a fresh IV each time, so two cursors of one key differ. */
export function encodeCursor(key: Record<string, unknown>): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, cursorKey, iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(key), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The key's JSON, or null when the cursor was not sealed with this platform's key, or altered. */
function open(cursor: string): string | null {
  const bytes = Buffer.from(cursor, 'base64url');
  // Base64url decoding skips what is not base64url: only the exact encoding of the bytes passes.
  if (bytes.length <= IV_BYTES + TAG_BYTES || bytes.toString('base64url') !== cursor) return null;
  try {
    const decipher = createDecipheriv(CIPHER, cursorKey, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
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
  const json = open(cursor);
  if (json === null) throw invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(json);
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
