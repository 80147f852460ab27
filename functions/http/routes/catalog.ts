/** Skills, script assets and executions: the tenant's catalogue and its runs. */
import { z } from 'zod';
import { MAX_SCRIPT_BYTES } from '../../core/assets/scripts.ts';
import {
  APPROVALS,
  MAX_EGRESS,
  MAX_SKILL_COLLECTIONS,
  MAX_SKILL_PARAMETERS,
  MAX_SKILL_TAGS,
  RISKS,
} from '../../core/catalog/skills.ts';
import { ValidationError } from '../../core/errors.ts';
import { executionView } from '../../core/executions/executions.ts';
import { IDEMPOTENCY_HEADER } from '../../core/headers.ts';
import { pageSize } from '../../core/pagination.ts';
import type { Core } from '../../core/platform.ts';
import { type Route, route } from '../router.ts';
import { jsonSchemaField, tenantOf } from './domains.ts';

/** A script upload's body: the source (≤ 256 KiB) may double when JSON-escaped. */
const SCRIPT_BODY_BYTES = 4 * MAX_SCRIPT_BYTES;

const skillBody = z.strictObject({
  name: z.string().trim().min(1).max(120),
  description: z.string().max(2000).optional(),
  inputSchema: jsonSchemaField,
  outputSchema: jsonSchemaField,
  risk: z.enum(RISKS),
  approval: z.enum(APPROVALS).optional(),
  visibility: z.strictObject({ roles: z.array(z.string().max(64)).max(20) }).optional(),
  tags: z.array(z.string().max(64)).max(MAX_SKILL_TAGS).optional(),
  asset: z.record(z.string(), z.unknown()),
  limits: z
    .strictObject({ timeoutSeconds: z.number().int().optional(), memoryMb: z.number().int().optional() })
    .optional(),
  egress: z.array(z.string().min(1).max(64)).max(MAX_EGRESS).optional(),
  collections: z.array(z.string().min(1).max(64)).max(MAX_SKILL_COLLECTIONS).optional(),
  parameters: z.array(z.string().min(1).max(64)).max(MAX_SKILL_PARAMETERS).optional(),
});

const skillUpdateBody = skillBody.extend({ revision: z.number().int().min(1).optional() });

const newScriptBody = z.strictObject({
  name: z.string().trim().min(1).max(120),
  source: z.string(),
  note: z.string().max(500).optional(),
});

const newVersionBody = z.strictObject({ source: z.string(), note: z.string().max(500).optional() });
const activateBody = z.strictObject({ version: z.number().int().min(1) });
const runBody = z.strictObject({ input: z.unknown() });

function versionParam(raw: string | undefined): number {
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new ValidationError('Invalid version', [{ path: 'version', message: 'a positive integer' }]);
  }
  return version;
}

export function catalogRoutes(core: Core): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/skills',
      auth: 'caller',
      permission: 'skill:read',
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: { items: await core.skills.listVisible(tenantOf(domain, 'catalogue'), caller) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/skills',
      auth: 'caller',
      permission: 'skill:manage',
      body: skillBody,
      maxBodyBytes: 256 * 1024,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.skills.create(tenantOf(domain, 'catalogue'), request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/skills/{id}',
      auth: 'caller',
      permission: 'skill:read',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.skills.getVisible(tenantOf(domain, 'catalogue'), caller, request.params.id ?? ''),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/skills/{id}',
      auth: 'caller',
      permission: 'skill:manage',
      body: skillUpdateBody,
      maxBodyBytes: 256 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { revision, ...definition } = request.body;
        return {
          status: 200,
          body: await core.skills.update(
            tenantOf(domain, 'catalogue'),
            request.params.id ?? '',
            definition,
            caller,
            revision,
          ),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/skills/{id}/executions',
      auth: 'caller',
      permission: 'skill:run',
      body: runBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ domain, caller, request }) => {
        const { execution, created } = await core.executions.request(
          tenantOf(domain, 'catalogue'),
          caller,
          request.params.id ?? '',
          request.body.input,
          request.headers[IDEMPOTENCY_HEADER],
        );
        return {
          status: 202,
          body: { id: execution.id, status: execution.status, replayed: !created },
          headers: { location: `/api/executions/${execution.id}` },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/executions',
      auth: 'caller',
      handle: async ({ domain, caller, request }) => {
        const page = await core.executions.list(
          tenantOf(domain, 'catalogue'),
          caller,
          pageSize(request.query.limit),
          request.query.cursor,
        );
        return {
          status: 200,
          body: { items: page.items.map(executionView), ...(page.cursor ? { cursor: page.cursor } : {}) },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/executions/{id}',
      auth: 'caller',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: executionView(
          await core.executions.get(tenantOf(domain, 'catalogue'), caller, request.params.id ?? ''),
        ),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts',
      auth: 'caller',
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.list(
          tenantOf(domain, 'catalogue'),
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/assets/scripts',
      auth: 'caller',
      permission: 'asset:manage',
      body: newScriptBody,
      maxBodyBytes: SCRIPT_BODY_BYTES,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.scripts.create(tenantOf(domain, 'catalogue'), request.body, caller),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}',
      auth: 'caller',
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.get(tenantOf(domain, 'catalogue'), request.params.id ?? ''),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}/versions',
      auth: 'caller',
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.versions(
          tenantOf(domain, 'catalogue'),
          request.params.id ?? '',
          pageSize(request.query.limit),
          request.query.cursor,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/assets/scripts/{id}/versions',
      auth: 'caller',
      permission: 'asset:manage',
      body: newVersionBody,
      maxBodyBytes: SCRIPT_BODY_BYTES,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.scripts.addVersion(
          tenantOf(domain, 'catalogue'),
          request.params.id ?? '',
          request.body,
          caller,
        ),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/assets/scripts/{id}/versions/{version}',
      auth: 'caller',
      permission: 'asset:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.scripts.version(
          tenantOf(domain, 'catalogue'),
          request.params.id ?? '',
          versionParam(request.params.version),
        ),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/assets/scripts/{id}/active',
      auth: 'caller',
      permission: 'asset:manage',
      body: activateBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.scripts.activate(
          tenantOf(domain, 'catalogue'),
          request.params.id ?? '',
          request.body.version,
          caller,
        ),
      }),
    }),
  ];
}
