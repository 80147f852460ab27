/**
 * `GET /api/health`: which domain this host is bound to. Anonymous; says nothing beyond that. Every
 * API serves it: zod/mini, as the free entry's routes (routes/free-entry.ts).
 */
import { TENANT_STATUSES } from '../core/tenancy/domain.ts';
import * as z from '../core/zod-mini.ts';
import { route } from './router.ts';

export const healthSchema = z
  .union([
    z.object({ status: z.literal('ok'), domain: z.literal('public') }),
    z.object({
      status: z.literal('ok'),
      domain: z.literal('tenant'),
      tenant: z.object({ id: z.string(), name: z.string(), status: z.enum(TENANT_STATUSES) }),
    }),
  ])
  .check(z.meta({ id: 'Health', description: 'The domain this host is bound to.' }));

export const healthRoute = route({
  method: 'GET',
  path: '/api/health',
  serves: 'anywhere',
  auth: 'anonymous',
  summary: 'Which domain this host is bound to',
  responses: { 200: healthSchema },
  handle: async ({ domain }) => ({
    status: 200,
    body:
      domain.kind === 'public'
        ? { status: 'ok' as const, domain: 'public' as const }
        : {
            status: 'ok' as const,
            domain: 'tenant' as const,
            tenant: { id: domain.tenant.id, name: domain.tenant.name, status: domain.tenant.status },
          },
  }),
});
