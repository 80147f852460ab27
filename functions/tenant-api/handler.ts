/** The tenant API: everything a customer's users do on their own host. Configuration only. */

import type { Environment } from '../core/env.ts';
import { apiFromEnv } from '../http/api.ts';
import { tenantRoutes } from './routes.ts';

export async function createHandler(env: Environment) {
  const { handler } = await apiFromEnv(
    {
      serviceName: 'tenant-api',
      surfaces: ['tenant'],
      accepts: (domain) => domain.kind === 'tenant',
      // Loaded by the first request for schedules, MCP, templates or handoffs (core/assembly/sign-in.ts).
      assemble: async (options, signedIn) =>
        (await import('../core/assembly/tenant.ts')).createTenantCore(options, signedIn),
      routes: tenantRoutes,
      // AI clients reach the tenant's Skills as MCP tools here, with their own tokens.
      mcpClients: (core) => core.mcpClients,
      // Least privilege under a bug: each request reaches only its tenant's partitions.
      tenantScoped: true,
    },
    env,
  );
  return handler;
}
