/** Lossless JSON: what a double cannot hold is kept as written; everything else is a plain value. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../../functions/core/audit/chain.ts';
import {
  isRawNumber,
  numericView,
  overflowingNumbers,
  parseJson,
  stringifyJson,
} from '../../../../functions/core/json.ts';

describe('parseJson / stringifyJson', () => {
  it.each([
    '12345678901234567890',
    '-98765432109876543210987654321',
    '1e-400',
    '1e400',
    '-0',
    '-0.0',
    '0.1000000000000000055511151231257827',
    '9007199254740993',
  ])('keeps %s as written', (text) => {
    const value = parseJson(text);
    expect(isRawNumber(value)).toBe(true);
    expect(stringifyJson(value)).toBe(text);
    expect(stringifyJson({ a: [value] })).toBe(`{"a":[${text}]}`);
  });

  it.each([
    ['1', 1],
    ['1.0', 1],
    ['1e5', 100000],
    ['0.1', 0.1],
    ['1e308', 1e308],
    ['1e-300', 1e-300],
    ['9007199254740991', 9007199254740991],
    ['-2.50e1', -25],
  ])('reads %s as the plain number it is exactly', (text, expected) => {
    expect(parseJson(text)).toBe(expected);
  });

  it('makes JavaScript property names own keys, never prototypes', () => {
    const value = parseJson(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":2},"toString":3}',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(stringifyJson(value)).toBe(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":2},"toString":3}',
    );
    expect(Object.keys(numericView(value) as object)).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('hashes kept numbers by their text, and finds the ones beyond a double', () => {
    expect(canonicalJson(parseJson('{"b":12345678901234567890,"a":-0}'))).toBe(
      '{"a":-0,"b":12345678901234567890}',
    );
    expect(overflowingNumbers(parseJson('{"a":[1,1e400],"b":{"c":-1e999}}'), 'input').sort()).toEqual([
      'input.a.1',
      'input.b.c',
    ]);
  });

  it('round-trips any JSON text to the same values (property)', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const again = stringifyJson(parseJson(text));
        expect(JSON.parse(again)).toEqual(JSON.parse(text));
        expect(stringifyJson(parseJson(again))).toBe(again);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns every integer literal exactly, however long (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 60n), max: 10n ** 60n }), (n) => {
        expect(stringifyJson(parseJson(`[${n}]`))).toBe(`[${n}]`);
      }),
      { numRuns: 2000 },
    );
  });

  it('costs linear time on a long run of zeros', () => {
    const text = `1${'0'.repeat(60_000)}1`;
    expect(stringifyJson(parseJson(text))).toBe(text);
  });
});
