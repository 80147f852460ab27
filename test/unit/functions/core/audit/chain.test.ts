import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../../../functions/core/audit/chain.ts';

/** The same value with every object's keys in reverse insertion order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reversedKeys(item)]),
  );
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: 0, y: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,1,{"y":1,"z":0}]},"b":1}',
    );
  });

  it('drops undefined members as JSON does, and writes undefined elsewhere as null', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('escapes keys and strings exactly as JSON does', () => {
    const value = { 'quote"key': 'line\nbreak', '\u2028': '\ud83d\ude00', '': 'empty', __proto__x: '\u0000' };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
    expect(canonicalJson('\ud800')).toBe(JSON.stringify('\ud800'));
  });

  it('keeps an own __proto__ member as data', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as Record<string, unknown>;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"admin":true},"a":1}');
  });

  it('does not depend on key order, and reads back as the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const plain = JSON.parse(JSON.stringify(value)) as unknown;
        const text = canonicalJson(plain);
        expect(canonicalJson(reversedKeys(plain))).toBe(text);
        expect(JSON.parse(text)).toEqual(plain);
      }),
      { numRuns: 300 },
    );
  });

  it('tells different values apart (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const left = JSON.parse(JSON.stringify(a)) as unknown;
        const right = JSON.parse(JSON.stringify(b)) as unknown;
        if (canonicalJson(left) === canonicalJson(right)) expect(left).toEqual(right);
      }),
      { numRuns: 300 },
    );
  });
});
