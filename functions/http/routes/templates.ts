/** Platform templates: authored and distributed in the public domain, installed by tenant admins. */
import * as z from 'zod';
import { APPROVALS, RISKS } from '../../core/catalog/rules.ts';
import { pageSize } from '../../core/pagination.ts';
import type { ApiCore, TenantCore } from '../../core/platform.ts';
import { list, page, pageQuery } from '../responses.ts';
import { type Route, route } from '../router.ts';
import { displayName, jsonSchemaField } from './domains.ts';

const templateBody = z.strictObject({
  skill: z.strictObject({
    name: displayName,
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

const templateSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    latestVersion: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Template' });

const templateVersionSchema = z
  .looseObject({
    templateId: z.string(),
    version: z.number().int(),
    skill: z.looseObject({ name: z.string(), description: z.string(), risk: z.enum(RISKS) }),
    sha256: z.string(),
    note: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: 'TemplateVersion' });

const tenantTemplateSchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    latestVersion: z.number().int(),
    installedVersion: z.number().int().nullable(),
    skillId: z.string().nullable(),
    updateAvailable: z.boolean(),
  })
  .meta({ id: 'TenantTemplate' });

const templateStandingSchema = z
  .object({
    tenantId: z.string(),
    tenantName: z.string(),
    offeredAt: z.string(),
    offeredBy: z.string(),
    installedVersion: z.number().int().nullable(),
    installedAt: z.string().nullable(),
    skillId: z.string().nullable(),
    updateAvailable: z.boolean(),
  })
  .meta({ id: 'TemplateStanding' });

/** A template body may carry a script of up to 256 KiB, which can double when JSON-escaped. */
const TEMPLATE_BODY_BYTES = 1024 * 1024;

export function templateGovernanceRoutes(core: ApiCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/templates',
      serves: 'governance',
      auth: 'caller',
      summary: 'Platform templates',
      responses: { 200: list(templateSchema) },
      permission: 'template:manage',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.templates.list(domain) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/templates',
      serves: 'governance',
      auth: 'caller',
      summary: 'Create a template (its version 1)',
      responses: { 201: templateSchema.extend({ version: z.literal(1) }).meta({ id: 'NewTemplate' }) },
      permission: 'template:manage',
      body: templateBody,
      maxBodyBytes: TEMPLATE_BODY_BYTES,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.templates.create(domain, request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/templates/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: 'One template with its latest version',
      responses: {
        200: templateSchema
          .extend({ latest: templateVersionSchema.extend({ source: z.string() }) })
          .meta({ id: 'TemplateWithLatest' }),
      },
      permission: 'template:manage',
      handle: async ({ domain, request }) => {
        domain;
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
      serves: 'governance',
      auth: 'caller',
      summary: 'Add a version to a template',
      responses: { 201: templateVersionSchema },
      permission: 'template:manage',
      body: templateBody,
      maxBodyBytes: TEMPLATE_BODY_BYTES,
      handle: async ({ domain, caller, request }) => {
        const version = await core.templates.addVersion(
          domain,
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
      serves: 'governance',
      auth: 'caller',
      summary: 'Offer a template to tenants',
      responses: { 200: z.object({ tenants: z.array(z.string()) }).meta({ id: 'Distribution' }) },
      permission: 'template:manage',
      body: distributeBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.templates.distribute(domain, request.params.id ?? '', request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/templates/{id}/tenants',
      serves: 'governance',
      auth: 'caller',
      summary:
        'Where a template stands with the tenants: those it was offered to among one page of tenants, and the version each installed (a page may be short, or empty, and still have a cursor)',
      query: z.object(pageQuery),
      responses: { 200: page(templateStandingSchema) },
      permission: 'template:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.templates.standing(
          domain,
          request.params.id ?? '',
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
  ];
}

export function templateTenantRoutes(core: TenantCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/templates',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Templates offered to this tenant',
      responses: { 200: list(tenantTemplateSchema) },
      permission: 'template:install',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.templates.offered(domain) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/templates/{id}/install',
      serves: 'tenant',
      auth: 'caller',
      summary: 'Install (or update) an offered template as a Skill',
      responses: { 200: tenantTemplateSchema },
      permission: 'template:install',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.templates.install(domain, request.params.id ?? '', caller),
      }),
    }),
  ];
}
