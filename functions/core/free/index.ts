/**
 * The free personal edition assembled on one table: sign-up (the free entry's function), its
 * one-time handoffs (redeemed by the tenant API), the leads and offered templates, and the personal
 * spaces as super-admins govern them (the governance API). `createCore` includes it.
 */
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import type { Governance } from '../governance/index.ts';
import type { Directory } from '../identity/directory.ts';
import type { Templates } from '../templates/templates.ts';
import type { HostDirectory } from '../tenancy/hosts.ts';
import type { TenantRegistry } from '../tenancy/tenants.ts';
import { Handoffs } from './handoffs.ts';
import { Leads } from './leads.ts';
import { FreeOffers } from './offers.ts';
import { FreeSignups, type SignupLimits } from './signups.ts';
import { PersonalSpaces } from './spaces.ts';

export interface FreeEditionOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly hosts: HostDirectory;
  /** A registry without onboarding (personal hosts are served by the free domain's wildcard). */
  readonly registry: TenantRegistry;
  readonly directory: Directory;
  readonly templates: Templates;
  readonly governance: Governance;
  readonly limits?: SignupLimits;
  readonly now?: () => Date;
}

export function createFreeEdition(options: FreeEditionOptions) {
  const { table, audit, now } = options;
  const leads = new Leads({ table, ...(now === undefined ? {} : { now }) });
  const offers = new FreeOffers({
    table,
    templates: options.templates,
    audit,
    ...(now === undefined ? {} : { now }),
  });
  const handoffs = new Handoffs({ table, ...(now === undefined ? {} : { now }) });
  const { platformHosts } = options.governance;
  const signups = new FreeSignups({
    table,
    audit,
    registry: options.registry,
    directory: options.directory,
    templates: options.templates,
    offers,
    leads,
    handoffs,
    platformHosts: [...platformHosts.governance, ...platformHosts.free],
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(now === undefined ? {} : { now }),
  });
  const spaces = new PersonalSpaces({
    leads,
    registry: options.governance.registry,
    tenants: options.governance.tenants,
    orders: options.governance.orders,
    directory: options.directory,
    hosts: options.hosts,
    audit,
    isFreeDomainHost: (host) => options.governance.tenants.isFreeDomainHost(host),
    ...(now === undefined ? {} : { now }),
  });
  return { leads, offers, handoffs, signups, spaces };
}

export type FreeEdition = ReturnType<typeof createFreeEdition>;
