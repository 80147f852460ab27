/**
 * Route tables for the API handlers. A route names its method, path template, where it is served
 * (its guard), whether it needs a caller, the permission it needs, the zod schema of its body and its
 * body limit; the pipeline enforces all of it, once, so a route's `handle` only calls into the core.
 */
// zod's core types: a route's schemas may be classic zod (the tenant and governance APIs' routes) or
// zod/mini (the free entry's and the routes every API serves), as each function's size allows.
import type * as z from 'zod/v4/core';
import type { Permission } from '../contract/permissions.ts';
import type { Agent } from '../core/agents/agents.ts';
import { MethodNotAllowedError, RouteNotFoundError } from '../core/errors.ts';
import type { Caller } from '../core/identity/caller.ts';
import type { DomainContext, PublicContext, TenantContext } from '../core/tenancy/domain.ts';
import { outsideTenantScope } from '../core/tenancy/tenant-scope.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest<TBody> {
  readonly method: HttpMethod;
  /** The path as the client sent it, e.g. `/api/skills/abc`. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: TBody;
  readonly requestId: string;
  readonly sourceIp: string;
  /** Whether the viewer reached the edge over https (decides the session cookie's attributes). */
  readonly secure: boolean;
  /** The request's cookies (API Gateway's `cookies`, or a `cookie` header). */
  readonly cookies: ReadonlyMap<string, string>;
  /**
   * Milliseconds left before the function's timeout cuts this request off (the Lambda context's);
   * absent where no invocation bounds it. A route that waits stops waiting in time to answer.
   */
  readonly remainingMs?: () => number;
}

export interface RouteContext<
  TBody,
  TCaller extends Caller | undefined,
  TDomain extends DomainContext = DomainContext,
  TAgent extends Agent | undefined = undefined,
> {
  readonly request: ApiRequest<TBody>;
  /** The request's domain, narrowed to what the route serves. */
  readonly domain: TDomain;
  readonly caller: TCaller;
  /** The local agent calling, on the agent channel (its token checked before the body is read). */
  readonly agent: TAgent;
}

/**
 * Where a route exists — its guard, declared in the table and enforced once by the pipeline before
 * anything else of the request is read: on tenants' hosts (standard tenants and personal spaces
 * alike), on the governance console's hosts, on the free entry's, on either console's (`consoles`:
 * a tenant's or the governance console's, never the free entry's, where nobody signs in), or on
 * every host (`anywhere`). Anywhere else the route does not exist: 404, as for an unknown path.
 */
export type RouteServes = 'tenant' | 'governance' | 'free' | 'consoles' | 'anywhere';
export const ROUTE_SERVES: readonly RouteServes[] = ['tenant', 'governance', 'free', 'consoles', 'anywhere'];

export type GovernanceContext = PublicContext & { readonly surface: 'governance' };
export type FreeEntryContext = PublicContext & { readonly surface: 'free' };

/** The domain a route's `handle` sees, by what it serves. */
export type DomainOf<V extends RouteServes> = V extends 'tenant'
  ? TenantContext
  : V extends 'governance'
    ? GovernanceContext
    : V extends 'free'
      ? FreeEntryContext
      : DomainContext;

/** Whether a route that serves `where` exists in `domain`. */
export function servedIn(where: RouteServes, domain: DomainContext): boolean {
  switch (where) {
    case 'tenant':
      return domain.kind === 'tenant';
    case 'governance':
      return domain.kind === 'public' && domain.surface === 'governance';
    case 'free':
      return domain.kind === 'public' && domain.surface === 'free';
    case 'consoles':
      return domain.kind === 'tenant' || domain.surface === 'governance';
    case 'anywhere':
      return true;
  }
}

export interface RouteResult {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** A body already written in another media type (a protocol's framing, an export); replaces `body`. */
  readonly raw?: { readonly contentType: string; readonly text: string };
  readonly headers?: Readonly<Record<string, string>>;
  /** `Set-Cookie` values (API Gateway payload 2.0 `cookies`). */
  readonly cookies?: readonly string[];
}

/** A response whose body is not JSON of a zod schema: an export, a protocol's own framing. */
export interface MediaResponse {
  readonly contentType: string;
  /** What the body holds, when it is JSON (a JSON-RPC message) or lines of JSON. @default undescribed */
  readonly schema?: z.$ZodType;
  readonly description?: string;
}

/**
 * What a route answers on success, by status: the zod schema of its JSON body, `null` for no body,
 * or a `MediaResponse`. Errors are problem+json everywhere and are not listed here. The OpenAPI
 * document (openapi.ts) is generated from this, and the route's `handle` is typed by it.
 */
export type ResponseSpec = z.$ZodType | MediaResponse | null;
export type Responses = { readonly [status: number]: ResponseSpec };

/** A media response of a route (`responses: { 200: media('application/jsonl; charset=utf-8') }`). */
export function media(contentType: string, options: Omit<MediaResponse, 'contentType'> = {}): MediaResponse {
  return { contentType, ...options };
}

/**
 * The fields a schema declares, without the index signature of an open (`z.looseObject`) object: a
 * handler may return more than the document lists, never less nor of another type.
 */
export type Known<T> = T extends readonly (infer E)[]
  ? readonly Known<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Known<T[K]> }
    : T;

interface ResultExtras {
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: readonly string[];
}

type ResultFor<K, S> = S extends null
  ? ResultExtras & { readonly status: K; readonly body?: undefined; readonly raw?: undefined }
  : S extends z.$ZodType
    ? ResultExtras & { readonly status: K; readonly body: Known<z.input<S>>; readonly raw?: undefined }
    : S extends MediaResponse
      ? ResultExtras & {
          readonly status: K;
          readonly raw: { readonly contentType: string; readonly text: string };
          readonly body?: undefined;
        }
      : never;

/** What a route's `handle` may return: one of its declared responses. */
export type ResultOf<R extends Responses> = { [K in keyof R]: ResultFor<K, R[K]> }[keyof R];

type BodyOf<S> = S extends z.$ZodType ? z.output<S> : undefined;

/**
 * Who may call a route: anybody (no credential is read), a user (session or personal access token),
 * an AI client (its own token, on the MCP endpoint only), or a local agent (its own token, on the
 * agent channel only). The pipeline authenticates each, before it reads the body, with the API's
 * authenticator for that kind; each kind of credential is refused where another is asked.
 */
export type RouteAuth = 'anonymous' | 'caller' | 'mcp-client' | 'agent';

/** The paths an API serves (under the surface prefix the edge adds). */
export type RoutePath = `/api${string}` | '/mcp' | `/.well-known/${string}`;

/** Query parameters a route reads: each optional, as the client sends it (a string). */
export type QuerySchema = z.$ZodObject<Record<string, z.$ZodType<string | undefined>>>;

interface RouteShape<
  S extends z.$ZodType | undefined,
  A extends RouteAuth,
  R extends Responses,
  V extends RouteServes,
> {
  readonly method: HttpMethod;
  readonly path: RoutePath;
  /** Where the route exists (its guard); everywhere else it answers 404. */
  readonly serves: V;
  readonly auth: A;
  /** One line saying what the route does (the API reference's title for it). @default method and path */
  readonly summary?: string;
  /** More than the summary says: what the route's answers depend on (the API reference's text). @default none */
  readonly description?: string;
  /** Permission the caller must hold in the domain (checked after authentication). */
  readonly permission?: Permission;
  readonly body?: S;
  /** The query parameters the route reads, for its description. @default none */
  readonly query?: QuerySchema;
  /** Largest accepted body in bytes. @default the handler's default */
  readonly maxBodyBytes?: number;
  /**
   * Whether a GET route also answers HEAD (as GET, without the body). `false` where the GET records
   * what it hands over or changes state — an export the audit records, a verification that seals the
   * chain: a HEAD would leave a record of something nobody received, so it answers 405. @default true
   */
  readonly head?: boolean;
  readonly responses: R;
  readonly handle: (
    context: RouteContext<
      BodyOf<S>,
      A extends 'anonymous' | 'agent' ? undefined : Caller,
      DomainOf<V>,
      A extends 'agent' ? Agent : undefined
    >,
  ) => Promise<ResultOf<R>>;
}

/** A route with its types erased, as the pipeline keeps it. */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly serves: RouteServes;
  readonly auth: RouteAuth;
  readonly summary?: string;
  readonly description?: string;
  readonly permission?: Permission;
  readonly body?: z.$ZodType;
  readonly query?: QuerySchema;
  readonly maxBodyBytes?: number;
  readonly head?: boolean;
  readonly responses: Responses;
  readonly handle: (
    context: RouteContext<unknown, Caller | undefined, DomainContext, Agent | undefined>,
  ) => Promise<RouteResult>;
}

export function route<
  S extends z.$ZodType | undefined = undefined,
  A extends RouteAuth = 'caller',
  const R extends Responses = Responses,
  V extends RouteServes = RouteServes,
>(shape: RouteShape<S, A, R, V>): Route {
  return shape as unknown as Route;
}

/**
 * Routes whose module is loaded on the first request to one of their paths, not at a cold start:
 * a Lambda that serves many route modules parses and builds only the ones its requests reach (each
 * module's zod schemas are built when it loads). `prefixes` are whole leading path segments, and
 * every route the group loads must lie under one of them (checked when it loads, so a test that
 * loads the table finds a route left outside); a path under none of them cannot reach the group.
 */
export interface RouteGroup {
  readonly prefixes: readonly RoutePath[];
  /** The group's routes, loaded once (a failed load is tried again by the next request). */
  readonly routes: () => Promise<readonly Route[]>;
}

/** What a route table holds: routes built at once, and groups loaded on first use. */
export type RouteEntry = Route | RouteGroup;

function isGroup(entry: RouteEntry): entry is RouteGroup {
  return 'prefixes' in entry;
}

/** Whether `path` (a request's, or a route's template) lies under `prefix`, by whole segments. */
function under(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/');
}

/** A group of routes loaded by `load` on the first request under one of `prefixes`. */
export function lazyRoutes(
  prefixes: readonly RoutePath[],
  load: () => Promise<readonly Route[]>,
): RouteGroup {
  for (const prefix of prefixes) {
    if (prefix.includes('{') || prefix.endsWith('/'))
      throw new Error(`${prefix} is not a literal path prefix`);
  }
  let loaded: Promise<readonly Route[]> | undefined;
  const routes = async () => {
    const all = await load();
    const outside = all.find((route) => !prefixes.some((prefix) => under(route.path, prefix)));
    if (outside !== undefined) {
      throw new Error(
        `${outside.method} ${outside.path} lies under none of its group's prefixes (${prefixes.join(', ')})`,
      );
    }
    return all;
  };
  return {
    prefixes,
    routes: () => {
      // Kept for every request after the first that loads it: built outside that request's tenant scope.
      loaded ??= outsideTenantScope(routes).catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
  };
}

/**
 * A group whose routes are built on something loaded on first use too (an API's whole core:
 * core/assembly/sign-in.ts `LazyCore`): the module and it load at once.
 */
export function lazyRoutesOn<T>(
  prefixes: readonly RoutePath[],
  on: () => Promise<T>,
  load: () => Promise<(on: T) => readonly Route[]>,
): RouteGroup {
  return lazyRoutes(prefixes, async () => {
    const [build, loaded] = await Promise.all([load(), on()]);
    return build(loaded);
  });
}

/** Every route of a table, in its order, its groups loaded (the API's description, tests). */
export async function loadRoutes(entries: readonly RouteEntry[]): Promise<Route[]> {
  const loaded = await Promise.all(entries.map((entry) => (isGroup(entry) ? entry.routes() : [entry])));
  return loaded.flat();
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

const PARAM = /\{([a-zA-Z][a-zA-Z0-9]*)\}/g;

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split(PARAM)
    .map((part, index) => {
      if (index % 2 === 1) {
        names.push(part);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/** A table's entry as the router keeps it: compiled routes, or a group compiled when it loads. */
interface CompiledGroup {
  readonly group: RouteGroup;
  compiled?: Promise<readonly CompiledRoute[]>;
}

export class Router {
  readonly #entries: readonly (CompiledRoute | CompiledGroup)[];
  readonly #check: (route: Route) => void;

  /** `check` refuses a route the API cannot serve: at once for routes, when it loads for a group's. */
  constructor(entries: readonly RouteEntry[], check: (route: Route) => void = () => {}) {
    this.#check = check;
    this.#entries = entries.map((entry) => {
      if (isGroup(entry)) return { group: entry };
      check(entry);
      return compile(entry);
    });
  }

  /**
   * The route for a method and path; 404 when no path matches, 405 when only the method is wrong.
   * HEAD finds the GET route of the path (HEAD is GET without the body, RFC 9110 9.3.2) unless that
   * route answers no HEAD (`head: false`). Loads the groups the path lies under (and no other), in
   * the table's order: the first route that matches wins, wherever it is.
   */
  async match(method: string, path: string): Promise<RouteMatch> {
    const allowed: string[] = [];
    // The path's GET route, once found: a later GET route matching the path is shadowed by it,
    // for HEAD as for GET (`/api/x/export` before `/api/x/{id}`).
    let getFound = false;
    for (const entry of this.#entries) {
      const routes = 'group' in entry ? await this.#loaded(entry, path) : [entry];
      for (const compiled of routes) {
        const found = compiled.pattern.exec(path);
        if (found === null) continue;
        const { route } = compiled;
        const get = route.method === 'GET' && !getFound;
        if (route.method === 'GET') getFound = true;
        if (route.method !== method && !(method === 'HEAD' && get && route.head !== false)) {
          allowed.push(route.method, ...(get && route.head !== false ? ['HEAD'] : []));
          continue;
        }
        const params: Record<string, string> = {};
        compiled.names.forEach((name, index) => {
          params[name] = decodeParam(found[index + 1] ?? '');
        });
        return { route: compiled.route, params };
      }
    }
    if (allowed.length > 0) throw new MethodNotAllowedError([...new Set(allowed)]);
    throw new RouteNotFoundError(`No route for ${path}`);
  }

  /** A group's compiled routes when `path` lies under it; none (and nothing loaded) otherwise. */
  async #loaded(entry: CompiledGroup, path: string): Promise<readonly CompiledRoute[]> {
    if (!entry.group.prefixes.some((prefix) => under(path, prefix))) return [];
    // A failed load or check is tried again by the next request (the check's failure included).
    entry.compiled ??= entry.group
      .routes()
      .then((routes) => {
        routes.forEach(this.#check);
        return routes.map(compile);
      })
      .catch((error: unknown) => {
        entry.compiled = undefined;
        throw error;
      });
    return entry.compiled;
  }
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RouteNotFoundError('Malformed path parameter');
  }
}
