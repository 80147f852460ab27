/** Every route of the governance API, in one table (tests enumerate it for the isolation suite). */
import type { ApiCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import type { Route } from '../http/router.ts';
import { agentGovernanceRoutes } from '../http/routes/agents.ts';
import { auditRoutes } from '../http/routes/audit.ts';
import { consoleRoutes } from '../http/routes/console.ts';
import { freeGovernanceRoutes } from '../http/routes/free.ts';
import { governanceDomainRoutes } from '../http/routes/governance.ts';
import { httpResourceGovernanceRoutes } from '../http/routes/http-resources.ts';
import { identityRoutes } from '../http/routes/identity.ts';
import { templateGovernanceRoutes } from '../http/routes/templates.ts';

export function governanceRoutes(core: ApiCore): Route[] {
  // The free entry is public but has its own function (free-api): none of these routes serve it
  // (each route's guard says so: `governance`, or `consoles` for sign-in, users and audit).
  return [
    healthRoute,
    ...identityRoutes(core),
    ...auditRoutes(core),
    ...consoleRoutes(core),
    ...governanceDomainRoutes(core),
    ...httpResourceGovernanceRoutes(core),
    ...templateGovernanceRoutes(core),
    ...agentGovernanceRoutes(core),
    ...freeGovernanceRoutes(core),
  ];
}
