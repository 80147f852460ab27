/** The domain's audit chain and its verification. */

import { pageSize } from '../../core/pagination.ts';
import type { Core } from '../../core/platform.ts';
import { type Route, route } from '../router.ts';
import { closedOnFreeEntry } from './identity.ts';

export function auditRoutes(core: Core): Route[] {
  return closedOnFreeEntry([
    route({
      method: 'GET',
      path: '/api/audit',
      auth: 'caller',
      permission: 'audit:read',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.audit.list(domain, pageSize(request.query.limit), request.query.cursor),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/audit/verify',
      auth: 'caller',
      permission: 'audit:read',
      handle: async ({ domain }) => {
        // Seal what has settled first, so the answer covers the chain as of now.
        await core.audit.seal(domain);
        return { status: 200, body: await core.audit.verify(domain) };
      },
    }),
  ]);
}
