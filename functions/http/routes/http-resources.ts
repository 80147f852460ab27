/**
 * HTTP resources over HTTP. Governance (public domain, governance console hosts only, permission
 * `http-resource:manage`): configuration, credential (write-only: a value is accepted, never
 * returned), grants and trial runs (super-admins). Tenant API: read-only summaries of the resources
 * granted to the tenant. Bodies are parsed here with strict zod schemas; the rest is the core's.
 */
import * as z from 'zod';
import type { Acting } from '../../core/governance/acting.ts';
import { AUTH_SCHEMES, HTTP_METHODS } from '../../core/http-resources/model.ts';
import { resourceView } from '../../core/http-resources/resources.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { ApiCore, SignedInCore } from '../../core/platform.ts';
import { TENANT_ID_PATTERN } from '../../core/tenancy/domain.ts';
import { availabilityState, list, page, pageQuery } from '../responses.ts';
import { type ApiRequest, type Route, route } from '../router.ts';
import { displayName, stateBody } from './domains.ts';

const PERMISSION = 'http-resource:manage';

const auth = z.strictObject({
  scheme: z.enum(AUTH_SCHEMES),
  header: z.string().min(1).max(64).optional(),
});

const config = {
  name: displayName,
  description: z.string().max(2000).optional(),
  baseUrl: z.string().min(1).max(2048),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).max(HTTP_METHODS.length),
  paths: z.array(z.string().min(1).max(512)).min(1).max(50),
  writeAllowed: z.boolean(),
  auth,
  timeoutSeconds: z.number().int().optional(),
  maxResponseBytes: z.number().int().optional(),
  localDevelopment: z.boolean().optional(),
};

const newResourceBody = z.strictObject(config);

const patchBody = z
  .strictObject({
    name: config.name.optional(),
    description: config.description,
    baseUrl: config.baseUrl.optional(),
    methods: config.methods.optional(),
    paths: config.paths.optional(),
    writeAllowed: config.writeAllowed.optional(),
    auth: auth.optional(),
    timeoutSeconds: config.timeoutSeconds,
    maxResponseBytes: config.maxResponseBytes,
    localDevelopment: config.localDevelopment,
    /** The version the change is based on (guards against lost updates). */
    version: z.number().int().min(1).optional(),
  })
  .refine(
    (patch) => Object.entries(patch).some(([field, value]) => field !== 'version' && value !== undefined),
    {
      message: 'give at least one field to change',
    },
  );

/** A credential value: accepted here, never echoed (not even in a validation error). */
const credentialBody = z.strictObject({ value: z.string().min(1).max(4096) });

const trialBody = z.strictObject({
  method: z.enum(HTTP_METHODS),
  path: z.string().min(1).max(2048),
  query: z.record(z.string().min(1).max(128), z.string().max(2048)).optional(),
  body: z.unknown().optional(),
});

const grantBody = z.strictObject({
  tenantIds: z.array(z.string().regex(TENANT_ID_PATTERN, 'a tenant id')).min(1).max(100),
});

function acting(caller: Caller, request: ApiRequest<unknown>): Acting {
  return { actor: { username: caller.username, via: caller.via }, requestId: request.requestId };
}

const resourceSummarySchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    methods: z.array(z.string()),
    paths: z.array(z.string()).meta({
      description:
        'Path patterns a request must match, relative to the base URL (`*` within one segment, a final `**` any rest)',
    }),
    state: availabilityState,
  })
  .meta({ id: 'HttpResourceSummary' });

const resourceSchema = resourceSummarySchema
  .extend({
    baseUrl: z.string(),
    writeAllowed: z.boolean(),
    auth: z.looseObject({ scheme: z.string(), header: z.string().optional() }),
    timeoutSeconds: z.number(),
    maxResponseBytes: z.number().int(),
    localDevelopment: z.boolean(),
    version: z.number().int(),
    configHash: z.string(),
    grants: z.array(z.string()),
    credential: z
      .looseObject({
        configured: z.boolean(),
        version: z.string().optional(),
        confirmed: z.boolean().optional(),
      })
      .meta({ description: 'Whether a credential is set and its version; never its value' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'HttpResource' });

const trialResultSchema = z
  .looseObject({
    status: z.number().int(),
    statusText: z.string(),
    headers: z.record(z.string(), z.string()),
    body: z.unknown(),
    truncated: z.boolean(),
    bytes: z.number().int(),
    redirects: z.number().int(),
    durationMs: z.number(),
    credential: z.looseObject({ version: z.string(), confirmed: z.boolean() }),
  })
  .meta({ id: 'TrialResult' });

function id(request: ApiRequest<unknown>): string {
  return request.params.id ?? '';
}

export function httpResourceGovernanceRoutes(core: ApiCore): Route[] {
  const resources = core.httpResources;
  return [
    route({
      method: 'GET',
      path: '/api/http-resources',
      serves: 'governance',
      auth: 'caller',
      summary: 'HTTP resources',
      query: z.object(pageQuery),
      responses: { 200: page(resourceSchema) },
      permission: PERMISSION,
      handle: async ({ request }) => {
        const page = await resources.list(pageSize(request.query.limit), request.query.cursor);
        return {
          status: 200,
          body: { items: page.items.map(resourceView), ...(page.cursor ? { cursor: page.cursor } : {}) },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/http-resources',
      serves: 'governance',
      auth: 'caller',
      summary: 'Create an HTTP resource',
      responses: { 201: resourceSchema },
      permission: PERMISSION,
      body: newResourceBody,
      handle: async ({ request, caller }) => {
        const created = await resources.create(request.body, acting(caller, request));
        return {
          status: 201,
          body: resourceView(created),
          headers: { location: `/api/http-resources/${created.id}` },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/http-resources/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: 'One HTTP resource (never its credential)',
      responses: { 200: resourceSchema },
      permission: PERMISSION,
      handle: async ({ request }) => ({
        status: 200,
        body: resourceView(await resources.get(id(request))),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/http-resources/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: "Change an HTTP resource's configuration",
      responses: { 200: resourceSchema },
      permission: PERMISSION,
      body: patchBody,
      handle: async ({ request, caller }) => {
        const { version, ...patch } = request.body;
        return {
          status: 200,
          body: resourceView(await resources.update(id(request), patch, acting(caller, request), version)),
        };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/http-resources/{id}/state',
      serves: 'governance',
      auth: 'caller',
      summary: 'Disable, archive or restore an HTTP resource',
      responses: { 200: resourceSchema },
      permission: PERMISSION,
      body: stateBody,
      handle: async ({ request, caller }) => ({
        status: 200,
        body: resourceView(
          await resources.setState(
            id(request),
            request.body.state,
            acting(caller, request),
            request.body.reason,
          ),
        ),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/http-resources/{id}/credential',
      serves: 'governance',
      auth: 'caller',
      summary: "Set (rotate) an HTTP resource's credential",
      responses: { 204: null },
      permission: PERMISSION,
      body: credentialBody,
      maxBodyBytes: 16 * 1024,
      handle: async ({ request, caller }) => {
        await resources.putCredential(id(request), request.body.value, acting(caller, request));
        return { status: 204 };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/http-resources/{id}/credential/previous',
      serves: 'governance',
      auth: 'caller',
      summary: 'Drop the previous credential kept after a rotation',
      responses: { 204: null },
      permission: PERMISSION,
      handle: async ({ request, caller }) => {
        await resources.dropPreviousCredential(id(request), acting(caller, request));
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/http-resources/{id}/trial',
      serves: 'governance',
      auth: 'caller',
      summary: 'Send one trial request through the resource',
      responses: { 200: trialResultSchema },
      permission: PERMISSION,
      body: trialBody,
      maxBodyBytes: 128 * 1024,
      handle: async ({ request, caller }) => ({
        status: 200,
        body: await resources.trial(id(request), request.body, {
          ...acting(caller, request),
          superAdmin: caller.superAdmin,
        }),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/http-resources/{id}/grants',
      serves: 'governance',
      auth: 'caller',
      summary: 'Grant an HTTP resource to tenants',
      responses: { 200: z.object({ id: z.string(), grants: z.array(z.string()) }).meta({ id: 'Grants' }) },
      permission: PERMISSION,
      body: grantBody,
      handle: async ({ request, caller }) => {
        const updated = await resources.grant(id(request), request.body.tenantIds, acting(caller, request));
        return { status: 200, body: { id: updated.id, grants: updated.grants } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/http-resources/{id}/grants/{tenantId}',
      serves: 'governance',
      auth: 'caller',
      summary: "Revoke a tenant's grant",
      responses: { 204: null },
      permission: PERMISSION,
      handle: async ({ request, caller }) => {
        await resources.revoke(id(request), request.params.tenantId ?? '', acting(caller, request));
        return { status: 204 };
      },
    }),
  ];
}

export function httpResourceTenantRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/http-resources',
      serves: 'tenant',
      auth: 'caller',
      summary: 'HTTP resources granted to this tenant (read-only summaries)',
      responses: { 200: list(resourceSummarySchema) },
      permission: 'skill:manage',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.httpResources.summaries(domain) },
      }),
    }),
  ];
}
