/** The bounded cache behind host bindings, tenant contexts, script versions and Skill revisions. */
import { describe, expect, it } from 'vitest';
import { BoundedCache, ReadThroughCache } from '../../../../functions/core/cache.ts';

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

describe('ReadThroughCache', () => {
  function counted(lifetimeMs: number, clock: { now: number }) {
    let reads = 0;
    const cache = new ReadThroughCache<string, string | null>({
      maxEntries: 10,
      lifetimeOf: (value) => (value === null ? lifetimeMs / 2 : lifetimeMs),
      now: () => clock.now,
    });
    const load =
      (value: string | null, ms = 0) =>
      async () => {
        reads++;
        clock.now += ms;
        return value;
      };
    return { cache, load, reads: () => reads };
  }

  it('trusts a value from the moment its read began, for the lesser of the reader’s age and its lifetime', async () => {
    const clock = { now: 0 };
    const { cache, load, reads } = counted(1_000, clock);
    expect(await cache.read('a', 1_000, load('one', 300))).toBe('one'); // read began at 0, ended at 300
    clock.now = 999;
    expect(await cache.read('a', 1_000, load('two'))).toBe('one');
    expect(await cache.read('a', 500, load('two'))).toBe('two'); // this reader accepts 500 ms at most
    expect(reads()).toBe(2);
    clock.now = 999 + 1_000;
    expect(await cache.read('a', 5_000, load('three'))).toBe('three'); // the lifetime caps the reader
    expect(reads()).toBe(3);
  });

  it('keeps a miss for its own, shorter lifetime; a read slower than the lifetime is not kept', async () => {
    const clock = { now: 0 };
    const { cache, load, reads } = counted(1_000, clock);
    expect(await cache.read('gone', 1_000, load(null))).toBeNull();
    clock.now = 499;
    expect(await cache.read('gone', 1_000, load('here'))).toBeNull();
    clock.now = 500;
    expect(await cache.read('gone', 1_000, load('here'))).toBe('here');
    expect(await cache.read('slow', 1_000, load('late', 1_000))).toBe('late');
    expect(cache.size).toBe(1);
    expect(reads()).toBe(3);
  });

  it('does not keep a read that was under way when something was forgotten', async () => {
    const clock = { now: 0 };
    const { cache, reads } = counted(1_000, clock);
    let finish: (value: string) => void = () => undefined;
    const racing = cache.read('a', 1_000, () => new Promise<string>((resolve) => (finish = resolve)));
    cache.forget('other'); // any forget: the racing read may predate the write it announces
    finish('before the write');
    expect(await racing).toBe('before the write'); // it answers its own caller
    expect(await cache.read('a', 1_000, async () => 'after the write')).toBe('after the write');
    expect(await cache.read('a', 1_000, async () => 'not read')).toBe('after the write');
    cache.forget();
    expect(cache.size).toBe(0);
    expect(reads()).toBe(0);
  });
});
