/** The domain's audit chain (all of it, or one category such as `security`) and its verification. */

import { AUDIT_CATEGORIES, type AuditCategory } from '../../core/audit/chain.ts';
import { ValidationError } from '../../core/errors.ts';
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
      handle: async ({ domain, request }) => {
        const category = request.query.category;
        if (category !== undefined && !(AUDIT_CATEGORIES as readonly string[]).includes(category)) {
          throw new ValidationError('Unknown audit category', [
            { path: 'category', message: `one of: ${AUDIT_CATEGORIES.join(', ')}` },
          ]);
        }
        // Windows of suppressed security events that are over get their summary first.
        await core.securityEvents.flush();
        return {
          status: 200,
          body: await core.audit.list(
            domain,
            pageSize(request.query.limit),
            request.query.cursor,
            category as AuditCategory | undefined,
          ),
        };
      },
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
