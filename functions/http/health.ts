/** `GET /api/health`: which domain this host is bound to. Anonymous; says nothing beyond that. */
import { route } from './router.ts';

export const healthRoute = route({
  method: 'GET',
  path: '/api/health',
  auth: 'anonymous',
  handle: async ({ domain }) => ({
    status: 200,
    body:
      domain.kind === 'public'
        ? { status: 'ok', domain: 'public' }
        : {
            status: 'ok',
            domain: 'tenant',
            tenant: { id: domain.tenant.id, name: domain.tenant.name, status: domain.tenant.status },
          },
  }),
});
