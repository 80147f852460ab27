/**
 * The free entry's services on one table: sign-up with its leads, offered templates and handoffs,
 * on the catalog core (a new space's templates are installed as its Skills and scripts) and a
 * tenant registry without onboarding (personal hosts are served by the free domain's wildcard).
 * No runs, approvals, agents, governance or personal-space administration, and no credential store:
 * the free entry's function carries none of their code (docs/decisions/lambda-bundles.md). That
 * function builds it on the first request for the free entry's routes, on the hosts it built at a
 * cold start (free-api/handler.ts).
 */
import type { Table } from '../db.ts';
import { type Environment, platformHostsFromEnv } from '../env.ts';
import { createFreeEntry } from '../free/index.ts';
import type { SignupLimits } from '../free/signup-limits.ts';
import { NO_CREDENTIALS } from '../secrets/store.ts';
import type { HostDirectory } from '../tenancy/hosts.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { createCatalogCore } from './catalog.ts';
import { createTemplates } from './templates.ts';

export interface FreeEntryDomainOptions {
  readonly table: Table;
  /** The function's configuration (the platform's own hosts). @default {} */
  readonly env?: Environment;
  /** The hosts that resolve domains (the function's, built at a cold start). @default a new one on `table` */
  readonly hosts?: HostDirectory;
  /** @default DEFAULT_SIGNUP_LIMITS (free/signup-limits.ts) */
  readonly signupLimits?: SignupLimits;
  readonly now?: () => Date;
}

export function createFreeEntryDomain(options: FreeEntryDomainOptions) {
  const env = options.env ?? {};
  const catalog = createCatalogCore({
    table: options.table,
    env,
    // Sign-up reads no HTTP resource's credential: none is reachable from here, whatever `env` names.
    credentials: NO_CREDENTIALS,
    ...(options.hosts === undefined ? {} : { hosts: options.hosts }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const { table, audit, hosts, directory, now } = catalog;
  const registry = new TenantRegistry({ table, hosts, now });
  const free = createFreeEntry({
    table,
    audit,
    registry,
    directory,
    // Installed into the new space only: the free entry distributes nothing.
    templates: createTemplates(catalog, undefined),
    platformHosts: platformHostsFromEnv(env),
    now,
    ...(options.signupLimits === undefined ? {} : { limits: options.signupLimits }),
  });
  return { hosts, free };
}
