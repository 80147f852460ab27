/**
 * The public origin of the host a request came to (`https://acme.example.com`,
 * `http://acme.localhost:8080`), for absolute links an API writes back: the MCP resource and its
 * metadata, approval links in tickets. Built only from what the edge sets: the bound host, the
 * viewer's port (digits, from the Host header) and the scheme of the edge's listener.
 */
import { PORT_HEADER, SCHEME_HEADER } from '../core/headers.ts';
import type { DomainContext } from '../core/tenancy/domain.ts';

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

export function publicOrigin(domain: DomainContext, headers: Readonly<Record<string, string>>): string {
  const scheme = headers[SCHEME_HEADER] === 'http' ? 'http' : 'https';
  const port = headers[PORT_HEADER] ?? '';
  const shown = /^[0-9]{1,5}$/.test(port) && port !== DEFAULT_PORTS[scheme] ? `:${Number(port)}` : '';
  return `${scheme}://${domain.host}${shown}`;
}
