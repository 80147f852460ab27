/**
 * Platform templates on a catalog core: authored in the public domain, installed by tenants (and
 * into each new personal space at sign-up). The public domain (public-domain.ts) and the free entry
 * (free-entry.ts) build them this way.
 */
import type { ScriptChecker } from '../assets/checker.ts';
import { Templates } from '../templates/templates.ts';
import type { TenantRegistry } from '../tenancy/tenants.ts';
import { type CatalogCore, noChecker } from './catalog.ts';

export function createTemplates(
  catalog: Pick<CatalogCore, 'table' | 'audit' | 'scripts' | 'skills' | 'now'>,
  tenants: TenantRegistry,
  checker?: ScriptChecker,
): Templates {
  return new Templates({
    table: catalog.table,
    audit: catalog.audit,
    scripts: catalog.scripts,
    skills: catalog.skills,
    checker: checker ?? noChecker,
    tenantIds: async function* () {
      let cursor: string | undefined;
      do {
        const page = await tenants.list(100, cursor);
        for (const tenant of page.items) yield tenant.id;
        cursor = page.cursor;
      } while (cursor !== undefined);
    },
    now: catalog.now,
  });
}
