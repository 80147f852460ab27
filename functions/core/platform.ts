/**
 * The whole core assembled for one process: every service built once on the same table and clients,
 * in one call at module scope. It is the API core (assembly/api.ts: the run core, sign-in and the
 * public domain's services) with tenant schedules and MCP (assembly/tenant.ts); the local platform's
 * own services and the tests build it. Each function builds only its part (see
 * docs/decisions/lambda-bundles.md): the governance API the API core, the tenant API the tenant core
 * (assembly/tenant.ts), the free entry its sign-up (assembly/free-entry.ts), the others the run core.
 */
import { type ApiCoreOptions, createApiCore } from './assembly/api.ts';
import type { SchedulesOptions } from './assembly/schedules.ts';
import { tenantServices } from './assembly/tenant.ts';

export { parseList } from './env.ts';

export interface CoreOptions extends ApiCoreOptions, SchedulesOptions {}

export type { ApiCore } from './assembly/api.ts';
export type { SignedInCore } from './assembly/signed-in.ts';
export type { TenantCore } from './assembly/tenant.ts';

/** Everything: the API core with tenant schedules and MCP. */
export function createCore(options: CoreOptions) {
  const api = createApiCore(options);
  return { ...api, ...tenantServices(api, options) };
}

export type Core = ReturnType<typeof createCore>;
