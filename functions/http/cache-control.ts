/**
 * What a read's `Cache-Control` asks of the API's per-process caches (RFC 9111 §5.2.1): how old an
 * answer it accepts, in milliseconds, or undefined for the cache's own lifetime.
 * - `no-cache`, or `max-age=0`: none — the store is read now (a revalidation);
 * - `max-age=N`: at most N seconds (the smallest, if several);
 * - no `Cache-Control` at all, and `Pragma: no-cache`: as `no-cache` (§5.4; a browser's
 *   `cache: 'no-store'` fetch sends both unless told otherwise);
 * - anything else, or a value it cannot read: the cache's lifetime (unknown directives are ignored).
 * A client can only ask for a fresher answer than the cache would give, never an older one.
 */
import { CACHE_CONTROL_HEADER, PRAGMA_HEADER } from '../core/headers.ts';

const DELTA_SECONDS = /^"?(\d{1,10})"?$/;

function directives(value: string): { name: string; argument: string }[] {
  return value.split(',').map((part) => {
    const [name = '', argument = ''] = part.split('=', 2);
    return { name: name.trim().toLowerCase(), argument: argument.trim() };
  });
}

export function acceptedAgeMs(headers: Readonly<Record<string, string | undefined>>): number | undefined {
  const cacheControl = headers[CACHE_CONTROL_HEADER];
  if (cacheControl === undefined) {
    const pragma = headers[PRAGMA_HEADER];
    return pragma !== undefined && directives(pragma).some(({ name }) => name === 'no-cache') ? 0 : undefined;
  }
  let accepted: number | undefined;
  for (const { name, argument } of directives(cacheControl)) {
    if (name === 'no-cache') return 0;
    const seconds = name === 'max-age' ? DELTA_SECONDS.exec(argument)?.[1] : undefined;
    if (seconds !== undefined)
      accepted = Math.min(accepted ?? Number.POSITIVE_INFINITY, Number(seconds) * 1000);
  }
  return accepted;
}
