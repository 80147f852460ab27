/**
 * Every route of the tenant API, in one table (tests enumerate it for the isolation suite). Health
 * is built at a cold start; every other module of routes, with its zod schemas, loads on the first
 * request under its paths (router.ts `lazyRoutes`), so an instance builds the routes it serves.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MCP_PATH } from '../contract/paths.ts';
import type { TenantCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import { RESOURCE_METADATA_PATH } from '../http/mcp-auth.ts';
import { lazyRoutes, type RouteEntry } from '../http/router.ts';
import { IDENTITY_PREFIXES } from '../http/routes/prefixes.ts';

/** `logger`: the function's, for the routes that log (MCP); route tables built outside one omit it. */
export function tenantRoutes(core: TenantCore, logger?: Logger): RouteEntry[] {
  return [
    healthRoute,
    lazyRoutes(IDENTITY_PREFIXES, async () =>
      (await import('../http/routes/identity.ts')).identityRoutes(core),
    ),
    lazyRoutes(['/api/announcements', '/api/parameters'], async () =>
      (await import('../http/routes/foundation.ts')).foundationRoutes(core),
    ),
    lazyRoutes(['/api/audit'], async () => (await import('../http/routes/audit.ts')).auditRoutes(core)),
    lazyRoutes(['/api/assets/scripts', '/api/executions', '/api/skills'], async () =>
      (await import('../http/routes/catalog.ts')).catalogRoutes(core),
    ),
    lazyRoutes(['/api/approvals', '/api/executions'], async () =>
      (await import('../http/routes/approvals.ts')).approvalRoutes(core),
    ),
    lazyRoutes(['/api/branding', '/api/notifications'], async () =>
      (await import('../http/routes/appearance.ts')).appearanceRoutes(core),
    ),
    lazyRoutes(['/api/http-resources'], async () =>
      (await import('../http/routes/http-resources.ts')).httpResourceTenantRoutes(core),
    ),
    lazyRoutes(['/api/templates'], async () =>
      (await import('../http/routes/templates.ts')).templateTenantRoutes(core),
    ),
    lazyRoutes([MCP_PATH, RESOURCE_METADATA_PATH, '/api/mcp-clients'], async () =>
      (await import('../http/routes/mcp.ts')).mcpRoutes(core, logger),
    ),
    lazyRoutes(['/api/agent', '/api/agents'], async () =>
      (await import('../http/routes/agents.ts')).agentRoutes(core),
    ),
    lazyRoutes(['/api/schedule-logs', '/api/schedules'], async () =>
      (await import('../http/routes/schedules.ts')).scheduleRoutes(core),
    ),
    lazyRoutes(['/api/data'], async () => (await import('../http/routes/data.ts')).dataRoutes(core)),
    lazyRoutes(['/api/auth/handoff', '/api/usage'], async () =>
      (await import('../http/routes/free-tenant.ts')).freeTenantRoutes(core),
    ),
  ];
}
