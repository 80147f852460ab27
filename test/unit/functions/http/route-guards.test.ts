/**
 * Route guards: every route of the three APIs declares where it is served, and the pipeline refuses
 * it everywhere else — even when a request reaches the wrong API (a misrouted edge, a host bound to
 * the wrong domain) and even for a super admin holding every permission. The routes' handlers would
 * touch a database that does not exist here (port 1), so any answer but a 404 names a route whose
 * guard failed.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../../../functions/clients/dynamodb.ts';
import { API_PATHS, apiPath } from '../../../../functions/contract/paths.ts';
import { PUBLIC_PERMISSIONS, TENANT_PERMISSIONS } from '../../../../functions/contract/permissions.ts';
import { builtCore } from '../../../../functions/core/assembly/sign-in.ts';
import { ENV } from '../../../../functions/core/env.ts';
import { AuthenticationError } from '../../../../functions/core/errors.ts';
import type { Caller } from '../../../../functions/core/identity/caller.ts';
import { createCore } from '../../../../functions/core/platform.ts';
import type { DomainContext } from '../../../../functions/core/tenancy/domain.ts';
import type { HostDirectory } from '../../../../functions/core/tenancy/hosts.ts';
import { freeRoutes } from '../../../../functions/free-api/routes.ts';
import { governanceRoutes } from '../../../../functions/governance-api/routes.ts';
import { type ApiSurface, withOpenApi } from '../../../../functions/http/openapi.ts';
import { createApiHandler } from '../../../../functions/http/pipeline.ts';
import { loadRoutes, ROUTE_SERVES, type Route, servedIn } from '../../../../functions/http/router.ts';
import { tenantRoutes } from '../../../../functions/tenant-api/routes.ts';

const ORIGIN = 'origin-proof-for-guards';
const core = createCore({
  table: { client: documentClient({ [ENV.dynamodbEndpoint]: 'http://127.0.0.1:1' }), name: 'guards' },
});
const TABLES: Readonly<Record<ApiSurface, readonly Route[]>> = {
  tenant: await loadRoutes(withOpenApi('tenant', tenantRoutes(builtCore(core)))),
  governance: await loadRoutes(withOpenApi('governance', governanceRoutes(builtCore(core)))),
  free: await loadRoutes(
    withOpenApi(
      'free',
      freeRoutes(async () => core.free),
    ),
  ),
};

const tenant = (id: string): DomainContext => ({
  kind: 'tenant',
  host: `${id}.localhost`,
  tenant: { id, name: id, status: 'active', plan: 'standard', expiresAt: '2030-01-01T00:00:00Z' },
});
/** One domain of each kind and surface a host can be bound to. */
const DOMAINS: Readonly<Record<string, DomainContext>> = {
  tenant: tenant('acme'),
  personal: tenant('p-alice'),
  governance: { kind: 'public', host: 'admin.localhost', surface: 'governance' },
  free: { kind: 'public', host: 'free.localhost', surface: 'free' },
  docs: { kind: 'public', host: 'docs.localhost', surface: 'docs' },
};
/** The domains each API is deployed for (its handler's `accepts`). */
const HOME: Readonly<Record<ApiSurface, readonly string[]>> = {
  tenant: ['tenant', 'personal'],
  governance: ['governance'],
  free: ['free'],
};

const everything: Caller = {
  username: 'root',
  roles: ['admin'],
  permissions: new Set([...TENANT_PERMISSIONS, ...PUBLIC_PERMISSIONS]),
  superAdmin: true,
  via: 'personal-access-token',
  credentialId: 'root-token',
};

/** An API that (wrongly) accepts every domain, to show the routes' own guards hold. */
function misroutedApi(api: ApiSurface) {
  const hosts = {
    resolve: async (host: string) => Object.values(DOMAINS).find((domain) => domain.host === host),
  } as unknown as HostDirectory;
  return createApiHandler({
    surfaces: [api],
    accepts: () => true,
    routes: TABLES[api].filter((route) => route.path !== '/api/openapi.json'),
    hosts,
    authenticate: async () => everything,
    authenticateMcpClient: async () => everything,
    authenticateAgent: async () => {
      throw new AuthenticationError('No agent here');
    },
    csrfToken: () => 'csrf',
    originSecret: ORIGIN,
    logger: new Logger({ logLevel: 'SILENT' }),
  });
}

async function send(handler: ReturnType<typeof misroutedApi>, api: string, route: Route, host: string) {
  const path = route.path.replace(/\{[a-zA-Z]+\}/g, 'x1');
  const event = {
    version: '2.0',
    rawPath: `/${api}${path}`,
    rawQueryString: '',
    headers: {
      'x-execfabric-host': host,
      'x-execfabric-origin': ORIGIN,
      authorization: 'Bearer root-token',
      'content-type': 'application/json',
    },
    body: '{}',
    isBase64Encoded: false,
    requestContext: { requestId: 'guard', http: { method: route.method, sourceIp: '127.0.0.1' } },
  } as unknown as APIGatewayProxyEventV2;
  const result = (await handler(event, {} as Context)) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(String(result.body || '{}')) as { type?: string } };
}

describe('route guards', () => {
  it.each(Object.keys(TABLES) as ApiSurface[])(
    'every route of the %s API declares where it is served, and is served where the API is deployed',
    (api) => {
      for (const route of TABLES[api]) {
        const name = `${route.method} ${route.path}`;
        expect(ROUTE_SERVES, name).toContain(route.serves);
        for (const home of HOME[api]) {
          expect(servedIn(route.serves, DOMAINS[home] as DomainContext), `${name} on ${home}`).toBe(true);
        }
      }
    },
  );

  it('serves exactly the paths the contract names, and the contract fills them in segment by segment', () => {
    const served = new Set(Object.values(TABLES).flatMap((routes) => routes.map((route) => route.path)));
    expect([...served].sort()).toEqual([...API_PATHS].sort());
    expect(apiPath('/api/executions/{id}/logs', { id: 'a/b?c' })).toBe('/api/executions/a%2Fb%3Fc/logs');
    expect(apiPath('/api/data/collections/{name}/records/{key}', { name: 'n', key: 'é #1' })).toBe(
      '/api/data/collections/n/records/%C3%A9%20%231',
    );
    expect(apiPath('/api/approvals')).toBe('/api/approvals');
  });

  it('keeps the consoles’ sign-in, users and audit off the free entry and the docs site', () => {
    const consoles = [...TABLES.tenant, ...TABLES.governance].filter((route) => route.serves === 'consoles');
    expect(consoles.map((route) => route.path)).toEqual(
      expect.arrayContaining(['/api/auth/login', '/api/users', '/api/audit']),
    );
    for (const route of consoles) {
      expect(servedIn(route.serves, DOMAINS.free as DomainContext)).toBe(false);
      expect(servedIn(route.serves, DOMAINS.docs as DomainContext)).toBe(false);
    }
  });

  it.each(Object.keys(TABLES) as ApiSurface[])(
    'refuses every route of the %s API in every other domain, to a super admin, before its handler runs',
    async (api) => {
      const handler = misroutedApi(api);
      let refused = 0;
      for (const route of TABLES[api]) {
        if (route.path === '/api/openapi.json') continue;
        for (const [name, domain] of Object.entries(DOMAINS)) {
          if (servedIn(route.serves, domain)) continue;
          const answer = await send(handler, api, route, domain.host);
          expect(answer, `${route.method} ${route.path} on ${name}`).toMatchObject({
            status: 404,
            body: { type: 'urn:execfabric:problem:route-not-found' },
          });
          refused += 1;
        }
      }
      expect(refused).toBeGreaterThan(TABLES[api].length);
    },
  );
});
