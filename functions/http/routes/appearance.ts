/**
 * What the tenant front needs beyond the catalogue: its appearance (`GET /api/branding`, readable
 * before sign-in: a dedicated delivery's sign-in page is branded too) and the caller's notification
 * counts (`GET /api/notifications`: runs waiting for their decision, announcements they have not read).
 */
import type { Core } from '../../core/platform.ts';
import { readAppearance } from '../../core/tenancy/branding.ts';
import { type Route, route } from '../router.ts';
import { tenantOf } from './domains.ts';

/** Announcements looked at for the unread count (the newest ones). */
export const UNREAD_WINDOW = 50;

export function appearanceRoutes(core: Core): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/branding',
      auth: 'anonymous',
      handle: async ({ domain }) => ({
        status: 200,
        body: await readAppearance(core.table, tenantOf(domain, 'branding').tenant.id),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/notifications',
      auth: 'caller',
      handle: async ({ domain, caller }) => {
        const tenant = tenantOf(domain, 'notifications');
        const waiting = caller.permissions.has('approval:decide')
          ? (await core.approvals.inbox(tenant, caller)).filter((entry) => entry.canDecide).length
          : 0;
        const unread = await core.announcements.list(
          tenant,
          {
            username: caller.username,
            roles: caller.permissions.has('announcement:manage') ? null : caller.roles,
          },
          UNREAD_WINDOW,
          undefined,
          { unread: true },
        );
        return { status: 200, body: { approvalsWaiting: waiting, unreadAnnouncements: unread.items.length } };
      },
    }),
  ];
}
