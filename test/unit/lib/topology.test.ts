/** The routes of the topology: every API path on every surface, and the edge-prefixed paths they take. */
import { describe, expect, it } from 'vitest';
import { apiPaths, edgePathPattern, routeFor, routes } from '../../../lib/topology.ts';

describe('routes', () => {
  it('give every API path a route on every surface, to that surface’s API', () => {
    expect(routes).toHaveLength(apiPaths.length * 3);
    expect(
      routes.filter((route) => route.surface === 'tenant').every((route) => route.function === 'tenant-api'),
    ).toBe(true);
    expect(
      routes
        .filter((route) => route.surface === 'governance')
        .every((route) => route.function === 'governance-api'),
    ).toBe(true);
    // The free entry has its own function, with only what the free surface needs.
    expect(
      routes.filter((route) => route.surface === 'free').every((route) => route.function === 'free-api'),
    ).toBe(true);
    expect(routes.map((route) => route.path)).toContain('/tenant/mcp');
    expect(routes.map((route) => route.path)).toContain('/tenant/api/{proxy+}');
    expect(apiPaths.map(edgePathPattern)).toEqual([
      '/api/*',
      '/mcp',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]);
  });

  it('match exactly the paths the edge forwards', () => {
    expect(routeFor('/tenant/mcp')?.path).toBe('/tenant/mcp');
    expect(routeFor('/governance/mcp')?.function).toBe('governance-api');
    expect(routeFor('/tenant/api/skills')?.path).toBe('/tenant/api/{proxy+}');
    expect(routeFor('/tenant/.well-known/oauth-protected-resource/mcp')?.prefix).toBe(
      '/.well-known/oauth-protected-resource/mcp',
    );
    for (const uri of [
      '/tenant/mcp/',
      '/tenant/mcpx',
      '/tenant/api',
      '/tenant/index.html',
      '/other/api/x',
      '/tenantx/api/x',
    ]) {
      expect(routeFor(uri), uri).toBeUndefined();
    }
  });
});
