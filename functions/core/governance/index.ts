/**
 * The public governance domain assembled on one table: tenant administration with host bindings
 * at the edge, customer ledgers, the order center, lifecycle scans and platform announcements.
 * `createCore` includes it (assembly/public-domain.ts); the lifecycle-scan handler builds it on the run
 * core alone (it needs no sign-in).
 */
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { type Environment, platformHostsFromEnv } from '../env.ts';
import type { Executions } from '../executions/executions.ts';
import { Announcements } from '../foundation/announcements.ts';
import type { HostDirectory } from '../tenancy/hosts.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { PlatformAnnouncements } from './announcements.ts';
import { Customers } from './customers.ts';
import { type DnsVerifier, LoopbackVerifier, nodeDnsLookup, RoutingEndpointVerifier } from './dns.ts';
import { BindingOnlyHostEdge, type HostEdge } from './edge.ts';
import { createScanRegistry, Lifecycle } from './lifecycle.ts';
import { HostOnboarding } from './onboarding.ts';
import { Orders } from './orders.ts';
import { TenantAdmin } from './tenants.ts';

export interface GovernanceOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  /** This process's host cache, invalidated on every binding or status change. */
  readonly hosts?: HostDirectory;
  /**
   * Where hosts are provisioned. The functions that provision hosts pass `hostEdgeFromEnv()`
   * (functions/clients/cloudfront-edge.ts: CloudFront when configured); the others never provision, and keep the
   * CloudFront client out of their bundles.
   * @default the binding alone
   */
  readonly hostEdge?: HostEdge;
  /**
   * Whether a host's DNS points at the platform.
   * @default the routing-endpoint check through the system's DNS servers with CloudFront, the loopback check otherwise
   */
  readonly dnsVerifier?: DnsVerifier;
  /**
   * The platform's own hosts, bound (and onboarded) by the host-onboarding scan.
   * @default from `env`'s EXECFABRIC_ADMIN_HOSTS, EXECFABRIC_FREE_HOSTS and EXECFABRIC_DOCS_HOSTS
   */
  readonly platformHosts?: {
    readonly governance: readonly string[];
    readonly free: readonly string[];
    readonly docs?: readonly string[];
  };
  /** The executions, for the `stale-executions` scan. @default none: that scan is unavailable */
  readonly executions?: Executions;
  /** The function's configuration, where the platform hosts are read from. @default {} (none) */
  readonly env?: Environment;
  readonly now?: () => Date;
}

/**
 * What the lifecycle scans run on: the tenants with their hosts' onboarding, the customers, the
 * tenants' announcements and the scan registry. The lifecycle-scan function builds this alone, so
 * that the order center and tenant administration stay out of its bundle (bench/RESULTS.md).
 */
export function createGovernanceScans(options: GovernanceOptions) {
  const { table, audit } = options;
  const now = options.now ?? (() => new Date());
  const edge = options.hostEdge ?? new BindingOnlyHostEdge();
  const onboarding = new HostOnboarding({
    table,
    edge,
    verifier: options.dnsVerifier ?? defaultVerifier(edge),
    now,
    ...(options.hosts === undefined ? {} : { hosts: options.hosts }),
  });
  const registry = new TenantRegistry({
    table,
    onboarding,
    now,
    ...(options.hosts === undefined ? {} : { hosts: options.hosts }),
  });
  const platformHosts = options.platformHosts ?? platformHostsFromEnv(options.env ?? {});
  const announcements = new Announcements({ table, audit, now });
  const customers = new Customers({ table, audit, now });
  const lifecycle = new Lifecycle({ table, tenants: registry, customers, announcements, audit });
  return {
    now,
    edge,
    onboarding,
    registry,
    platformHosts,
    customers,
    tenantAnnouncements: announcements,
    lifecycle,
    scans: createScanRegistry(lifecycle, {
      hostOnboarding: { onboarding, registry, platformHosts },
      ...(options.executions === undefined
        ? {}
        : { staleSweep: { table, audit, executions: options.executions } }),
    }),
  };
}

export function createGovernance(options: GovernanceOptions) {
  const { table, audit } = options;
  const { now, tenantAnnouncements, ...scans } = createGovernanceScans(options);
  const { registry, customers, platformHosts } = scans;
  return {
    ...scans,
    tenants: new TenantAdmin({ registry, customers, audit, freeHosts: platformHosts.free, now }),
    orders: new Orders({ table, tenants: registry, customers, audit, now }),
    announcements: new PlatformAnnouncements({
      table,
      tenants: registry,
      announcements: tenantAnnouncements,
      audit,
      now,
    }),
  };
}

export type Governance = ReturnType<typeof createGovernance>;

/** The routing-endpoint check where hosts point at CloudFront; the loopback check on one machine. */
function defaultVerifier(edge: HostEdge): DnsVerifier {
  return edge instanceof BindingOnlyHostEdge
    ? new LoopbackVerifier()
    : new RoutingEndpointVerifier({ lookup: nodeDnsLookup(), target: edge.target });
}

export type { HostEdge } from './edge.ts';
