/**
 * Every route of the tenant API, in one table (tests enumerate it for the isolation suite). Health
 * is built at a cold start; every other module of routes, with its zod schemas, loads on the first
 * request under its paths (router.ts `lazyRoutes`), so an instance builds the routes it serves, each
 * group on the layer of the core it uses (core/assembly/sign-in.ts `LazyCore`): sign-in on the
 * sign-in core; Skills, runs, approvals, notices, HTTP resources, agents and data on the signed-in
 * core; schedules, MCP, templates and handoffs on the whole tenant core.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MCP_PATH } from '../contract/paths.ts';
import type { LazyCore } from '../core/assembly/sign-in.ts';
import type { TenantCore } from '../core/platform.ts';
import { healthRoute } from '../http/health.ts';
import { RESOURCE_METADATA_PATH } from '../http/mcp-auth.ts';
import { lazyRoutes, lazyRoutesOn, type RouteEntry } from '../http/router.ts';
import { IDENTITY_PREFIXES } from '../http/routes/prefixes.ts';

/** `logger`: the function's, for the routes that log (MCP); route tables built outside one omit it. */
export function tenantRoutes(core: LazyCore<TenantCore>, logger?: Logger): RouteEntry[] {
  const { signedIn, whole } = core;
  return [
    healthRoute,
    lazyRoutes(IDENTITY_PREFIXES, async () =>
      (await import('../http/routes/identity.ts')).identityRoutes(
        core.signIn,
        // What a removed user owned lives in the whole tenant core, built only when one is removed.
        async (domain, removed, by) => {
          if (domain.kind !== 'tenant') return;
          const { tidyAfterRemoval } = await import('../core/assembly/user-removal.ts');
          await tidyAfterRemoval(await whole(), domain, removed, by);
        },
      ),
    ),
    lazyRoutesOn(
      ['/api/announcements', '/api/parameters'],
      signedIn,
      async () => (await import('../http/routes/foundation.ts')).foundationRoutes,
    ),
    lazyRoutesOn(['/api/audit'], signedIn, async () => (await import('../http/routes/audit.ts')).auditRoutes),
    lazyRoutesOn(
      ['/api/assets/scripts', '/api/executions', '/api/skills'],
      signedIn,
      async () => (await import('../http/routes/catalog.ts')).catalogRoutes,
    ),
    lazyRoutesOn(
      ['/api/approvals', '/api/executions'],
      signedIn,
      async () => (await import('../http/routes/approvals.ts')).approvalRoutes,
    ),
    lazyRoutesOn(
      ['/api/branding', '/api/notifications'],
      signedIn,
      async () => (await import('../http/routes/appearance.ts')).appearanceRoutes,
    ),
    lazyRoutesOn(
      ['/api/http-resources'],
      signedIn,
      async () => (await import('../http/routes/http-resources.ts')).httpResourceTenantRoutes,
    ),
    lazyRoutesOn(
      ['/api/templates'],
      whole,
      async () => (await import('../http/routes/templates.ts')).templateTenantRoutes,
    ),
    lazyRoutesOn([MCP_PATH, RESOURCE_METADATA_PATH, '/api/mcp-clients'], whole, async () => {
      const { mcpRoutes } = await import('../http/routes/mcp.ts');
      return (built) => mcpRoutes(built, logger);
    }),
    lazyRoutesOn(
      ['/api/agent', '/api/agents'],
      signedIn,
      async () => (await import('../http/routes/agents.ts')).agentRoutes,
    ),
    lazyRoutesOn(
      ['/api/schedule-logs', '/api/schedules'],
      whole,
      async () => (await import('../http/routes/schedules.ts')).scheduleRoutes,
    ),
    lazyRoutesOn(['/api/data'], signedIn, async () => (await import('../http/routes/data.ts')).dataRoutes),
    lazyRoutesOn(
      ['/api/auth/handoff', '/api/usage'],
      whole,
      async () => (await import('../http/routes/free-tenant.ts')).freeTenantRoutes,
    ),
  ];
}
