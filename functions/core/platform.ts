/**
 * The governance core assembled for one process: every service built once on the same table and
 * clients, so the API handlers (and the local platform, and tests) construct it in one call at
 * module scope. It is the run core (assembly/runs.ts) with sign-in and the public domain's services
 * (assembly/public-domain.ts) on top — the API core, all the governance API builds — and tenant
 * schedules and MCP beside them for the tenant API; the functions that need less build only their
 * part (see docs/decisions/lambda-bundles.md).
 */
import { type ApiCoreOptions, createApiCore } from './assembly/api.ts';
import { createSchedules, type SchedulesOptions } from './assembly/schedules.ts';
import { McpClients } from './mcp/clients.ts';
import { McpService } from './mcp/service.ts';

export { parseList } from './env.ts';

export interface CoreOptions extends ApiCoreOptions, SchedulesOptions {}

export type { ApiCore } from './assembly/api.ts';

/**
 * Everything: the API core (assembly/api.ts) with tenant schedules and MCP — the tenant API, the
 * local platform, the tests.
 */
export function createCore(options: CoreOptions) {
  const api = createApiCore(options);
  const { table, audit, directory, skills, now } = api;
  // Tenant schedules: fired by EventBridge Scheduler in AWS, by the local ticker on one machine.
  const schedules = createSchedules(api, options);
  // AI clients (MCP): their tokens, scopes and call logs, and the Skills they reach as tools.
  const mcpClients = new McpClients({ table, audit, directory, skills, now });
  const mcp = new McpService({
    skills,
    executions: api.executions,
    approvals: api.approvals,
    clients: mcpClients,
  });
  return { ...api, mcpClients, mcp, schedules };
}

export type Core = ReturnType<typeof createCore>;
