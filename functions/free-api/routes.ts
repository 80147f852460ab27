/**
 * Every route of the free entry's API, in one table: health, built at a cold start; the offered
 * templates, sign-up and finding one's space, a group that loads on the first request under its
 * paths (router.ts `lazyRoutes`) with the free entry it is built on (`free`: the function builds its
 * domain then, as the other APIs build the layers of their core; free-api/handler.ts).
 */
import type { FreeEntry } from '../core/free/index.ts';
import { healthRoute } from '../http/health.ts';
import { lazyRoutesOn, type RouteEntry } from '../http/router.ts';

/** `free`: the free entry, built by the first call (tests and scripts pass one already built). */
export function freeRoutes(free: () => Promise<FreeEntry>): RouteEntry[] {
  return [
    healthRoute,
    lazyRoutesOn(
      ['/api/free'],
      free,
      async () => (await import('../http/routes/free-entry.ts')).freeEntryRoutes,
    ),
  ];
}
