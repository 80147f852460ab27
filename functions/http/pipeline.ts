/**
 * The request pipeline shared by the API handlers (API Gateway HTTP API, payload v2):
 * origin proof → surface from the edge's path prefix → host → domain → route, and whether it is
 * served in this domain (its guard) → body size → caller
 * (a user, or an AI client on the MCP route) and permission → body (media type, JSON, nesting
 * depth, zod) → the route's call into the core → JSON (or the route's own framing) or problem+json. A body is read only for a caller allowed to send it, so nobody without a right to
 * the route learns anything from its validation (an agent's token is checked first on the agent
 * channel, as a user's elsewhere). An anonymous route reads no credential at all (it knows no
 * caller, and a token sent there is neither tried nor recorded).
 * Every failure on the way is an ExecFabricError
 * turned into problem+json; nothing else escapes. A token that is refused and a privileged request
 * that is refused are recorded as security events in the domain's audit (rate-limited per source).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { MCP_PATH } from '../contract/paths.ts';
import type { Agent } from '../core/agents/agents.ts';
import {
  AuthenticationError,
  ForbiddenError,
  MalformedRequestError,
  OriginRejectedError,
  PayloadTooLargeError,
  PlanLimitError,
  RouteNotFoundError,
  TenantSuspendedError,
  UnknownHostError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../core/errors.ts';
import { HOST_HEADER, ORIGIN_HEADER, VIEWER_IP_HEADER } from '../core/headers.ts';
import type { Caller } from '../core/identity/caller.ts';
import { parseJson } from '../core/json.ts';
import type { SecurityEventKind, SecurityEvents } from '../core/security/events.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';
import type { HostDirectory } from '../core/tenancy/hosts.ts';
import { withTenantScope } from '../core/tenancy/tenant-scope.ts';
// The functional parse, for a route's classic or mini schema alike, with zod's English messages set.
import * as z from '../core/zod-mini.ts';
import { isApiSurface, withOpenApi } from './openapi.ts';
import { type HttpResponse, jsonRpcError, problemFromError } from './problem.ts';
import { type ApiRequest, type Route, type RouteEntry, Router, servedIn } from './router.ts';
import {
  assertSameOriginWrite,
  type Credential,
  credentialOf,
  parseCookies,
  viewerIsSecure,
} from './session.ts';

/** Default body limit for JSON routes; routes that take scripts raise it explicitly. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/**
 * Deepest nesting of arrays and objects a JSON body may have. DynamoDB stores at most 32 levels,
 * and recursive code (JSON.stringify, schema compilers, hashing) would overflow the stack long
 * before a 64 KiB body runs out of brackets.
 */
export const MAX_BODY_DEPTH = 32;

/** Finds the user behind a credential: a bearer token (CLI, agents) or the session cookie (browsers). */
export type Authenticator = (domain: DomainContext, credential: Credential) => Promise<Caller>;

/** Finds the AI client behind an MCP request (its own bearer token; nothing else is accepted there). */
export type McpAuthenticator = (domain: DomainContext, request: ApiRequest<unknown>) => Promise<Caller>;
/** The local agent a request on the agent channel comes from, by its own token. */
export type AgentAuthenticator = (domain: DomainContext, request: ApiRequest<unknown>) => Promise<Agent>;

export interface ApiHandlerOptions {
  /** Surfaces (edge path prefixes) this API serves. */
  readonly surfaces: readonly string[];
  /** Whether a resolved domain belongs to this API; others get 404 as if unbound. */
  readonly accepts: (domain: DomainContext, surface: string) => boolean;
  /** The API's routes; its groups load on the first request to one of their paths (router.ts). */
  readonly routes: readonly RouteEntry[];
  readonly hosts: HostDirectory;
  readonly authenticate: Authenticator;
  /** Callers of `mcp-client` routes. @default none: such routes answer 404 */
  readonly authenticateMcpClient?: McpAuthenticator;
  /** Callers of `agent` routes (the agent channel). @default none: such routes are refused when their table loads */
  readonly authenticateAgent?: AgentAuthenticator;
  /** The CSRF token a cookie-authenticated write of this caller must carry. */
  readonly csrfToken: (caller: Caller) => string;
  /** The origin proof the edge adds; requests without it are refused. */
  readonly originSecret: string;
  readonly logger: Logger;
  readonly defaultMaxBodyBytes?: number;
  /** Where refused tokens and privileged requests are recorded. @default not recorded */
  readonly securityEvents?: Pick<SecurityEvents, 'record'>;
  /** Runs everything after host resolution in the request tenant's scope (core/tenancy/tenant-scope.ts). @default false */
  readonly tenantScoped?: boolean;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The edge prefixes the viewer's path with the host's surface (`/tenant/api/me`): split it off. */
function splitPath(rawPath: string | undefined): { surface: string; path: string } {
  const raw = rawPath ?? '/';
  const slash = raw.indexOf('/', 1);
  return slash > 0 ? { surface: raw.slice(1, slash), path: raw.slice(slash) } : { surface: '', path: raw };
}

function secretEquals(given: string | undefined, expected: string): boolean {
  if (given === undefined || expected === '') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function lowerHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

/** The names each route's query schema declares, read once per route. */
const QUERY_NAMES = new WeakMap<Route, ReadonlySet<string>>();

function queryNames(route: Route): ReadonlySet<string> {
  let names = QUERY_NAMES.get(route);
  if (names === undefined) {
    names = new Set(route.query === undefined ? [] : Object.keys(route.query._zod.def.shape));
    QUERY_NAMES.set(route, names);
  }
  return names;
}

/**
 * The query string as the route declares it (its `query` schema, the API reference's parameters):
 * a name the route does not read, or one given twice, is refused rather than ignored, so that a
 * misspelt filter (`?skil=`) never answers the whole unfiltered list as if it had been applied.
 * An anonymous route (health, discovery documents) ignores what it does not read: an uptime monitor
 * or a crawler adds a cache-buster (`?_=1733…`), and no caller's filter is at stake there.
 * Kept on an object without a prototype: the names are the client's.
 */
function parseQuery(route: Route, raw: string): Record<string, string> {
  const names = queryNames(route);
  const strict = route.auth !== 'anonymous';
  const query: Record<string, string> = Object.create(null);
  const issues: { path: string; message: string }[] = [];
  for (const [name, value] of new URLSearchParams(raw)) {
    if (!strict && (!names.has(name) || Object.hasOwn(query, name))) continue;
    if (!names.has(name)) {
      issues.push({
        path: name,
        message:
          names.size === 0
            ? 'this route takes no query parameters'
            : `not a parameter of this route; it takes ${[...names].join(', ')}`,
      });
    } else if (Object.hasOwn(query, name)) {
      issues.push({ path: name, message: 'given more than once' });
    } else {
      query[name] = value;
    }
  }
  if (issues.length > 0) throw new ValidationError('The query string is invalid', issues.slice(0, 20));
  return query;
}

/**
 * A body's problems as field errors. A field the body leaves out reads `required`, whatever its
 * schema would have said of a wrong value (zod's "expected string, received undefined", a custom
 * "must be a JSON Schema", an enum's options): a JSON body cannot hold `undefined`, so an issue whose
 * input is `undefined` below the body is a missing field. Needs the issues' inputs (`reportInput`).
 */
function zodIssues(error: z.core.$ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => String(part)).join('.'),
    message:
      issue.path.length > 0 && 'input' in issue && issue.input === undefined ? 'required' : issue.message,
  }));
}

function rawBody(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function checkBodySize(route: Route, bytes: Buffer, limit: number): void {
  const maxBytes = route.maxBodyBytes ?? limit;
  if (bytes.length > maxBytes) throw new PayloadTooLargeError('Request body', maxBytes);
}

function parseBody(route: Route, bytes: Buffer, headers: Record<string, string>) {
  if (route.body === undefined) return undefined;
  const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (bytes.length === 0 && mediaType === '') {
    return validateBody(route.body, {});
  }
  if (mediaType !== 'application/json') {
    throw new UnsupportedMediaTypeError('Request bodies must be application/json');
  }
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new MalformedRequestError('Request body is not valid UTF-8 JSON', { cause });
  }
  if (nestedDeeperThan(parsed, MAX_BODY_DEPTH)) {
    throw new ValidationError('Request body is nested too deeply', [
      { path: '', message: `at most ${MAX_BODY_DEPTH} levels of arrays and objects` },
    ]);
  }
  // Read again, losslessly, now that its depth is known to be small (a reviver recurses): a big
  // integer, 1e-300 or -0 reaches the core as sent (functions/core/json.ts).
  return validateBody(route.body, parseJson(text));
}

/** Whether arrays and objects in `value` nest deeper than `limit` (walked without recursion). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

function validateBody(schema: z.core.$ZodType, value: unknown): unknown {
  const result = z.safeParse(schema, value, { reportInput: true });
  if (!result.success) throw new ValidationError('Request body is invalid', zodIssues(result.error));
  return result.data;
}

function toResult(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.statusCode, headers: { ...response.headers }, body: response.body };
}

const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const;

export function createApiHandler(options: ApiHandlerOptions) {
  // Every API describes itself at GET /api/openapi.json, from the very table it serves.
  const described = options.surfaces.find(isApiSurface);
  if (described === undefined) throw new Error(`No API serves the surfaces ${options.surfaces.join(', ')}`);
  // An MCP route with no one to check its clients' tokens would only ever answer 404: refuse the
  // table (a group's routes, when the group loads).
  const router = new Router(withOpenApi(described, options.routes), (route) => {
    if (route.auth === 'mcp-client' && options.authenticateMcpClient === undefined) {
      throw new Error(`${route.method} ${route.path} takes MCP clients, and this API authenticates none`);
    }
    if (route.auth === 'agent' && options.authenticateAgent === undefined) {
      throw new Error(`${route.method} ${route.path} takes local agents, and this API authenticates none`);
    }
    // Only a caller holds a permission, and an anonymous route has none: it could only answer 403.
    if (route.auth === 'anonymous' && route.permission !== undefined) {
      throw new Error(`${route.method} ${route.path} is anonymous and needs ${route.permission}`);
    }
  });
  const limit = options.defaultMaxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function handle(
    event: APIGatewayProxyEventV2,
    context?: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> {
    const headers = lowerHeaders(event.headers);
    if (!secretEquals(headers[ORIGIN_HEADER], options.originSecret)) throw new OriginRejectedError();

    // The edge prefixed the viewer path with the host's surface; another surface is not ours.
    const { surface, path } = splitPath(event.rawPath);
    if (!options.surfaces.includes(surface)) throw new RouteNotFoundError(`No route for ${path}`);

    const host = headers[HOST_HEADER];
    if (host === undefined || host === '') throw new UnknownHostError();
    const domain = await options.hosts.resolve(host);
    if (!options.accepts(domain, surface)) throw new UnknownHostError();
    // From here on a tenant function touches its tenant's partitions only (and, in AWS, with its credentials).
    if (options.tenantScoped === true && domain.kind === 'tenant') {
      return withTenantScope(domain.tenant.id, () => serve(event, context, headers, path, domain));
    }
    return serve(event, context, headers, path, domain);
  }

  async function serve(
    event: APIGatewayProxyEventV2,
    context: Context | undefined,
    headers: Record<string, string>,
    path: string,
    domain: DomainContext,
  ): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method.toUpperCase();
    if (!METHODS.has(method)) throw new RouteNotFoundError(`No route for ${method} ${path}`);
    // HEAD finds a GET route (router.ts): authorised and answered as GET, and its answer's body
    // dropped on the way out (`withoutBodyForHead`).
    const { route, params } = await router.match(method, path);
    // The route's guard: a route not served in this domain does not exist here, whoever asks.
    if (!servedIn(route.serves, domain)) throw new RouteNotFoundError(`No route for ${path}`);

    const bytes = rawBody(event);
    checkBodySize(route, bytes, limit);
    const unread: ApiRequest<unknown> = {
      method: route.method,
      path,
      params,
      query: {},
      headers,
      body: undefined,
      requestId: event.requestContext.requestId,
      // The viewer's address as the edge saw it (API Gateway's own is an edge server's behind CloudFront).
      sourceIp: headers[VIEWER_IP_HEADER] ?? event.requestContext.http.sourceIp,
      secure: viewerIsSecure(headers),
      cookies: parseCookies(event.cookies, headers.cookie),
      ...(typeof context?.getRemainingTimeInMillis === 'function'
        ? { remainingMs: () => context.getRemainingTimeInMillis() }
        : {}),
    };

    const report = async (kind: SecurityEventKind, detail: Record<string, unknown>) => {
      if (options.securityEvents === undefined) return;
      try {
        await options.securityEvents.record(domain, {
          kind,
          source: unread.sourceIp ?? 'unknown',
          detail: { method, path, route: route.path, ...detail },
        });
      } catch (error) {
        // The refusal is answered either way; a lost event is logged, never silent.
        options.logger.warn('Security event not recorded', { kind, error: error as Error });
      }
    };
    const refusedToken = async (error: unknown) => {
      if (error instanceof AuthenticationError && headers.authorization !== undefined) {
        await report('token-refused', { reason: error.message });
      }
    };
    // A credential refused where it is checked is recorded, then answered as refused.
    const authenticated = <T>(attempt: Promise<T>): Promise<T> =>
      attempt.catch(async (error: unknown) => {
        await refusedToken(error);
        throw error;
      });

    // Whose credential is read where: a user's (a bearer header, else the session cookie) on a
    // caller's route; an AI client's on the MCP route; an agent's on the agent channel; none on an
    // anonymous route, which knows no caller — a token sent there (an MCP client sends its own to the
    // protected-resource metadata) is neither tried nor recorded as refused.
    let caller: Caller | undefined;
    let agent: Agent | undefined;
    if (route.auth === 'agent') {
      if (options.authenticateAgent === undefined) throw new RouteNotFoundError(`No route for ${path}`);
      agent = await authenticated(options.authenticateAgent(domain, unread));
    } else if (route.auth === 'mcp-client') {
      if (options.authenticateMcpClient === undefined) throw new RouteNotFoundError(`No route for ${path}`);
      caller = await authenticated(options.authenticateMcpClient(domain, unread));
    } else if (route.auth === 'caller') {
      const credential = credentialOf(headers, unread.cookies);
      if (credential === undefined) {
        throw new AuthenticationError('Sign in first: a bearer token or a session cookie is required');
      }
      caller = await authenticated(options.authenticate(domain, credential));
      if (credential.kind === 'cookie')
        assertSameOriginWrite(method, headers, domain, options.csrfToken(caller));
    }
    if (
      route.permission !== undefined &&
      (caller === undefined || !caller.permissions.has(route.permission))
    ) {
      if (caller !== undefined) {
        await report('privileged-request-refused', {
          username: caller.username,
          permission: route.permission,
        });
      }
      throw new ForbiddenError(`This action needs the permission ${route.permission}`, {
        extra: { permission: route.permission },
      });
    }

    const request: ApiRequest<unknown> = {
      ...unread,
      query: parseQuery(route, event.rawQueryString ?? ''),
      body: parseBody(route, bytes, headers),
    };
    let result: Awaited<ReturnType<Route['handle']>>;
    try {
      result = await route.handle({ request, domain, caller, agent });
    } catch (error) {
      // An agent's token rotated or revoked since it was checked, refused by the core: recorded alike.
      if (route.auth === 'agent') await refusedToken(error);
      // Refused by the core's own rules (a super-admin-only change, deciding on one's own run…);
      // a suspended tenant's refusal, or a plan's limit, is not an attack.
      if (
        error instanceof ForbiddenError &&
        !(error instanceof TenantSuspendedError) &&
        !(error instanceof PlanLimitError)
      ) {
        await report('privileged-request-refused', {
          ...(caller === undefined ? {} : { username: caller.username }),
          reason: error.message,
        });
      }
      throw error;
    }
    const responseHeaders: Record<string, string> = { ...SECURITY_HEADERS, ...result.headers };
    const cookies = result.cookies === undefined ? {} : { cookies: [...result.cookies] };
    if (result.raw !== undefined) {
      responseHeaders['content-type'] = result.raw.contentType;
      return { statusCode: result.status, headers: responseHeaders, body: result.raw.text, ...cookies };
    }
    if (result.body === undefined) {
      return { statusCode: result.status, headers: responseHeaders, body: '', ...cookies };
    }
    responseHeaders['content-type'] = 'application/json';
    return {
      statusCode: result.status,
      headers: responseHeaders,
      body: JSON.stringify(result.body),
      ...cookies,
    };
  }

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .onError((request) => {
      // A refusal on the MCP endpoint is a JSON-RPC error response too (docs/guide/mcp.md).
      const mcp = splitPath(request.event.rawPath).path === MCP_PATH;
      const { response, unexpected } = problemFromError(
        request.error,
        request.event.requestContext?.requestId,
        mcp ? jsonRpcError : undefined,
      );
      if (unexpected) options.logger.error('Unhandled error', { error: request.error as Error });
      request.response = withoutBodyForHead(request.event, toResult(response));
    })
    .handler(async (event, context) => withoutBodyForHead(event, await handle(event, context)));
}

/** The answer to a HEAD request: the GET's status and headers, no body (problems alike). */
function withoutBodyForHead(
  event: APIGatewayProxyEventV2,
  result: APIGatewayProxyStructuredResultV2,
): APIGatewayProxyStructuredResultV2 {
  return event.requestContext?.http?.method?.toUpperCase() === 'HEAD' ? { ...result, body: '' } : result;
}
