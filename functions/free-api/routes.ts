/** Every route of the free entry's API, in one table: today, health only (sign-up is the free edition's). */
import { healthRoute } from '../http/health.ts';
import type { Route } from '../http/router.ts';

export function freeRoutes(): Route[] {
  return [healthRoute];
}
