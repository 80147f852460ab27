import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.ts';
import {
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_SIZE,
  pageSize,
} from '../../../../functions/core/pagination.ts';

const raw = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

describe('cursors', () => {
  it('round-trip a key of the partition they were issued for', () => {
    const key = { PK: 'T#acme', SK: 'AUDIT#2026-01-01T00:00:00.000Z#ab', n: 3 };
    expect(decodeCursor(encodeCursor(key), { PK: 'T#acme' })).toEqual(key);
    expect(encodeCursor(key)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('say nothing of the key they hold (the last item read may be one the caller was not shown)', () => {
    const key = { PK: 'T#acme', SK: 'SCHEDLOG#2026-12-04T22:26:31.000Z#sch-ooufal7qwnuc#manual' };
    const cursor = encodeCursor(key);
    const bytes = Buffer.from(cursor, 'base64url');
    for (const visible of ['T#acme', 'SCHEDLOG', 'sch-ooufal7qwnuc', '2026-12-04', 'manual']) {
      expect(bytes.includes(visible), visible).toBe(false);
      expect(cursor.includes(raw(visible).slice(0, -1)), visible).toBe(false);
    }
    // A fresh IV each time: two cursors of one key are not even alike.
    expect(encodeCursor(key)).not.toBe(cursor);
  });

  it('refuse a cursor the platform did not seal, or one altered anywhere, even inside the right partition', () => {
    const plain = raw(JSON.stringify({ PK: 'T#acme', SK: 'ZZZ' }));
    expect(() => decodeCursor(plain, { PK: 'T#acme' })).toThrow(ValidationError);
    const sealed = Buffer.from(encodeCursor({ PK: 'T#acme', SK: 'USER#a' }), 'base64url');
    for (const at of [0, 11, 12, sealed.length - 17, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[at] = (altered[at] ?? 0) ^ 1;
      expect(() => decodeCursor(altered.toString('base64url'), { PK: 'T#acme' }), `byte ${at}`).toThrow(
        ValidationError,
      );
    }
    expect(() => decodeCursor(`${sealed.toString('base64url')}.x`, { PK: 'T#acme' })).toThrow(
      ValidationError,
    );
    expect(() => decodeCursor(sealed.subarray(0, 28).toString('base64url'), { PK: 'T#acme' })).toThrow(
      ValidationError,
    );
  });

  it("refuse a crafted cursor that starts in another tenant's partition", () => {
    const foreign = encodeCursor({ PK: 'T#globex', SK: 'USER#gina' });
    expect(() => decodeCursor(foreign, { PK: 'T#acme' })).toThrow(ValidationError);
    expect(() => decodeCursor(encodeCursor({ PK: 'PUBLIC', SK: 'USER#admin' }), { PK: 'T#acme' })).toThrow(
      ValidationError,
    );
    expect(() => decodeCursor(encodeCursor({ SK: 'USER#gina' }), { PK: 'T#acme' })).toThrow(ValidationError);
    const listing = encodeCursor({
      GSI1PK: 'EXEC#T#globex#running',
      GSI1SK: 'x',
      PK: 'T#globex',
      SK: 'EXEC#1',
    });
    expect(() => decodeCursor(listing, { GSI1PK: 'EXEC#T#acme#running' })).toThrow(ValidationError);
  });

  it.each([
    ['not base64 JSON', 'not a cursor!'],
    ['JSON null', raw('null')],
    ['an array', raw('["T#acme"]')],
    ['a string', raw('"T#acme"')],
    ['a nested value', raw('{"PK":"T#acme","SK":{"S":"x"}}')],
    ['a boolean value', raw('{"PK":"T#acme","SK":true}')],
    ['a partition key of another type', raw('{"PK":["T#acme"],"SK":"x"}')],
    ['an empty string', ''],
  ])('refuse %s as an invalid cursor, naming the field', (_, cursor) => {
    try {
      decodeCursor(cursor, { PK: 'T#acme' });
      expect.unreachable('decodeCursor accepted it');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([expect.objectContaining({ path: 'cursor' })]);
    }
  });
});

describe('page sizes', () => {
  it('default, bound and refuse what is not a whole number in range', () => {
    expect(pageSize(undefined)).toBe(DEFAULT_PAGE_SIZE);
    expect(pageSize('1')).toBe(1);
    expect(pageSize(String(MAX_PAGE_SIZE))).toBe(MAX_PAGE_SIZE);
    for (const bad of ['0', '-1', String(MAX_PAGE_SIZE + 1), '1.5', 'ten', '', 'Infinity', '1e3']) {
      expect(() => pageSize(bad), bad).toThrow(ValidationError);
    }
  });
});
