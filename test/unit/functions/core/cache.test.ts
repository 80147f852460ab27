/** The bounded cache behind host bindings, tenant contexts, script versions and Skill revisions. */
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../../../functions/core/cache.ts';

describe('BoundedCache', () => {
  it('evicts the least recently used entry beyond its entry bound', () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
  });

  it('keeps the sum of sizes within its byte bound, and never keeps a value larger than it', () => {
    const cache = new BoundedCache<string, string>({ maxEntries: 10, maxBytes: 10, sizeOf: (v) => v.length });
    cache.set('a', 'xxxx');
    cache.set('b', 'yyyy');
    cache.set('c', 'zzzz'); // 12 bytes: a goes
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'yyyy', 'zzzz']);
    cache.set('huge', 'x'.repeat(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('b', 'yyyyyy'); // replaced, not counted twice: 6 + 4
    expect([cache.get('b'), cache.get('c')]).toEqual(['yyyyyy', 'zzzz']);
  });

  it('forgets an entry once its lifetime is over, and remembers a null as a value', () => {
    let now = 1_000;
    const cache = new BoundedCache<string, string | null>({ maxEntries: 10, now: () => now });
    cache.set('host', 'bound', 30_000);
    cache.set('unknown', null, 5_000);
    expect(cache.lookup('unknown')).toEqual({ found: true, value: null });
    now += 5_000;
    expect(cache.lookup('unknown')).toEqual({ found: false });
    expect(cache.get('host')).toBe('bound');
    now += 25_000;
    expect(cache.get('host')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
