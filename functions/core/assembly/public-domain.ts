/**
 * The public domain's services on a run core: the tenant registry, platform templates, governance
 * (tenants and hosts, customers, orders, lifecycle scans, platform announcements) and the free
 * personal edition. The API core (api.ts: the governance API, and `createCore` in platform.ts) builds
 * them this way.
 */
import type { ScriptChecker } from '../assets/checker.ts';
import type { Environment } from '../env.ts';
import { createFreeEdition } from '../free/index.ts';
import type { SignupLimits } from '../free/signup-limits.ts';
import { createGovernance, type HostEdge } from '../governance/index.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import type { RunCore } from './runs.ts';
import { createTemplates } from './templates.ts';

export interface PublicDomainOptions {
  /** The Python runtime's syntax check (installing a template checks its scripts). @default none */
  readonly checker?: ScriptChecker;
  /** Governance: where tenant hosts are attached. @default CloudFront when configured, else the binding alone */
  readonly hostEdge?: HostEdge;
  /** The free entry's sign-up limits. @default DEFAULT_SIGNUP_LIMITS (free/signup-limits.ts) */
  readonly signupLimits?: SignupLimits;
  /** The function's configuration (the platform's own hosts). @default {} */
  readonly env?: Environment;
}

export function createPublicDomain(run: RunCore, options: PublicDomainOptions) {
  const { table, audit, hosts, now } = run;
  const tenants = new TenantRegistry({ table, hosts, now });
  const templates = createTemplates(run, tenants, options.checker);
  // Governance (public domain): tenants and hosts, customers, orders, lifecycle scans, platform announcements.
  const governance = createGovernance({
    table,
    audit,
    hosts,
    executions: run.executions,
    env: options.env ?? {},
    now,
    ...(options.hostEdge === undefined ? {} : { hostEdge: options.hostEdge }),
  });
  // The free personal edition: sign-up, handoffs, leads, offered templates, personal spaces.
  const free = createFreeEdition({
    table,
    audit,
    hosts,
    registry: tenants,
    directory: run.directory,
    templates,
    governance,
    now,
    ...(options.signupLimits === undefined ? {} : { limits: options.signupLimits }),
  });
  return {
    tenants,
    // Platform templates: authored in the public domain, installed by tenants.
    templates,
    governance,
    free,
  };
}
