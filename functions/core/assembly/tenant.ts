/**
 * The tenant API's core: the signed-in core (signed-in.ts) with what only a tenant's own routes use —
 * tenant schedules, MCP, the templates a tenant installs, the free edition's handoffs. `createCore`
 * (platform.ts) builds the same services beside the public domain's, for the local platform and the
 * tests.
 */
import { Handoffs } from '../free/handoffs.ts';
import { McpClients } from '../mcp/clients.ts';
import { McpService } from '../mcp/service.ts';
import { createSchedules, type SchedulesOptions } from './schedules.ts';
import { createSignedInCore, type SignedInCore, type SignedInCoreOptions } from './signed-in.ts';

export interface TenantCoreOptions extends SignedInCoreOptions, SchedulesOptions {}

import { createTemplates } from './templates.ts';

/** What only the tenant API serves: tenant schedules and the MCP endpoint's clients and tools. */
export function tenantServices(core: SignedInCore, options: SchedulesOptions) {
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
      waitingFor: (domain, execution) => core.runWaits.reasons(domain)(execution),
    }),
  };
}

/**
 * The tenant API's core: the signed-in core with tenant schedules, MCP, the templates a tenant
 * installs and the free edition's handoffs a personal space redeems — none of governance or the
 * free entry's sign-up (the functions that serve them build their own). `core`: the signed-in core to
 * build on (the tenant API's, built by its first request past sign-in). @default a new one from `options`
 */
export function createTenantCore(
  options: TenantCoreOptions,
  core: SignedInCore = createSignedInCore(options),
) {
  const { table, now } = core;
  // A tenant installs what it is offered; distributing (which lists every tenant) is governance's.
  const templates = createTemplates(core, undefined, options.checker);
  return {
    ...core,
    templates,
    free: { handoffs: new Handoffs({ table, now }) },
    ...tenantServices(core, options),
  };
}

export type TenantCore = ReturnType<typeof createTenantCore>;
