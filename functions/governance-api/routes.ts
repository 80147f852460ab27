/**
 * Every route of the governance API, in one table (tests enumerate it for the isolation suite).
 * Health is built at a cold start; every other module of routes loads on the first request under its
 * paths (router.ts `lazyRoutes`).
 */
import type { ApiCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import { lazyRoutes, type RouteEntry } from '../http/router.ts';
import { IDENTITY_PREFIXES } from '../http/routes/prefixes.ts';

export function governanceRoutes(core: ApiCore): RouteEntry[] {
  // The free entry is public but has its own function (free-api): none of these routes serve it
  // (each route's guard says so: `governance`, or `consoles` for sign-in, users and audit).
  return [
    healthRoute,
    lazyRoutes(IDENTITY_PREFIXES, async () =>
      (await import('../http/routes/identity.ts')).identityRoutes(core),
    ),
    lazyRoutes(['/api/audit'], async () => (await import('../http/routes/audit.ts')).auditRoutes(core)),
    lazyRoutes(['/api/console'], async () => (await import('../http/routes/console.ts')).consoleRoutes(core)),
    lazyRoutes(
      [
        '/api/announcements',
        '/api/customers',
        '/api/lifecycle',
        '/api/orders',
        '/api/platform',
        '/api/tenants',
      ],
      async () => (await import('../http/routes/governance.ts')).governanceDomainRoutes(core),
    ),
    lazyRoutes(['/api/http-resources'], async () =>
      (await import('../http/routes/http-resources.ts')).httpResourceGovernanceRoutes(core),
    ),
    lazyRoutes(['/api/templates'], async () =>
      (await import('../http/routes/templates.ts')).templateGovernanceRoutes(core),
    ),
    lazyRoutes(['/api/tenants'], async () =>
      (await import('../http/routes/agents.ts')).agentGovernanceRoutes(core),
    ),
    lazyRoutes(['/api/free'], async () =>
      (await import('../http/routes/free.ts')).freeGovernanceRoutes(core),
    ),
  ];
}
