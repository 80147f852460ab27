/** Platform templates: authored and distributed in the public domain, installed by tenant admins. */
import { z } from 'zod';
import { APPROVALS, RISKS } from '../../core/catalog/skills.ts';
import type { Core } from '../../core/platform.ts';
import { type Route, route } from '../router.ts';
import { jsonSchemaField, publicOf, tenantOf } from './domains.ts';

const templateBody = z.strictObject({
  skill: z.strictObject({
    name: z.string().trim().min(1).max(120),
    description: z.string().max(2000).default(''),
    inputSchema: jsonSchemaField,
    outputSchema: jsonSchemaField,
    risk: z.enum(RISKS),
    approval: z.enum(APPROVALS).optional(),
    limits: z
      .strictObject({ timeoutSeconds: z.number().int().optional(), memoryMb: z.number().int().optional() })
      .optional(),
  }),
  source: z.string(),
  note: z.string().max(500).optional(),
});

const distributeBody = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ tenantIds: z.array(z.string().max(64)).min(1).max(500) }),
]);

/** A template body may carry a script of up to 256 KiB, which can double when JSON-escaped. */
const TEMPLATE_BODY_BYTES = 1024 * 1024;

export function templateGovernanceRoutes(core: Core): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/templates',
      auth: 'caller',
      permission: 'template:manage',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.templates.list(publicOf(domain, 'template authoring')) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/templates',
      auth: 'caller',
      permission: 'template:manage',
      body: templateBody,
      maxBodyBytes: TEMPLATE_BODY_BYTES,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.templates.create(publicOf(domain, 'template authoring'), request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/templates/{id}',
      auth: 'caller',
      permission: 'template:manage',
      handle: async ({ domain, request }) => {
        publicOf(domain, 'template authoring');
        const template = await core.templates.get(request.params.id ?? '');
        return {
          status: 200,
          body: { ...template, latest: await core.templates.version(template.id, template.latestVersion) },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/templates/{id}/versions',
      auth: 'caller',
      permission: 'template:manage',
      body: templateBody,
      maxBodyBytes: TEMPLATE_BODY_BYTES,
      handle: async ({ domain, caller, request }) => {
        const version = await core.templates.addVersion(
          publicOf(domain, 'template authoring'),
          request.params.id ?? '',
          request.body,
          caller,
        );
        const { source: _source, ...summary } = version;
        return { status: 201, body: summary };
      },
    }),
    route({
      method: 'POST',
      path: '/api/templates/{id}/distribute',
      auth: 'caller',
      permission: 'template:manage',
      body: distributeBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.templates.distribute(
          publicOf(domain, 'template authoring'),
          request.params.id ?? '',
          request.body,
          caller,
        ),
      }),
    }),
  ];
}

export function templateTenantRoutes(core: Core): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/templates',
      auth: 'caller',
      permission: 'template:install',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.templates.offered(tenantOf(domain, 'template installation')) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/templates/{id}/install',
      auth: 'caller',
      permission: 'template:install',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.templates.install(
          tenantOf(domain, 'template installation'),
          request.params.id ?? '',
          caller,
        ),
      }),
    }),
  ];
}
