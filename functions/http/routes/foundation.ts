/** Tenant foundation: parameters and announcements. */
import * as z from 'zod';
import { announcementReader } from '../../core/foundation/reader.ts';
import { pageSize } from '../../core/pagination.ts';
import type { SignedInCore } from '../../core/platform.ts';
import { acceptedAgeMs } from '../cache-control.ts';
import { announcementSchema, list, page, pageQuery } from '../responses.ts';
import { type Route, route } from '../router.ts';
import { displayText } from './domains.ts';

const parameterBody = z.strictObject({
  key: z.string().min(1).max(64),
  value: z.string().max(8192),
  description: z.string().max(500).optional(),
});

const parameterValueBody = z.strictObject({
  value: z.string().max(8192),
  description: z.string().max(500).optional(),
});

const announcementBody = z.strictObject({
  title: displayText(200),
  body: z.string().max(10_000),
  audience: z.array(z.string().max(64)).max(20).optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
});

const parameterSchema = z
  .looseObject({
    key: z.string(),
    value: z.string(),
    description: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .meta({ id: 'Parameter' });

export function foundationRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/parameters',
      serves: 'tenant',
      auth: 'caller',
      summary: "The tenant's parameters",
      responses: { 200: list(parameterSchema) },
      permission: 'parameter:read',
      handle: async ({ domain }) => ({ status: 200, body: { items: await core.parameters.list(domain) } }),
    }),
    route({
      method: 'POST',
      path: '/api/parameters',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Create or replace a parameter',
      responses: { 201: parameterSchema },
      permission: 'parameter:manage',
      body: parameterBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.parameters.set(domain, request.body, caller),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/parameters/{key}',
      serves: 'tenant',
      auth: 'caller',
      summary: "Change a parameter's value",
      responses: { 200: parameterSchema },
      permission: 'parameter:manage',
      body: parameterValueBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.parameters.set(domain, { key: request.params.key ?? '', ...request.body }, caller),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/parameters/{key}',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Delete a parameter',
      responses: { 204: null },
      permission: 'parameter:manage',
      handle: async ({ domain, caller, request }) => {
        await core.parameters.remove(domain, request.params.key ?? '', caller);
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/announcements',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Announcements addressed to the caller, newest first',
      query: z.object({
        ...pageQuery,
        unread: z
          .enum(['true', '1', 'false'])
          .optional()
          .meta({ description: 'Only those the caller has not read' }),
      }),
      responses: { 200: page(announcementSchema.extend({ read: z.boolean() })) },
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.announcements.list(
          domain,
          announcementReader(caller, {
            domain,
            skills: core.skills,
            maxAgeMs: acceptedAgeMs(request.headers),
          }),
          pageSize(request.query.limit),
          request.query.cursor,
          { unread: request.query.unread === 'true' || request.query.unread === '1' },
        ),
      }),
    }),
    route({
      // Marks an announcement read for the caller: it stops showing as a banner.
      method: 'POST',
      path: '/api/announcements/{id}/read',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Mark an announcement read for the caller',
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        const reader = announcementReader(caller, { domain, skills: core.skills });
        await core.announcements.markRead(domain, reader, request.params.id ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/announcements',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Post an announcement to the tenant',
      responses: { 201: announcementSchema },
      permission: 'announcement:manage',
      body: announcementBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: (
          await core.announcements.post(
            domain,
            request.body,
            { username: caller.username, via: caller.via },
            'tenant',
          )
        ).announcement,
      }),
    }),
  ];
}
