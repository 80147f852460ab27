import { describe, expect, it } from 'vitest';
import {
  compileViewerRequest,
  type EdgeRequest,
  normaliseHost,
  viewerRequestSource,
} from '../../../../lib/edge/viewer-request.ts';

const source = viewerRequestSource({
  adminHosts: ['admin.localhost', ' Admin.Example.COM:443 '],
  freeHosts: ['free.localhost'],
  docsHosts: ['docs.localhost'],
});
const viewerRequest = compileViewerRequest(source);

function edge(uri: string, headers: Record<string, string> = {}, host: string | null = 'acme.localhost') {
  const all: Record<string, { value: string }> = {};
  if (host !== null) all.host = { value: host };
  for (const [name, value] of Object.entries(headers)) all[name] = { value };
  const request: EdgeRequest = { uri, method: 'GET', headers: all };
  return viewerRequest({ request });
}

describe('the viewer-request function', () => {
  it('passes on the viewer’s own address, never one the client sent', () => {
    const request: EdgeRequest = {
      uri: '/api/free/signups',
      method: 'POST',
      headers: { host: { value: 'free.localhost' }, 'x-execfabric-viewer-ip': { value: '10.9.9.9' } },
    };
    const out = viewerRequest({ request, viewer: { ip: '203.0.113.7' } });
    expect(out.headers['x-execfabric-viewer-ip']).toEqual({ value: '203.0.113.7' });
    const without: EdgeRequest = {
      uri: '/api/health',
      method: 'GET',
      headers: { host: { value: 'free.localhost' }, 'x-execfabric-viewer-ip': { value: '10.9.9.9' } },
    };
    expect(viewerRequest({ request: without }).headers['x-execfabric-viewer-ip']).toBeUndefined();
  });

  it('deletes every client x-execfabric-* header, whatever its case', () => {
    const out = edge('/api/me', {
      'x-execfabric-host': 'globex.localhost',
      'X-ExecFabric-Origin': 'guess',
      'X-EXECFABRIC-TENANT': 'globex',
      'x-execfabric-': 'empty suffix',
      'x-ExecFabric-caller': 'admin',
      'x-exec-fabric-host': 'kept: not our prefix',
      authorization: 'Bearer token',
    });
    const names = Object.keys(out.headers);
    expect(names.filter((name) => name.toLowerCase().startsWith('x-execfabric-'))).toEqual([
      'x-execfabric-host',
    ]);
    expect(out.headers['x-execfabric-host']).toEqual({ value: 'acme.localhost' });
    expect(out.headers['x-exec-fabric-host']).toEqual({ value: 'kept: not our prefix' });
    expect(out.headers.authorization).toEqual({ value: 'Bearer token' });
  });

  it('sets x-execfabric-host from the Host header: trimmed, lower-case, without a port', () => {
    expect(edge('/api/me', {}, ' ACME.Localhost:8080 ').headers['x-execfabric-host']).toEqual({
      value: 'acme.localhost',
    });
    expect(edge('/api/me', {}, null).headers['x-execfabric-host']).toEqual({ value: '' });
  });

  it('prefixes the API with the surface the host reaches', () => {
    expect(edge('/api/me', {}, 'admin.localhost').uri).toBe('/governance/api/me');
    expect(edge('/api/me', {}, 'ADMIN.example.com:443').uri).toBe('/governance/api/me');
    expect(edge('/api/me', {}, 'free.localhost').uri).toBe('/free/api/me');
    expect(edge('/api/me', {}, 'acme.localhost').uri).toBe('/tenant/api/me');
    expect(edge('/api/me', {}, 'admin.localhost.evil.com').uri).toBe('/tenant/api/me');
  });

  it('sends the MCP endpoint and its protected-resource metadata to the API, exactly those paths', () => {
    expect(edge('/mcp').uri).toBe('/tenant/mcp');
    expect(edge('/mcp', {}, 'admin.localhost').uri).toBe('/governance/mcp');
    expect(edge('/.well-known/oauth-protected-resource').uri).toBe(
      '/tenant/.well-known/oauth-protected-resource',
    );
    expect(edge('/.well-known/oauth-protected-resource/mcp').uri).toBe(
      '/tenant/.well-known/oauth-protected-resource/mcp',
    );
    // Near misses are the single-page app, as CloudFront's exact path patterns would have them.
    expect(edge('/mcp/').uri).toBe('/tenant/index.html');
    expect(edge('/mcpx').uri).toBe('/tenant/index.html');
    expect(edge('/mcp/tools').uri).toBe('/tenant/index.html');
    expect(edge('/.well-known/oauth-protected-resource/other').uri).toBe('/tenant/index.html');
    // `/api` itself is not under `/api/*`: CloudFront sends it to the site, and so does this.
    expect(edge('/api').uri).toBe('/tenant/index.html');
  });

  it('passes the port of the Host on, digits only, and never a client-sent one', () => {
    expect(edge('/mcp', {}, 'acme.localhost:8080').headers['x-execfabric-port']).toEqual({ value: '8080' });
    expect(edge('/mcp', {}, 'acme.localhost').headers['x-execfabric-port']).toBeUndefined();
    expect(
      edge('/mcp', { 'X-ExecFabric-Port': '443' }, 'acme.localhost').headers['x-execfabric-port'],
    ).toBeUndefined();
    expect(edge('/mcp', {}, 'acme.localhost:80"x').headers['x-execfabric-port']).toBeUndefined();
    expect(edge('/mcp', {}, 'acme.localhost:123456').headers['x-execfabric-port']).toBeUndefined();
  });

  it('cannot be steered to another surface by the path', () => {
    expect(edge('/governance/api/tenants').uri).toBe('/tenant/index.html');
    expect(edge('/tenant/../governance/api/tenants', {}, 'free.localhost').uri).toBe('/free/index.html');
    expect(edge('/apix/me').uri).toBe('/tenant/index.html');
  });

  it('serves files as they are and every other path as the single-page app', () => {
    expect(edge('/').uri).toBe('/tenant/index.html');
    expect(edge('/skills/42').uri).toBe('/tenant/index.html');
    expect(edge('/assets/app.3f2a.js').uri).toBe('/tenant/assets/app.3f2a.js');
    expect(edge('/favicon.ico', {}, 'admin.localhost').uri).toBe('/governance/favicon.ico');
    expect(edge('/v1.2/settings').uri).toBe('/tenant/index.html');
  });

  it('is plain ES5 for the CloudFront Functions runtime, with the hosts embedded as data', () => {
    expect(source).not.toMatch(/\b(let|const|class)\s|=>|`/);
    expect(source).toContain('"admin.example.com":true');
  });

  it('normalises configured hosts the same way', () => {
    expect(normaliseHost(' Admin.Example.COM:443 ')).toBe('admin.example.com');
    expect(normaliseHost('acme.localhost')).toBe('acme.localhost');
  });

  describe('on a docs host', () => {
    it.each([
      ['/', '/docs/index.html'],
      ['/guide/', '/docs/guide/index.html'],
      ['/guide/concepts', '/docs/guide/concepts.html'],
      ['/guide/concepts.html', '/docs/guide/concepts.html'],
      ['/assets/app.js', '/docs/assets/app.js'],
      ['/openapi/tenant.json', '/docs/openapi/tenant.json'],
    ])('serves %s from the docs site as %s', (uri, expected) => {
      expect(edge(uri, {}, 'Docs.Localhost:8080').uri).toBe(expected);
    });

    it('sends its API paths to the governance API, never to a tenant', () => {
      expect(edge('/api/openapi.json', {}, 'docs.localhost').uri).toBe('/governance/api/openapi.json');
      expect(edge('/mcp', {}, 'docs.localhost').uri).toBe('/governance/mcp');
    });

    it('is a docs host only by its own name: a tenant host keeps its front', () => {
      expect(edge('/guide/concepts', {}, 'acme.localhost').uri).toBe('/tenant/index.html');
      expect(edge('/guide/concepts', {}, 'docs.localhost.evil.example').uri).toBe('/tenant/index.html');
    });
  });
});
