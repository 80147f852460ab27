/**
 * The free personal edition assembled on one table: the free entry (sign-up, the free entry's own
 * function; its one-time handoffs, redeemed by the tenant API; the leads and offered templates) and
 * the personal spaces as super-admins govern them (the governance API). `createCore` includes the
 * whole edition; the free entry's function builds the entry alone (assembly/free-entry.ts).
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
import type { SignupLimits } from './signup-limits.ts';
import { FreeSignups } from './signups.ts';
import { PersonalSpaces } from './spaces.ts';

export interface FreeEntryOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  /** A registry without onboarding (personal hosts are served by the free domain's wildcard). */
  readonly registry: TenantRegistry;
  readonly directory: Directory;
  readonly templates: Templates;
  /** The platform's own hosts, whose labels no handle may take. */
  readonly platformHosts: { readonly governance: readonly string[]; readonly free: readonly string[] };
  readonly limits?: SignupLimits;
  readonly now?: () => Date;
}

/** The free entry: sign-up with its leads, offered templates and one-time handoffs. */
export function createFreeEntry(options: FreeEntryOptions) {
  const { table, audit, now } = options;
  const leads = new Leads({ table, ...(now === undefined ? {} : { now }) });
  const offers = new FreeOffers({
    table,
    templates: options.templates,
    audit,
    ...(now === undefined ? {} : { now }),
  });
  const handoffs = new Handoffs({ table, ...(now === undefined ? {} : { now }) });
  const { platformHosts } = options;
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
  return { leads, offers, handoffs, signups };
}

export type FreeEntry = ReturnType<typeof createFreeEntry>;

export interface FreeEditionOptions extends Omit<FreeEntryOptions, 'platformHosts'> {
  readonly hosts: HostDirectory;
  readonly governance: Governance;
}

/** The whole edition: the entry, and personal spaces as governance sees them. */
export function createFreeEdition(options: FreeEditionOptions) {
  const { governance, now } = options;
  const entry = createFreeEntry({ ...options, platformHosts: governance.platformHosts });
  const spaces = new PersonalSpaces({
    leads: entry.leads,
    registry: governance.registry,
    tenants: governance.tenants,
    orders: governance.orders,
    directory: options.directory,
    hosts: options.hosts,
    audit: options.audit,
    isFreeDomainHost: (host) => governance.tenants.isFreeDomainHost(host),
    ...(now === undefined ? {} : { now }),
  });
  return { ...entry, spaces };
}

export type FreeEdition = ReturnType<typeof createFreeEdition>;
