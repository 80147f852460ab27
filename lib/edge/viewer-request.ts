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
 * problem+json 404 like any unknown host.
 *
 * The source is plain ES5 because CloudFront Functions run a restricted JavaScript runtime.
 */
import {
  HOST_HEADER,
  PLATFORM_HEADER_PREFIX,
  PORT_HEADER,
  VIEWER_IP_HEADER,
} from '../../functions/core/headers.ts';
import { apiPaths, type SiteName, type Surface } from '../topology.ts';

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

export type ViewerRequestFunction = (event: { request: EdgeRequest; viewer?: EdgeViewer }) => EdgeRequest;

/** Hosts are compared lower-case and without a port. */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/:\d+$/, '');
}

function hostMap(hosts: readonly string[]): string {
  const map: Record<string, true> = {};
  for (const host of hosts) map[normaliseHost(host)] = true;
  return JSON.stringify(map);
}

export function viewerRequestSource(hosts: EdgeHosts): string {
  const governance: Surface = 'governance';
  const free: Surface = 'free';
  const tenant: Surface = 'tenant';
  const docs: SiteName = 'docs';
  const paths = JSON.stringify(apiPaths.map((spec) => [spec.prefix, spec.match === 'exact']));
  return `var ADMIN_HOSTS = ${hostMap(hosts.adminHosts)};
var FREE_HOSTS = ${hostMap(hosts.freeHosts)};
var DOCS_HOSTS = ${hostMap(hosts.docsHosts ?? [])};
var API_PATHS = ${paths};
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

/** Compiles the source into a callable function, for the local router and for tests. */
export function compileViewerRequest(source: string): ViewerRequestFunction {
  const factory = new Function(`${source}\nreturn handler;`) as () => ViewerRequestFunction;
  return factory();
}
