/**
 * What a read's Cache-Control asks of the API's caches (functions/http/cache-control.ts, RFC 9111
 * §5.2.1 and §5.4): a client can ask for a fresher answer than the cache's lifetime, never an
 * older one, and nothing it sends makes the parser throw or answer a negative age.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptedAgeMs } from '../../../../functions/http/cache-control.ts';

describe('acceptedAgeMs', () => {
  it.each([
    [{}, undefined],
    [{ 'cache-control': 'no-cache' }, 0],
    [{ 'cache-control': 'No-Cache' }, 0],
    [{ 'cache-control': 'no-cache="set-cookie"' }, 0],
    [{ 'cache-control': 'max-age=0' }, 0],
    [{ 'cache-control': 'max-age=5' }, 5_000],
    [{ 'cache-control': 'max-age="3"' }, 3_000],
    [{ 'cache-control': 'max-age=9, max-age=2' }, 2_000],
    [{ 'cache-control': 'max-age=60, no-cache' }, 0],
    [{ 'cache-control': ' no-store , max-age=1 ' }, 1_000],
    // Unreadable or unknown directives ask nothing: the cache's own lifetime.
    [{ 'cache-control': 'max-age=-1' }, undefined],
    [{ 'cache-control': 'max-age=1.5' }, undefined],
    [{ 'cache-control': 'max-age' }, undefined],
    [{ 'cache-control': 'no-store' }, undefined],
    [{ 'cache-control': 'nocache' }, undefined],
    // Pragma counts only when there is no Cache-Control (a browser's no-store fetch sends both).
    [{ pragma: 'no-cache' }, 0],
    [{ pragma: 'x, no-cache' }, 0],
    [{ pragma: 'other' }, undefined],
    [{ 'cache-control': 'max-age=5', pragma: 'no-cache' }, 5_000],
  ] as const)('%j → %s', (headers, expected) => {
    expect(acceptedAgeMs(headers as Record<string, string>)).toBe(expected);
  });

  it('never throws, and answers undefined or a whole number of milliseconds ≥ 0', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 300 })),
        fc.option(fc.string()),
        (cacheControl, pragma) => {
          const headers: Record<string, string> = {};
          if (cacheControl !== null) headers['cache-control'] = cacheControl;
          if (pragma !== null) headers.pragma = pragma;
          const accepted = acceptedAgeMs(headers);
          return accepted === undefined || (Number.isInteger(accepted) && accepted >= 0);
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
