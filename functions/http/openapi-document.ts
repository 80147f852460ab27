/**
 * The OpenAPI 3.1 document of one API's route table (openapi.ts serves it): each route's operation —
 * method, path, auth, permission, query parameters, body schema and declared responses, zod 4 schemas
 * rendered to JSON Schema 2020-12 by zod-openapi. Loaded by the first `GET /api/openapi.json`.
 */
import * as z from 'zod';
// Named, not through `z.core`: that namespace object would carry every locale into the bundle.
import { $ZodType, globalRegistry, safeParse } from 'zod/v4/core';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import {
  CACHE_CONTROL_HEADER,
  CACHED_READ_MAX_AGE_SECONDS,
  CSRF_HEADER,
  IDEMPOTENCY_HEADER,
  MAX_RUN_WAIT_SECONDS,
  PREFER_HEADER,
} from '../core/headers.ts';
import { API_VERSION, type ApiSurface, problemSchema } from './openapi.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';
import type { MediaResponse, ResponseSpec, Route } from './router.ts';
import { PLAIN_SESSION_COOKIE, SECURE_SESSION_COOKIE } from './session.ts';

const APIS: Readonly<Record<ApiSurface, { readonly title: string; readonly description: string }>> = {
  tenant: {
    title: 'ExecFabric tenant API',
    description:
      "Everything a customer's users (and their CLI, local agents and AI clients) do on their tenant's own host: Skills, script assets, runs, approvals, schedules, extension data, users and roles, the tenant's audit chain. Served on every tenant host.",
  },
  governance: {
    title: 'ExecFabric governance API',
    description:
      "The public domain's console: tenants and their hosts, customers, orders and lifecycle, HTTP resources and their credentials, templates, platform announcements and the platform audit chain. Served on the governance console's host.",
  },
  free: {
    title: 'ExecFabric free edition API',
    description: 'The free personal-edition entry. Served on the free host.',
  },
};

/** The section of the reference a route belongs to, from the first segment of its path. */
const TAGS: readonly (readonly [tag: string, description: string, segments: readonly string[]])[] = [
  ['Platform', 'Health and this description.', ['health', 'openapi.json']],
  [
    'Identity',
    'Sign-in, the caller, personal access tokens, users, roles and menus.',
    ['auth', 'me', 'tokens', 'users', 'roles', 'permissions', 'menus'],
  ],
  [
    'Foundation',
    'Parameters, announcements, branding and notifications.',
    ['parameters', 'announcements', 'branding', 'notifications'],
  ],
  ['Catalogue', 'Skills and the script assets they run (hot update and rollback).', ['skills', 'assets']],
  ['Runs', 'Executions, their logs, cancellation and approvals.', ['executions', 'approvals']],
  ['Schedules', 'Scheduled runs of Skills and their fire logs.', ['schedules', 'schedule-logs']],
  ['Extension data', "The tenant's collections and their records.", ['data']],
  ['HTTP resources', 'HTTP APIs Skills call, with centrally governed credentials.', ['http-resources']],
  ['Templates', 'Platform templates and their installation in tenants.', ['templates']],
  [
    'AI access',
    'The MCP endpoint, its metadata and the AI clients that use it.',
    ['mcp', '.well-known', 'mcp-clients'],
  ],
  [
    'Local agents',
    "Machines of the tenant's own that run Skills, and the protocol they speak.",
    ['agents', 'agent'],
  ],
  ['Audit', "The domain's hash-chained audit, its verification and export.", ['audit']],
  [
    'Tenants',
    'Tenants, their hosts, branding and the cross-tenant console.',
    ['tenants', 'platform', 'console'],
  ],
  ['Billing', 'Customers, orders and lifecycle scans.', ['customers', 'orders', 'lifecycle']],
  [
    'Free edition',
    'Sign-up for a personal space, the plan and what is left of it, leads and their conversion.',
    ['free', 'usage'],
  ],
];

function tagOf(path: string): string {
  const parts = path.split('/').filter((part) => part !== '');
  const segment = parts[0] === 'api' ? (parts[1] ?? '') : (parts[0] ?? '');
  const found = TAGS.find(([, , segments]) => segments.includes(segment));
  if (found === undefined) throw new Error(`No OpenAPI tag for the route path ${path}`);
  return found[0];
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
};

function isMedia(spec: ResponseSpec): spec is MediaResponse {
  return spec !== null && !(spec instanceof $ZodType);
}

function successResponse(status: number, spec: ResponseSpec) {
  const description = STATUS_TEXT[status] ?? `Status ${status}`;
  if (spec === null) return { description };
  if (isMedia(spec)) {
    return {
      description: spec.description ?? description,
      content: { [spec.contentType]: spec.schema === undefined ? {} : { schema: spec.schema } },
    };
  }
  const meta = globalRegistry.get(spec);
  const said = typeof meta?.description === 'string' ? meta.description : undefined;
  return { description: said ?? description, content: { 'application/json': { schema: spec } } };
}

function problemResponse(description: string) {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } };
}

const PARAM = /\{([a-zA-Z][a-zA-Z0-9]*)\}/g;

function operationId(route: Route): string {
  const words = route.path
    .replace(/^\/api\//, '/')
    .split(/[^a-zA-Z0-9]+/)
    .filter((word) => word !== '');
  return [route.method.toLowerCase(), ...words.map((word) => word[0]?.toUpperCase() + word.slice(1))].join(
    '',
  );
}

/** Whether a body schema accepts an empty request (the pipeline reads no body as `{}`). */
function bodyOptional(schema: $ZodType): boolean {
  return safeParse(schema, {}).success;
}

function operation(route: Route): ZodOpenApiOperationObject {
  const names = [...route.path.matchAll(PARAM)].map((match) => match[1] ?? '');
  const path =
    names.length === 0 ? undefined : z.object(Object.fromEntries(names.map((name) => [name, z.string()])));
  const who =
    route.auth === 'anonymous'
      ? 'Anyone may call it.'
      : route.auth === 'mcp-client'
        ? 'An AI client calls it with its own token.'
        : route.auth === 'agent'
          ? 'A local agent calls it with its own token.'
          : route.permission === undefined
            ? 'Any signed-in user may call it.'
            : `The caller needs the permission \`${route.permission}\`.`;
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    responses[status] = successResponse(Number(status), spec);
  }
  const refusal = (status: number, description: string) => {
    if (responses[String(status)] === undefined) responses[String(status)] = problemResponse(description);
  };
  if (route.body !== undefined) {
    refusal(413, 'The body is larger than the route accepts');
    refusal(415, 'The body is not application/json');
    refusal(422, 'The body (or a parameter) is invalid; `errors` names each field');
  }
  if (route.auth !== 'anonymous') refusal(401, 'No valid credential');
  if (route.permission !== undefined) refusal(403, 'The caller lacks the permission');
  responses.default = problemResponse('Any other error');
  const headers: Record<string, z.ZodType> = {};
  if (route.auth === 'caller' && route.method !== 'GET') {
    headers[CSRF_HEADER] = z
      .string()
      .optional()
      .meta({ description: 'With a session cookie only: the CSRF token `GET /api/me` answers' });
  }
  if (route.method === 'POST' && /\/executions$/.test(route.path)) {
    headers[IDEMPOTENCY_HEADER] = z
      .string()
      .max(200)
      .optional()
      .meta({ description: 'Requests with the same key run once; the repeat answers the first run' });
    if (route.path === '/api/skills/{id}/executions') {
      headers[PREFER_HEADER] = z
        .string()
        .max(200)
        .optional()
        .meta({
          description: `\`wait=N\` (RFC 7240): answer once the run has ended, waiting at most N seconds (≤ ${MAX_RUN_WAIT_SECONDS})`,
        });
    }
  }
  // Reads that see the catalogue through the per-process cache (for run history: which Skills' runs
  // the caller may see). MCP's `tools/list` reads the same header on POST /mcp.
  if (
    route.method === 'GET' &&
    (route.path === '/api/skills' || route.path === '/api/executions' || route.path === '/api/approvals')
  ) {
    headers[CACHE_CONTROL_HEADER] = z
      .string()
      .max(200)
      .optional()
      .meta({
        description: `RFC 9111: \`no-cache\` (or \`max-age=0\`) reads the catalogue now; \`max-age=N\` accepts one read at most N seconds ago; otherwise at most ${CACHED_READ_MAX_AGE_SECONDS} s`,
      });
  }
  return {
    operationId: operationId(route),
    summary: route.summary ?? `${route.method} ${route.path}`,
    description: route.description === undefined ? who : `${route.description}\n\n${who}`,
    tags: [tagOf(route.path)],
    ...(route.permission === undefined ? {} : { 'x-permission': route.permission }),
    security:
      route.auth === 'anonymous'
        ? []
        : route.auth === 'mcp-client'
          ? [{ mcpClient: [] }]
          : route.auth === 'agent'
            ? [{ agent: [] }]
            : [{ bearer: [] }, { session: [] }],
    requestParams: {
      ...(path === undefined ? {} : { path }),
      ...(route.query === undefined ? {} : { query: route.query }),
      ...(Object.keys(headers).length === 0 ? {} : { header: z.object(headers) }),
    },
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: !bodyOptional(route.body),
            content: { 'application/json': { schema: route.body } },
          },
        }),
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
}

/** The OpenAPI 3.1 document of one API's route table. */
export function openApiDocument(surface: ApiSurface, routes: readonly Route[]) {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    const item = paths[route.path] ?? {};
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    if (item[method] !== undefined) throw new Error(`Two routes for ${route.method} ${route.path}`);
    item[method] = operation(route);
  }
  const used = new Set(routes.map((route) => tagOf(route.path)));
  return createDocument(
    {
      openapi: '3.1.0',
      info: { title: APIS[surface].title, version: API_VERSION, description: APIS[surface].description },
      servers: [{ url: '/', description: 'The host this document was read from' }],
      tags: TAGS.filter(([tag]) => used.has(tag)).map(([name, description]) => ({ name, description })),
      paths,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A session token (`POST /api/auth/login`) or a personal access token, bound to this host.',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: SECURE_SESSION_COOKIE,
            description: `The fronts' HttpOnly session cookie (\`${PLAIN_SESSION_COOKIE}\` over plain http); writes also carry \`${CSRF_HEADER}\`.`,
          },
          mcpClient: {
            type: 'http',
            scheme: 'bearer',
            description: 'An AI client token, created under AI clients in the tenant front.',
          },
          agent: {
            type: 'http',
            scheme: 'bearer',
            description: "A local agent's token, created with the agent (`POST /api/agents`).",
          },
        },
      },
    },
    { reused: 'inline' },
  );
}
