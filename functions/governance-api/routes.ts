/**
 * Every route of the governance API, in one table (tests enumerate it for the isolation suite).
 * Health is built at a cold start; every other module of routes loads on the first request under its
 * paths (router.ts `lazyRoutes`), each on the layer of the core it uses (core/assembly/sign-in.ts
 * `LazyCore`): sign-in on the sign-in core, the audit on the signed-in core, the others on the whole
 * API core (the public domain's services).
 */
import type { LazyCore } from '../core/assembly/sign-in.ts';
import type { ApiCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import { lazyRoutes, lazyRoutesOn, type RouteEntry } from '../http/router.ts';
import { IDENTITY_PREFIXES } from '../http/routes/prefixes.ts';

export function governanceRoutes(core: LazyCore<ApiCore>): RouteEntry[] {
  const { signedIn, whole } = core;
  // The free entry is public but has its own function (free-api): none of these routes serve it
  // (each route's guard says so: `governance`, or `consoles` for sign-in, users and audit).
  return [
    healthRoute,
    lazyRoutes(IDENTITY_PREFIXES, async () =>
      (await import('../http/routes/identity.ts')).identityRoutes(core.signIn),
    ),
    lazyRoutesOn(['/api/audit'], signedIn, async () => (await import('../http/routes/audit.ts')).auditRoutes),
    lazyRoutesOn(
      ['/api/console'],
      whole,
      async () => (await import('../http/routes/console.ts')).consoleRoutes,
    ),
    lazyRoutesOn(
      [
        '/api/announcements',
        '/api/customers',
        '/api/lifecycle',
        '/api/orders',
        '/api/platform',
        '/api/tenants',
      ],
      whole,
      async () => (await import('../http/routes/governance.ts')).governanceDomainRoutes,
    ),
    lazyRoutesOn(
      ['/api/http-resources'],
      whole,
      async () => (await import('../http/routes/http-resources.ts')).httpResourceGovernanceRoutes,
    ),
    lazyRoutesOn(
      ['/api/templates'],
      whole,
      async () => (await import('../http/routes/templates.ts')).templateGovernanceRoutes,
    ),
    lazyRoutesOn(
      ['/api/tenants'],
      whole,
      async () => (await import('../http/routes/agents.ts')).agentGovernanceRoutes,
    ),
    lazyRoutesOn(
      ['/api/free'],
      whole,
      async () => (await import('../http/routes/free.ts')).freeGovernanceRoutes,
    ),
  ];
}
