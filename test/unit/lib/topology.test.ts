/** The routes of the topology: every API path on every surface, and the edge-prefixed paths they take. */
import { describe, expect, it } from 'vitest';
import { MAX_RUN_WAIT_SECONDS } from '../../../functions/contract/headers.ts';
import { MAX_POLL_WAIT_SECONDS } from '../../../functions/core/agents/agents.ts';
import { MAX_WAIT_SECONDS as MAX_TOOL_WAIT_SECONDS } from '../../../functions/core/mcp/clients.ts';
import { ANSWER_MARGIN_MS } from '../../../functions/http/routes/catalog.ts';
import { apiPaths, edgePathPattern, functions, routeFor, routes } from '../../../lib/topology.ts';

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
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
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

describe('API function timeouts', () => {
  // API Gateway's HTTP API answers 503 itself once an integration passes 30 s.
  const API_GATEWAY_MAX_SECONDS = 30;

  it('hold every wait an API holds open, with room to answer, inside API Gateway’s 30 s', () => {
    const longest = Math.max(MAX_RUN_WAIT_SECONDS, MAX_POLL_WAIT_SECONDS, MAX_TOOL_WAIT_SECONDS);
    const timeout = functions['tenant-api'].timeoutSeconds;
    // Before, 15 s: a `Prefer: wait=20` on a longer run was cut off by the function's timeout and
    // answered 503 "retry the request", though its run had been made.
    expect(timeout * 1000).toBeGreaterThanOrEqual(longest * 1000 + ANSWER_MARGIN_MS);
    for (const name of new Set(routes.map((route) => route.function))) {
      expect(functions[name].timeoutSeconds, name).toBeLessThanOrEqual(API_GATEWAY_MAX_SECONDS);
    }
  });
});
