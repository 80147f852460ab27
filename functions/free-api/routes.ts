/** Every route of the free entry's API, in one table: health, the offered templates, sign-up, finding one's space. */
import type { FreeEntry } from '../core/free/index.ts';
import { healthRoute } from '../http/health.ts';
import type { Route } from '../http/router.ts';
import { freeEntryRoutes } from '../http/routes/free-entry.ts';

export function freeRoutes(free: FreeEntry): Route[] {
  return [healthRoute, ...freeEntryRoutes(free)];
}
