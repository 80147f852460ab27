/**
 * The tenant API's core: the signed-in core (signed-in.ts) with what only a tenant's own routes use —
 * tenant schedules, MCP, the templates a tenant installs, the free edition's handoffs. `createCore`
 * (platform.ts) builds the same services beside the public domain's, for the local platform and the
 * tests.
 */
import { Handoffs } from '../free/handoffs.ts';
import { McpClients } from '../mcp/clients.ts';
import { McpService } from '../mcp/service.ts';
import type { CoreOptions } from '../platform.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { createSchedules } from './schedules.ts';
import { createSignedInCore, type SignedInCore } from './signed-in.ts';
import { createTemplates } from './templates.ts';

/** What only the tenant API serves: tenant schedules and the MCP endpoint's clients and tools. */
export function tenantServices(core: SignedInCore, options: CoreOptions) {
  const { table, audit, directory, skills, now } = core;
  // AI clients (MCP): their tokens, scopes and call logs, and the Skills they reach as tools.
  const mcpClients = new McpClients({ table, audit, directory, skills, now });
  return {
    // Tenant schedules: fired by EventBridge Scheduler in AWS, by the local ticker on one machine.
    schedules: createSchedules(core, options),
    mcpClients,
    mcp: new McpService({
      skills,
      executions: core.executions,
      approvals: core.approvals,
      clients: mcpClients,
    }),
  };
}

/**
 * The tenant API's core: the signed-in core with tenant schedules, MCP, the templates a tenant
 * installs and the free edition's handoffs a personal space redeems — none of governance or the
 * free entry's sign-up (the functions that serve them build their own).
 */
export function createTenantCore(options: CoreOptions) {
  const core = createSignedInCore(options);
  const { table, hosts, now } = core;
  // Templates list tenants only to distribute them (governance); the registry is the lookup alone.
  const templates = createTemplates(core, new TenantRegistry({ table, hosts, now }), options.checker);
  return {
    ...core,
    templates,
    free: { handoffs: new Handoffs({ table, now }) },
    ...tenantServices(core, options),
  };
}

export type TenantCore = ReturnType<typeof createTenantCore>;
