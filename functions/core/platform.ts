/**
 * The governance core assembled for one process: every service built once on the same table and
 * clients, so the API handlers (and the local platform, and tests) construct it in one call at
 * module scope. It is the run core (assembly/runs.ts) with sign-in, tenant schedules, MCP and the
 * public domain's services (assembly/public-domain.ts) on top; the functions that need less build
 * only their part (see docs/decisions/lambda-bundles.md).
 */
import { randomBytes } from 'node:crypto';
import { createPublicDomain, type PublicDomainOptions } from './assembly/public-domain.ts';
import { createRunCore, type RunCoreOptions } from './assembly/runs.ts';
import { createSchedules, type SchedulesOptions } from './assembly/schedules.ts';
import { Auth } from './identity/auth.ts';
import { McpClients } from './mcp/clients.ts';
import { McpService } from './mcp/service.ts';
import { setCursorKey } from './pagination.ts';

export { parseList } from './env.ts';

export interface CoreOptions extends RunCoreOptions, SchedulesOptions, PublicDomainOptions {
  /**
   * Key of session signatures. Only the API functions verify tokens; elsewhere it may be omitted and a
   * throwaway key is used, so no token could be minted or accepted by that process.
   */
  readonly tokenSecret?: string;
}

export function createCore(options: CoreOptions) {
  // Cursors issued by one API container must be accepted by the others: sign them with the shared secret.
  if (options.tokenSecret !== undefined) setCursorKey(options.tokenSecret);
  const run = createRunCore(options);
  const { table, audit, directory, skills, now } = run;
  const auth = new Auth({
    table,
    directory,
    audit,
    tokenSecret: options.tokenSecret ?? randomBytes(32).toString('hex'),
    now,
  });
  // Tenant schedules: fired by EventBridge Scheduler in AWS, by the local ticker on one machine.
  const schedules = createSchedules(run, options);
  // AI clients (MCP): their tokens, scopes and call logs, and the Skills they reach as tools.
  const mcpClients = new McpClients({ table, audit, directory, skills, now });
  const mcp = new McpService({
    skills,
    executions: run.executions,
    approvals: run.approvals,
    clients: mcpClients,
  });
  return {
    ...run,
    auth,
    mcpClients,
    mcp,
    schedules,
    ...createPublicDomain(run, options),
  };
}

export type Core = ReturnType<typeof createCore>;
