/**
 * The minimal cross-tenant console of whitelisted tenant admins, on the public host: read-only
 * summaries of exactly the tenants on their whitelist, nothing of governance.
 */
import * as z from 'zod';
import { NotFoundError, unlessNotFound } from '../../core/errors.ts';
import type { ApiCore } from '../../core/platform.ts';
import type { Tenant } from '../../core/tenancy/tenants.ts';
import { list, tenantSummarySchema } from '../responses.ts';
import { type Route, route } from '../router.ts';

const consoleTenantSchema = tenantSummarySchema
  .extend({ hosts: z.array(z.string()) })
  .meta({ id: 'ConsoleTenant' });

function summary(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    plan: tenant.plan,
    expiresAt: tenant.expiresAt,
    hosts: tenant.hosts,
  };
}

export function consoleRoutes(core: ApiCore): Route[] {
  async function whitelist(
    domain: Parameters<ApiCore['directory']['getUser']>[0],
    username: string,
  ): Promise<string[]> {
    const user = await core.directory.getUser(domain, username);
    return [...(user?.consoleTenants ?? [])];
  }
  return [
    route({
      method: 'GET',
      path: '/api/console/tenants',
      serves: 'governance',
      auth: 'caller',
      summary: "Tenants on the caller's console whitelist",
      responses: { 200: list(consoleTenantSchema) },
      permission: 'console:read',
      handle: async ({ domain, caller }) => {
        const tenants: ReturnType<typeof summary>[] = [];
        for (const id of await whitelist(domain, caller.username)) {
          const tenant = await unlessNotFound(core.tenants.get(id));
          if (tenant !== null) tenants.push(summary(tenant));
        }
        return { status: 200, body: { items: tenants } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/console/tenants/{id}',
      serves: 'governance',
      auth: 'caller',
      summary: "One tenant on the caller's console whitelist",
      responses: { 200: consoleTenantSchema },
      permission: 'console:read',
      handle: async ({ domain, caller, request }) => {
        const id = request.params.id ?? '';
        if (!(await whitelist(domain, caller.username)).includes(id))
          throw new NotFoundError(`Tenant ${id} not found`);
        return { status: 200, body: summary(await core.tenants.get(id)) };
      },
    }),
  ];
}
