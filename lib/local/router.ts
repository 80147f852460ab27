/**
 * The local edge: one HTTP server standing in for CloudFront + API Gateway + S3. Each request runs
 * through the same viewer-request function CloudFront runs (client `x-execfabric-*` headers deleted,
 * `x-execfabric-host` set, surface prefix added), then either becomes an API Gateway HTTP API v2
 * event for the route's function (with the origin headers CloudFront adds: the origin proof and the
 * viewer scheme, here `http`) or is served from the surface's static site.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PROBLEM_TYPE_PREFIX } from '../../functions/contract/headers.ts';
import type { PlatformHostLink } from '../../functions/contract/responses.ts';
import { HOST_HEADER, ORIGIN_HEADER, PORT_HEADER, SCHEME_HEADER } from '../../functions/core/headers.ts';
import { edgeProblem } from '../edge/problem.ts';
import { HOST_API_RATE, type HostRateRule, rateLimitedProblem } from '../edge/rate-limit.ts';
import type { EdgeRequest, ViewerRequestFunction } from '../edge/viewer-request.ts';
import { DOCS_NOT_FOUND_PAGE } from '../edge/viewer-request.ts';
import { type FunctionName, type RouteSpec, routeFor, type SiteName, sites } from '../topology.ts';
import { HostRateLimiter, MAX_COUNTED_HOSTS } from './host-rate-limit.ts';
import type { LocalInvoke } from './lambda.ts';

/** API Gateway HTTP APIs refuse payloads over 10 MB; the local edge does the same without buffering them. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/**
 * Request bodies the edge holds at once, all requests together: in AWS, API Gateway buffers them on
 * its own machines; here they are the platform process's memory, and any page a browser opens can
 * POST to a `*.localhost` name (each its own connection pool). Past it, a request is answered 503
 * with Retry-After before its body is read on; the bodies already held are not touched.
 */
export const MAX_BUFFERED_BYTES = 4 * MAX_REQUEST_BYTES;

export interface LocalRouterOptions {
  readonly root: string;
  readonly viewerRequest: ViewerRequestFunction;
  readonly originSecret: string;
  readonly invoke: (name: FunctionName) => LocalInvoke;
  /**
   * The scheme viewers use: `https` when the platform is reached through a TLS-terminating proxy
   * (sessions then use the `__Host-` Secure cookie, as behind CloudFront). @default 'http'
   */
  readonly viewerScheme?: 'http' | 'https';
  /** Where the edge's own diagnostics go. @default stderr */
  readonly log?: (line: string) => void;
  /** Request bodies held at once, all requests together. @default MAX_BUFFERED_BYTES */
  readonly maxBufferedBytes?: number;
  /** API requests per host (false: not counted, for benches). @default HOST_API_RATE */
  readonly hostRateLimit?: HostRateRule | false;
  /** The clock of the rate limit's windows, in ms. @default Date.now */
  readonly now?: () => number;
  /**
   * The platform's own hosts (console, tenants', free, docs), listed in the unknown-host problem
   * answered to a loopback name (`localhost`, `127.0.0.1`), which no tenant has: someone who opened
   * the bare port finds the addresses they meant. Any other unknown host learns nothing of them.
   * @default - none listed
   */
  readonly loopbackDirectory?: () => Promise<readonly LoopbackHost[]>;
}

/** One host the loopback directory lists; the router adds the viewer's scheme and port. */
export interface LoopbackHost {
  readonly role: PlatformHostLink['role'];
  readonly host: string;
  readonly name?: string;
}

/** The names a browser on this machine reaches the platform by that are no one's host. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The API's unknown-host problem with the platform's hosts added (see `loopbackDirectory`); any
 * other answer is returned as it is.
 */
async function withPlatformHosts(
  result: APIGatewayProxyStructuredResultV2,
  directory: () => Promise<readonly LoopbackHost[]>,
  origin: { scheme: string; port: string | undefined },
): Promise<APIGatewayProxyStructuredResultV2> {
  if (result.statusCode !== 404 || result.body === undefined || result.isBase64Encoded === true)
    return result;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(result.body) as Record<string, unknown>;
  } catch {
    return result;
  }
  if (problem.type !== `${PROBLEM_TYPE_PREFIX}unknown-host`) return result;
  const port = origin.port === undefined ? '' : `:${origin.port}`;
  const platformHosts: PlatformHostLink[] = (await directory()).map((entry) => ({
    ...entry,
    url: `${origin.scheme}://${entry.host}${port}/`,
  }));
  return { ...result, body: JSON.stringify({ ...problem, platformHosts }) };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** A site's page for a missing path, at its root (VitePress's name, which the docs site has). */
const SITE_NOT_FOUND_PAGE = DOCS_NOT_FOUND_PAGE.slice(1);

class RequestTooLargeError extends Error {}
class EdgeBusyError extends Error {}

/** The bytes of request bodies held now, against MAX_BUFFERED_BYTES (or the limit given). */
class BodyBudget {
  readonly #limit: number;
  #held = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes `bytes`; false (nothing taken) when they would pass the limit. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.#limit) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}

/**
 * The client went away before its body was read (a closed tab, an aborted fetch, a reset): a normal
 * event at an edge, not a failure of it.
 */
function abandoned(request: IncomingMessage, error: unknown): boolean {
  return request.readableAborted || (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET';
}

/** The connection was cut because the request took longer than the edge's request limit. */
function requestTimedOut(request: IncomingMessage): boolean {
  return (request.socket.errored as NodeJS.ErrnoException | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT';
}

/**
 * The request's body, its bytes taken from `budget` as they arrive (`held.bytes` says how many, for
 * the caller to give back once the request is answered, whether this returns or throws).
 */
async function readBody(
  request: IncomingMessage,
  budget: BodyBudget,
  held: { bytes: number },
): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > MAX_REQUEST_BYTES) throw new RequestTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const bytes = (chunk as Buffer).length;
    size += bytes;
    if (size > MAX_REQUEST_BYTES) throw new RequestTooLargeError();
    if (!budget.take(bytes)) throw new EdgeBusyError();
    held.bytes += bytes;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function edgeRequest(request: IncomingMessage, url: URL): EdgeRequest {
  const headers: Record<string, { value: string }> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = { value: Array.isArray(value) ? value.join(',') : value };
  }
  const querystring: Record<string, { value: string }> = {};
  for (const [name, value] of url.searchParams) querystring[name] = { value };
  return { uri: url.pathname, method: request.method ?? 'GET', headers, querystring };
}

function isTextual(contentType: string): boolean {
  return /^(application\/(json|problem\+json|x-www-form-urlencoded)|text\/)/i.test(contentType);
}

function apiEvent(
  edge: EdgeRequest,
  url: URL,
  body: Buffer,
  route: RouteSpec,
  originSecret: string,
  sourceIp: string,
  scheme: 'http' | 'https',
): APIGatewayProxyEventV2 {
  // CloudFront's origin request policy forwards every viewer header except Host, then adds its own;
  // API Gateway (payload 2.0) moves the cookies out of the headers into `cookies`.
  const headers: Record<string, string> = {};
  for (const [name, { value }] of Object.entries(edge.headers)) {
    if (name !== 'host' && name !== 'cookie') headers[name] = value;
  }
  const cookies = (edge.headers.cookie?.value ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  headers[ORIGIN_HEADER] = originSecret;
  headers[SCHEME_HEADER] = scheme;
  headers['x-forwarded-for'] = sourceIp;
  const contentType = headers['content-type'] ?? '';
  // A textual body that is not valid UTF-8 travels as base64, byte for byte: decoding it here
  // would swap bad bytes for U+FFFD and hide them from the API's strict decoder.
  const binary = body.length > 0 && (!isTextual(contentType) || !isUtf8(body));
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `ANY ${route.path}`,
    rawPath: edge.uri,
    rawQueryString: url.search.startsWith('?') ? url.search.slice(1) : url.search,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'local',
      domainPrefix: 'local',
      http: {
        method: edge.method,
        path: edge.uri,
        protocol: 'HTTP/1.1',
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `ANY ${route.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: binary,
  } as APIGatewayProxyEventV2;
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
) {
  // The edge itself answered already (504: the function took longer than the idle limit).
  if (response.headersSent) return;
  response.writeHead(status, headers);
  response.end(body);
}

function sendProblem(response: ServerResponse, status: number, code: string, detail: string) {
  // `instance` names the occurrence, as on the API's problems (their request id).
  send(
    response,
    status,
    { 'content-type': 'application/problem+json' },
    JSON.stringify(edgeProblem(status, code, detail, detail, { instance: randomUUID() })),
  );
}

/** A browser asks for HTML first; a script or an API client (any type, or JSON) gets problem+json. */
function wantsHtml(accept: string | undefined): boolean {
  return (accept ?? '').toLowerCase().includes('text/html');
}

function placeholderPage(site: SiteName): string {
  const { title } = sites[site];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body><main><h1>${title}</h1><p>This site has not been built yet. Run <code>npm run build:sites</code>; the API is already served under <code>/api</code>.</p></main></body></html>`;
}

export function createLocalRouter(options: LocalRouterOptions) {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const siteRoots = new Map<string, string>(
    Object.values(sites).map((site) => [site.name, resolve(options.root, site.dir)]),
  );

  /**
   * No such file: a browser gets the site's own `404.html` (the docs site has one) with the status
   * 404, as CloudFront answers it (lib/aws/edge.ts); anyone else, or a site without one, a problem.
   */
  async function notFound(response: ServerResponse, siteRoot: string, accept: string | undefined) {
    if (wantsHtml(accept)) {
      const page = resolve(siteRoot, SITE_NOT_FOUND_PAGE);
      const found = await stat(page).catch(() => null);
      if (found?.isFile()) {
        return send(
          response,
          404,
          { 'content-type': CONTENT_TYPES['.html'] ?? 'text/html', 'cache-control': 'no-cache' },
          await readFile(page),
        );
      }
    }
    return sendProblem(response, 404, 'not-found', 'Not found');
  }

  async function serveSite(response: ServerResponse, uri: string, accept: string | undefined) {
    const slash = uri.indexOf('/', 1);
    const site = uri.slice(1, slash) as SiteName;
    const siteRoot = siteRoots.get(site);
    if (siteRoot === undefined || slash < 0) return sendProblem(response, 404, 'not-found', 'Not found');
    let relative: string;
    try {
      relative = decodeURIComponent(uri.slice(slash + 1));
    } catch {
      return sendProblem(response, 400, 'malformed-request', 'Malformed path');
    }
    const file = resolve(siteRoot, relative);
    if (file !== siteRoot && !file.startsWith(siteRoot + sep)) return notFound(response, siteRoot, accept);
    const found = await stat(file).catch(() => null);
    if (found?.isFile()) {
      const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
      const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(response, 200, { 'content-type': type, 'cache-control': cache }, await readFile(file));
    }
    if (relative === 'index.html') {
      const built = await stat(siteRoot).catch(() => null);
      if (built === null) {
        return send(response, 200, { 'content-type': 'text/html; charset=utf-8' }, placeholderPage(site));
      }
    }
    return notFound(response, siteRoot, accept);
  }

  const budget = new BodyBudget(options.maxBufferedBytes ?? MAX_BUFFERED_BYTES);
  const rateLimit =
    options.hostRateLimit === false
      ? null
      : new HostRateLimiter(options.hostRateLimit ?? HOST_API_RATE, options.now, () =>
          log(
            `local router: ${MAX_COUNTED_HOSTS} hosts sent API requests in this window; hosts first seen after them are not counted until it ends`,
          ),
        );

  return async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const held = { bytes: 0 };
    try {
      const url = new URL(request.url ?? '/', 'http://local');
      // The client's address, as CloudFront gives it to the functions and WAF counts it.
      const viewerIp = request.socket.remoteAddress ?? '127.0.0.1';
      // The route first: only a request for an API function has its body read.
      const edge = options.viewerRequest({ request: edgeRequest(request, url), viewer: { ip: viewerIp } });
      const route = routeFor(edge.uri);
      if (route === undefined) {
        if (edge.method !== 'GET' && edge.method !== 'HEAD') {
          response.setHeader('connection', 'close');
          return sendProblem(response, 405, 'method-not-allowed', 'Method not allowed');
        }
        request.resume(); // a body sent with a page's GET is dropped unread
        return await serveSite(response, edge.uri, edge.headers.accept?.value);
      }
      // Counted before anything is read or invoked: a refused request costs the edge a map lookup.
      const host = edge.headers[HOST_HEADER]?.value ?? '';
      const refused = rateLimit?.take(host, viewerIp) ?? null;
      if (refused !== null && rateLimit !== null) {
        if (refused.firstRefusal) {
          log(
            `local router: ${host.length > 253 ? `${host.slice(0, 253)}…` : host} from ${viewerIp} passed ${rateLimit.rule.requests} API requests in ${rateLimit.rule.windowSeconds} s; refusing until its window ends`,
          );
        }
        response.setHeader('connection', 'close'); // its body, if any, is not read
        return send(
          response,
          429,
          { 'content-type': 'application/problem+json', 'retry-after': String(refused.retryAfterSeconds) },
          JSON.stringify(rateLimitedProblem(rateLimit.rule, refused.retryAfterSeconds)),
        );
      }
      let body: Buffer;
      try {
        body = await readBody(request, budget, held);
      } catch (error) {
        if (error instanceof RequestTooLargeError) {
          response.setHeader('connection', 'close');
          return sendProblem(response, 413, 'payload-too-large', 'Request body too large');
        }
        if (error instanceof EdgeBusyError) {
          response.setHeader('connection', 'close');
          response.setHeader('retry-after', '1');
          return sendProblem(
            response,
            503,
            'service-unavailable',
            'The edge holds as many request bodies as it may; try again shortly',
          );
        }
        if (abandoned(request, error)) {
          // Cut at the request limit: answered 408 and logged by the edge (connection-limits.ts).
          if (requestTimedOut(request)) return;
          // One line, no stack; no one is left to answer.
          log(`local router: ${request.method} ${url.pathname}: the client abandoned its request body`);
          response.destroy();
          return;
        }
        throw error;
      }
      const event = apiEvent(
        edge,
        url,
        body,
        route,
        options.originSecret,
        viewerIp,
        options.viewerScheme ?? 'http',
      );
      let result = (await options.invoke(route.function)(event)) as APIGatewayProxyStructuredResultV2;
      if (options.loopbackDirectory !== undefined && LOOPBACK_NAMES.has(host)) {
        result = await withPlatformHosts(result, options.loopbackDirectory, {
          scheme: options.viewerScheme ?? 'http',
          port: edge.headers[PORT_HEADER]?.value,
        });
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      // API Gateway turns each entry of `cookies` into its own Set-Cookie header.
      if (result.cookies !== undefined && result.cookies.length > 0)
        headers['set-cookie'] = [...result.cookies];
      const payload = result.body ?? '';
      send(
        response,
        result.statusCode ?? 200,
        headers,
        result.isBase64Encoded === true ? Buffer.from(payload, 'base64') : payload,
      );
    } catch (error) {
      // Only a failure of the local machinery itself lands here (a handler maps its own errors).
      log(`local router: ${(error as Error).stack ?? String(error)}`);
      if (!response.headersSent) sendProblem(response, 502, 'bad-gateway', 'The function failed');
      else response.destroy();
    } finally {
      budget.give(held.bytes);
    }
  };
}
