/**
 * What the tenant front needs beyond the catalogue: its appearance (`GET /api/branding`, readable
 * before sign-in — name, logo and colours only: a dedicated delivery's sign-in page is branded too)
 * and the caller's notification
 * counts (`GET /api/notifications`: runs waiting for their decision, announcements they have not read).
 */
import * as z from 'zod';
import { announcementReader } from '../../core/foundation/reader.ts';
import type { SignedInCore } from '../../core/platform.ts';
import { acceptedAgeMs } from '../cache-control.ts';
import { appearanceSchema } from '../responses.ts';
import { type Route, route } from '../router.ts';

/** Announcements looked at for the unread count (the newest ones). */
export const UNREAD_WINDOW = 50;

export function appearanceRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/branding',
      serves: 'tenant',
      auth: 'anonymous',
      summary: "The tenant's appearance, readable before sign-in",
      responses: { 200: appearanceSchema },
      handle: async ({ domain }) => {
        // As shown to its users: the tenant's record read at most 5 s ago (tenant-cache.ts).
        const appearance = await core.hosts.tenants.appearance(domain.tenant.id);
        // Before sign-in only what the sign-in page shows; home text and menus come with GET /api/me.
        const { displayName, logo, colors } = appearance.branding ?? {};
        return {
          status: 200,
          body:
            appearance.branding === undefined
              ? appearance
              : {
                  deliveryMode: appearance.deliveryMode,
                  branding: {
                    ...(displayName === undefined ? {} : { displayName }),
                    ...(logo === undefined ? {} : { logo }),
                    ...(colors === undefined ? {} : { colors }),
                  },
                },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/notifications',
      serves: 'tenant',
      auth: 'caller',
      summary: "The caller's notification counts",
      responses: {
        200: z
          .object({
            approvalsWaiting: z.number().int(),
            /** More runs wait than `approvalsWaiting` counts (its cap): the badge reads "100+". */
            approvalsWaitingMore: z.boolean(),
            unreadAnnouncements: z.number().int(),
            /** More announcements are unread than `unreadAnnouncements` counts (its cap). */
            unreadAnnouncementsMore: z.boolean(),
          })
          .meta({ id: 'Notifications' }),
      },
      handle: async ({ domain, caller, request }) => {
        const tenant = domain;
        const approvals = await core.approvals.decidableCount(tenant, caller, acceptedAgeMs(request.headers));
        const unread = await core.announcements.list(
          tenant,
          announcementReader(caller, {
            domain: tenant,
            skills: core.skills,
            maxAgeMs: acceptedAgeMs(request.headers),
          }),
          // One past the window tells "50" from "more than 50".
          UNREAD_WINDOW + 1,
          undefined,
          { unread: true },
        );
        return {
          status: 200,
          body: {
            approvalsWaiting: approvals.count,
            approvalsWaitingMore: approvals.more,
            unreadAnnouncements: Math.min(unread.items.length, UNREAD_WINDOW),
            unreadAnnouncementsMore: unread.items.length > UNREAD_WINDOW,
          },
        };
      },
    }),
  ];
}
