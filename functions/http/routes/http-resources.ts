/**
 * HTTP resources over HTTP. Governance (public domain, governance console hosts only, permission
 * `http-resource:manage`): configuration, credential (write-only: a value is accepted, never
 * returned), grants and trial runs (super-admins). Tenant API: read-only summaries of the resources
 * granted to the tenant. Bodies are parsed here with strict zod schemas; the rest is the core's.
 */
import { z } from 'zod';
import { RouteNotFoundError } from '../../core/errors.ts';
import type { Acting } from '../../core/governance/acting.ts';
import { AUTH_SCHEMES, HTTP_METHODS } from '../../core/http-resources/model.ts';
import { resourceView } from '../../core/http-resources/resources.ts';
import type { Caller } from '../../core/identity/caller.ts';
import { pageSize } from '../../core/pagination.ts';
import type { Core } from '../../core/platform.ts';
import { TENANT_ID_PATTERN } from '../../core/tenancy/domain.ts';
import { type ApiRequest, type Route, type RouteContext, type RouteResult, route } from '../router.ts';
import { stateBody, tenantOf } from './domains.ts';

const PERMISSION = 'http-resource:manage';

const auth = z.strictObject({
  scheme: z.enum(AUTH_SCHEMES),
  header: z.string().min(1).max(64).optional(),
});

const config = {
  name: z.string().trim().min(1).max(120),
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

/** Governance lives on the console's hosts only (not the free entry, never a tenant host). */
function governed<B>(
  handle: (context: RouteContext<B, Caller>) => Promise<RouteResult>,
): (context: RouteContext<B, Caller>) => Promise<RouteResult> {
  return async (context) => {
    if (context.domain.kind !== 'public' || context.domain.surface !== 'governance') {
      throw new RouteNotFoundError(`No route for ${context.request.path}`);
    }
    return handle(context);
  };
}

function id(request: ApiRequest<unknown>): string {
  return request.params.id ?? '';
}

export function httpResourceGovernanceRoutes(core: Core): Route[] {
  const resources = core.httpResources;
  return [
    route({
      method: 'GET',
      path: '/api/http-resources',
      auth: 'caller',
      permission: PERMISSION,
      handle: governed(async ({ request }) => {
        const page = await resources.list(pageSize(request.query.limit), request.query.cursor);
        return {
          status: 200,
          body: { items: page.items.map(resourceView), ...(page.cursor ? { cursor: page.cursor } : {}) },
        };
      }),
    }),
    route({
      method: 'POST',
      path: '/api/http-resources',
      auth: 'caller',
      permission: PERMISSION,
      body: newResourceBody,
      handle: governed(async ({ request, caller }) => {
        const created = await resources.create(request.body, acting(caller, request));
        return {
          status: 201,
          body: resourceView(created),
          headers: { location: `/api/http-resources/${created.id}` },
        };
      }),
    }),
    route({
      method: 'GET',
      path: '/api/http-resources/{id}',
      auth: 'caller',
      permission: PERMISSION,
      handle: governed(async ({ request }) => ({
        status: 200,
        body: resourceView(await resources.get(id(request))),
      })),
    }),
    route({
      method: 'PATCH',
      path: '/api/http-resources/{id}',
      auth: 'caller',
      permission: PERMISSION,
      body: patchBody,
      handle: governed(async ({ request, caller }) => {
        const { version, ...patch } = request.body;
        return {
          status: 200,
          body: resourceView(await resources.update(id(request), patch, acting(caller, request), version)),
        };
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/http-resources/{id}/state',
      auth: 'caller',
      permission: PERMISSION,
      body: stateBody,
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: resourceView(
          await resources.setState(
            id(request),
            request.body.state,
            acting(caller, request),
            request.body.reason,
          ),
        ),
      })),
    }),
    route({
      method: 'PUT',
      path: '/api/http-resources/{id}/credential',
      auth: 'caller',
      permission: PERMISSION,
      body: credentialBody,
      maxBodyBytes: 16 * 1024,
      handle: governed(async ({ request, caller }) => {
        await resources.putCredential(id(request), request.body.value, acting(caller, request));
        return { status: 204 };
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/http-resources/{id}/credential/previous',
      auth: 'caller',
      permission: PERMISSION,
      handle: governed(async ({ request, caller }) => {
        await resources.dropPreviousCredential(id(request), acting(caller, request));
        return { status: 204 };
      }),
    }),
    route({
      method: 'POST',
      path: '/api/http-resources/{id}/trial',
      auth: 'caller',
      permission: PERMISSION,
      body: trialBody,
      maxBodyBytes: 128 * 1024,
      handle: governed(async ({ request, caller }) => ({
        status: 200,
        body: await resources.trial(id(request), request.body, {
          ...acting(caller, request),
          superAdmin: caller.superAdmin,
        }),
      })),
    }),
    route({
      method: 'POST',
      path: '/api/http-resources/{id}/grants',
      auth: 'caller',
      permission: PERMISSION,
      body: grantBody,
      handle: governed(async ({ request, caller }) => {
        const updated = await resources.grant(id(request), request.body.tenantIds, acting(caller, request));
        return { status: 200, body: { id: updated.id, grants: updated.grants } };
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/http-resources/{id}/grants/{tenantId}',
      auth: 'caller',
      permission: PERMISSION,
      handle: governed(async ({ request, caller }) => {
        await resources.revoke(id(request), request.params.tenantId ?? '', acting(caller, request));
        return { status: 204 };
      }),
    }),
  ];
}

export function httpResourceTenantRoutes(core: Core): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/http-resources',
      auth: 'caller',
      permission: 'skill:manage',
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.httpResources.summaries(tenantOf(domain, 'HTTP resources')) },
      }),
    }),
  ];
}
