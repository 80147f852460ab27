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
    expect(encodeCursor(key)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it('refuse a cursor the platform did not sign, even inside the right partition', () => {
    const unsigned = raw(JSON.stringify({ PK: 'T#acme', SK: 'ZZZ' }));
    expect(() => decodeCursor(unsigned, { PK: 'T#acme' })).toThrow(ValidationError);
    const [payload, signature] = encodeCursor({ PK: 'T#acme', SK: 'USER#a' }).split('.');
    const forged = `${raw(JSON.stringify({ PK: 'T#acme', SK: 'ZZZ' }))}.${signature}`;
    expect(() => decodeCursor(forged, { PK: 'T#acme' })).toThrow(ValidationError);
    expect(() => decodeCursor(`${payload}.${signature}.x`, { PK: 'T#acme' })).toThrow(ValidationError);
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
