/** Every route of the tenant API, in one table (tests enumerate it for the isolation suite). */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { TenantCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import type { Route } from '../http/router.ts';
import { agentRoutes } from '../http/routes/agents.ts';
import { appearanceRoutes } from '../http/routes/appearance.ts';
import { approvalRoutes } from '../http/routes/approvals.ts';
import { auditRoutes } from '../http/routes/audit.ts';
import { catalogRoutes } from '../http/routes/catalog.ts';
import { dataRoutes } from '../http/routes/data.ts';
import { foundationRoutes } from '../http/routes/foundation.ts';
import { freeTenantRoutes } from '../http/routes/free-tenant.ts';
import { httpResourceTenantRoutes } from '../http/routes/http-resources.ts';
import { identityRoutes } from '../http/routes/identity.ts';
import { mcpRoutes } from '../http/routes/mcp.ts';
import { scheduleRoutes } from '../http/routes/schedules.ts';
import { templateTenantRoutes } from '../http/routes/templates.ts';

/** `logger`: the function's, for the routes that log (MCP); route tables built outside one omit it. */
export function tenantRoutes(core: TenantCore, logger?: Logger): Route[] {
  return [
    healthRoute,
    ...identityRoutes(core),
    ...foundationRoutes(core),
    ...auditRoutes(core),
    ...catalogRoutes(core),
    ...approvalRoutes(core),
    ...appearanceRoutes(core),
    ...httpResourceTenantRoutes(core),
    ...templateTenantRoutes(core),
    ...mcpRoutes(core, logger),
    ...agentRoutes(core),
    ...scheduleRoutes(core),
    ...dataRoutes(core),
    ...freeTenantRoutes(core),
  ];
}
