/**
 * The edge's viewer-request function. The same source runs as the CloudFront Function
 * (cloudfront-js-2.0) in the AWS wiring and inside the local router, so the two cannot disagree on
 * what a client may send: every client `x-execfabric-*` header is deleted, `x-execfabric-host` is
 * set from the viewer's Host (and `x-execfabric-port` from its port, when it names one),
 * `x-execfabric-viewer-ip` from the viewer's address (`event.viewer.ip`), and the
 * URI is prefixed with the surface the host reaches (`/governance`, `/free` or `/tenant`), which
 * selects both the API route and the static site. Which viewer paths reach an API (`/api/…`, `/mcp`,
 * the OAuth protected-resource metadata) comes from the topology, as data embedded in the source.
 *
 * A docs host reaches the documentation site (`/docs`), a tree of static pages: `/guide/` is
 * `/guide/index.html` and `/guide/concepts` is `/guide/concepts.html`. It has no API of its own: its
 * API paths reach the governance API, which refuses a host bound to no console with a
 * problem+json 404 like any unknown host. Given the site's pages (`docsPages`, in AWS where the
 * bucket cannot say "no such page": S3 answers a missing object 403), a path that is none of them
 * gets the site's own `404.html` when the viewer asks for HTML — marked with `x-execfabric-not-found`
 * so that `viewerResponseSource()` turns the 200 into a 404 — and a problem+json 404 otherwise. The
 * local router reads the folder itself and is given no list.
 *
 * The source is plain ES5 because CloudFront Functions run a restricted JavaScript runtime.
 */

import { PROBLEM_CONTENT_TYPE } from '../../functions/contract/headers.ts';
import {
  HOST_HEADER,
  PLATFORM_HEADER_PREFIX,
  PORT_HEADER,
  VIEWER_IP_HEADER,
} from '../../functions/core/headers.ts';
import { apiPaths, type SiteName, type Surface } from '../topology.ts';
import { edgeProblem } from './problem.ts';

export interface EdgeHosts {
  /** Hosts of the public governance console. */
  readonly adminHosts: readonly string[];
  /** Hosts of the free personal-edition entry. */
  readonly freeHosts: readonly string[];
  /** Hosts of the documentation site. */
  readonly docsHosts?: readonly string[];
}

export interface EdgeRequest {
  uri: string;
  method: string;
  headers: Record<string, { value: string }>;
  querystring?: Record<string, { value: string }>;
}

/** What CloudFront tells a function about the viewer (`event.viewer`). */
export interface EdgeViewer {
  ip: string;
}

/** What CloudFront tells a function about the request (`event.context`); `requestId` names the problem's instance. */
export interface EdgeContext {
  requestId?: string;
}

export interface ViewerRequestEvent {
  request: EdgeRequest;
  viewer?: EdgeViewer;
  context?: EdgeContext;
}

/** The function made without `docsPages` (the local router's): it always passes the request on. */
export type ViewerRequestFunction = (event: ViewerRequestEvent) => EdgeRequest;

/** The function made with `docsPages` (the deployed one): it may answer a missing docs page itself. */
export type DeployedViewerRequestFunction = (event: ViewerRequestEvent) => EdgeRequest | EdgeResponse;

/** A response the function answers itself (CloudFront Functions' generated response). */
export interface EdgeResponse {
  statusCode: number;
  statusDescription?: string;
  headers: Record<string, { value: string }>;
  body?: { encoding: 'text'; data: string };
}

/** The request header by which the viewer-request function tells the viewer-response one "this is the 404 page". */
export const NOT_FOUND_MARKER_HEADER = `${PLATFORM_HEADER_PREFIX}not-found`;

/** The docs site's page shown for a path that is none of its pages (VitePress builds it). */
export const DOCS_NOT_FOUND_PAGE = '/404.html';

export interface ViewerRequestOptions {
  /**
   * The docs site's pages (`/index.html`, `/guide/cli.html`…, as paths in the built folder).
   * @default - unknown: every docs path goes to the bucket as is
   */
  readonly docsPages?: readonly string[];
}

/** Hosts are compared lower-case and without a port. */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/:\d+$/, '');
}

function hostMap(hosts: readonly string[]): string {
  return hostMapOf(hosts.map(normaliseHost));
}

/** A JSON object with each key true: the function's set, looked up in constant time. */
function hostMapOf(keys: readonly string[]): string {
  const map: Record<string, true> = {};
  for (const key of keys) map[key] = true;
  return JSON.stringify(map);
}

/**
 * The viewer-response function of the sites' behaviour: the docs 404 page, which the bucket serves
 * with a 200, reaches the viewer with a 404 (the viewer-request function marked its request).
 */
export function viewerResponseSource(): string {
  return `function handler(event) {
  var response = event.response;
  if (event.request.headers['${NOT_FOUND_MARKER_HEADER}']) {
    response.statusCode = 404;
    response.statusDescription = 'Not Found';
  }
  return response;
}
`;
}

export function viewerRequestSource(hosts: EdgeHosts, options: ViewerRequestOptions = {}): string {
  const governance: Surface = 'governance';
  const free: Surface = 'free';
  const tenant: Surface = 'tenant';
  const docs: SiteName = 'docs';
  const paths = JSON.stringify(apiPaths.map((spec) => [spec.prefix, spec.match === 'exact']));
  const docsPages = options.docsPages === undefined ? 'null' : hostMapOf(options.docsPages);
  const notFound = JSON.stringify(
    edgeProblem(404, 'not-found', 'Not Found', 'There is no page at this address'),
  );
  return `var ADMIN_HOSTS = ${hostMap(hosts.adminHosts)};
var FREE_HOSTS = ${hostMap(hosts.freeHosts)};
var DOCS_HOSTS = ${hostMap(hosts.docsHosts ?? [])};
var API_PATHS = ${paths};
var DOCS_PAGES = ${docsPages};
var NOT_FOUND = ${notFound};
function isApiPath(uri) {
  for (var i = 0; i < API_PATHS.length; i++) {
    var prefix = API_PATHS[i][0];
    if (API_PATHS[i][1] ? uri === prefix : uri.indexOf(prefix + '/') === 0) {
      return true;
    }
  }
  return false;
}
function handler(event) {
  var request = event.request;
  var headers = request.headers;
  var names = Object.keys(headers);
  for (var i = 0; i < names.length; i++) {
    if (names[i].toLowerCase().indexOf('${PLATFORM_HEADER_PREFIX}') === 0) {
      delete headers[names[i]];
    }
  }
  var host = headers.host && headers.host.value ? headers.host.value.trim().toLowerCase() : '';
  var port = /:([0-9]{1,5})$/.exec(host);
  host = host.replace(/:[0-9]+$/, '');
  headers['${HOST_HEADER}'] = { value: host };
  if (port) {
    headers['${PORT_HEADER}'] = { value: port[1] };
  }
  if (event.viewer && event.viewer.ip) {
    headers['${VIEWER_IP_HEADER}'] = { value: String(event.viewer.ip) };
  }
  var isDocs = DOCS_HOSTS[host] === true;
  var surface = ADMIN_HOSTS[host] === true || isDocs ? '${governance}' : FREE_HOSTS[host] === true ? '${free}' : '${tenant}';
  var uri = request.uri;
  if (isApiPath(uri)) {
    request.uri = '/' + surface + uri;
    return request;
  }
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (isDocs) {
    if (last === '') {
      uri = uri + 'index.html';
    } else if (last.indexOf('.') < 0) {
      uri = uri + '.html';
    }
    if (DOCS_PAGES !== null && /\\.html$/.test(uri) && DOCS_PAGES[uri] !== true) {
      var accept = headers.accept && headers.accept.value ? headers.accept.value : '';
      if (accept.indexOf('text/html') < 0) {
        var problem = NOT_FOUND;
        if (event.context && event.context.requestId) {
          problem = JSON.parse(JSON.stringify(NOT_FOUND));
          problem.instance = String(event.context.requestId);
        }
        return {
          statusCode: 404,
          statusDescription: 'Not Found',
          headers: {
            'content-type': { value: '${PROBLEM_CONTENT_TYPE}' },
            'cache-control': { value: 'no-store' }
          },
          body: { encoding: 'text', data: JSON.stringify(problem) }
        };
      }
      headers['${NOT_FOUND_MARKER_HEADER}'] = { value: '1' };
      uri = '${DOCS_NOT_FOUND_PAGE}';
    }
    request.uri = '/${docs}' + uri;
    return request;
  }
  if (last.indexOf('.') < 0) {
    uri = '/index.html';
  }
  request.uri = '/' + surface + uri;
  return request;
}
`;
}

/** Compiles a source made without `docsPages` into a callable function, for the local router and for tests. */
export function compileViewerRequest(source: string): ViewerRequestFunction {
  const factory = new Function(`${source}\nreturn handler;`) as () => ViewerRequestFunction;
  return factory();
}

/** Compiles any source of this module's functions, as deployed (tests run the template's code). */
export function compileDeployedViewerRequest(source: string): DeployedViewerRequestFunction {
  const factory = new Function(`${source}\nreturn handler;`) as () => DeployedViewerRequestFunction;
  return factory();
}

/** Compiles viewerResponseSource(), for tests. */
export function compileViewerResponse(
  source: string,
): (event: { request: EdgeRequest; response: EdgeResponse }) => EdgeResponse {
  const factory = new Function(`${source}\nreturn handler;`) as () => (event: {
    request: EdgeRequest;
    response: EdgeResponse;
  }) => EdgeResponse;
  return factory();
}
