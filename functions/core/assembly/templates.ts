/**
 * Platform templates on a catalog core: authored in the public domain, installed by tenants (and
 * into each new personal space at sign-up). The public domain (public-domain.ts), the tenant core
 * (tenant.ts) and the free entry (free-entry.ts) build them this way; only the public domain's list
 * tenants, to distribute a template to every one and to say where it stands with them.
 */
import type { ScriptChecker } from '../assets/checker.ts';
import { Templates } from '../templates/templates.ts';
import type { TenantRegistry } from '../tenancy/tenants.ts';
import { type CatalogCore, noChecker } from './catalog.ts';

export function createTemplates(
  catalog: Pick<CatalogCore, 'table' | 'audit' | 'scripts' | 'skills' | 'now'>,
  /** Where the templates are distributed from (governance): the registry that lists every tenant. */
  tenants: TenantRegistry | undefined,
  checker?: ScriptChecker,
): Templates {
  return new Templates({
    table: catalog.table,
    audit: catalog.audit,
    scripts: catalog.scripts,
    skills: catalog.skills,
    checker: checker ?? noChecker,
    ...(tenants === undefined ? {} : { tenants: (limit, cursor) => tenants.list(limit, cursor) }),
    now: catalog.now,
  });
}
