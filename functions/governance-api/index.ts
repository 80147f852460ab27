/** The governance API: the public domain (admin console and the free entry). Wiring only. */
import { apiFromEnv } from '../http/api.ts';
import { governanceRoutes } from './routes.ts';

export const { handler } = await apiFromEnv({
  serviceName: 'governance-api',
  surfaces: ['governance', 'free'],
  // The public domain only, and only on the surface its host is bound to.
  accepts: (domain, surface) => domain.kind === 'public' && domain.surface === surface,
  routes: governanceRoutes,
});
