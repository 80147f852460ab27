/**
 * The session cache's bounds, at their edges: entries (least recently used out first), lifetime
 * (the TTL, and never past the session's end), forgetting (one session, every session of a user of
 * one domain only), the read that races a forget, and a key that is never the token.
 */
import { describe, expect, it } from 'vitest';
import { type CachedSession, SessionCache } from '../../../../functions/core/identity/session-cache.ts';

const ACME = 'T#acme';
const GLOBEX = 'T#globex';
const FAR = Number.MAX_SAFE_INTEGER;

function session(sid: string, username = 'alice', domain = ACME): CachedSession {
  return { domain, host: 'acme.localhost', sid, username, roles: ['viewer'], superAdmin: false };
}

function cacheAt(clock: { now: number }, options: { ttlMs?: number; maxEntries?: number } = {}) {
  return new SessionCache({ ...options, now: () => clock.now });
}

describe('SessionCache', () => {
  it('holds exactly maxEntries sessions; one more pushes out the least recently used', () => {
    const cache = cacheAt({ now: 0 }, { maxEntries: 3 });
    for (const sid of ['a', 'b', 'c']) cache.remember(sid, session(sid), FAR, cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.lookup('a')?.sid).toBe('a'); // a is now the most recently used
    cache.remember('d', session('d'), FAR, cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.lookup('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((sid) => cache.lookup(sid)?.sid)).toEqual(['a', 'c', 'd']);
  });

  it('cannot grow without bound, whatever is presented', () => {
    const cache = cacheAt({ now: 0 }, { maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) cache.remember(`k${i}`, session(`s${i}`), FAR, cache.generation);
    expect(cache.size).toBe(100);
  });

  it('trusts an entry for the TTL and not a millisecond longer', () => {
    const clock = { now: 1_000 };
    const cache = cacheAt(clock, { ttlMs: 5_000 });
    cache.remember('k', session('s'), FAR, cache.generation);
    clock.now += 4_999;
    expect(cache.lookup('k')).toBeDefined();
    clock.now += 1;
    expect(cache.lookup('k')).toBeUndefined();
  });

  it("never keeps a session past the session's own end", () => {
    const clock = { now: 1_000 };
    const cache = cacheAt(clock, { ttlMs: 5_000 });
    cache.remember('k', session('s'), 3_000, cache.generation);
    clock.now = 2_999;
    expect(cache.lookup('k')).toBeDefined();
    clock.now = 3_000;
    expect(cache.lookup('k')).toBeUndefined();
    // A session already over is not kept at all.
    cache.remember('over', session('over'), 3_000, cache.generation);
    expect(cache.size).toBe(0);
  });

  it('keeps nothing when turned off (TTL 0)', () => {
    const cache = cacheAt({ now: 0 }, { ttlMs: 0 });
    cache.remember('k', session('s'), FAR, cache.generation);
    expect(cache.lookup('k')).toBeUndefined();
  });

  it('forgets one session, leaving the same user’s others', () => {
    const cache = cacheAt({ now: 0 });
    cache.remember('k1', session('s1'), FAR, cache.generation);
    cache.remember('k2', session('s2'), FAR, cache.generation);
    cache.forgetSession(ACME, 's1');
    expect(cache.lookup('k1')).toBeUndefined();
    expect(cache.lookup('k2')?.sid).toBe('s2');
  });

  it("forgets every session of a user in one domain, not a namesake's in another", () => {
    const cache = cacheAt({ now: 0 });
    cache.remember('k1', session('s1', 'alice'), FAR, cache.generation);
    cache.remember('k2', session('s2', 'alice'), FAR, cache.generation);
    cache.remember('k3', session('s3', 'bob'), FAR, cache.generation);
    cache.remember('k4', session('s4', 'alice', GLOBEX), FAR, cache.generation);
    cache.forgetUser(ACME, 'alice');
    expect(['k1', 'k2', 'k3', 'k4'].map((key) => cache.lookup(key)?.sid)).toEqual([
      undefined,
      undefined,
      's3',
      's4',
    ]);
  });

  it('does not keep a read that began before a forget (a sign-out racing a request)', () => {
    const cache = cacheAt({ now: 0 });
    const before = cache.generation; // the request starts reading the session: still good
    cache.forgetSession(ACME, 's'); // meanwhile it is signed out in this process
    cache.remember('k', session('s'), FAR, before); // the request ends with its stale answer
    expect(cache.lookup('k')).toBeUndefined();
    cache.remember('k', session('s'), FAR, cache.generation);
    expect(cache.lookup('k')).toBeDefined();
  });

  it('is keyed by a hash of domain, host and token, never the token', () => {
    const token = 'efs.eyJzaWQiOiJhYmMifQ.c2lnbmF0dXJl';
    const key = SessionCache.keyOf(ACME, 'acme.localhost', token);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('eyJ');
    expect(SessionCache.keyOf(GLOBEX, 'acme.localhost', token)).not.toBe(key);
    expect(SessionCache.keyOf(ACME, 'globex.localhost', token)).not.toBe(key);
    expect(SessionCache.keyOf(ACME, 'acme.localhost', `${token}x`)).not.toBe(key);
  });
});
