/**
 * The public governance domain assembled on one table: tenant administration with host bindings
 * at the edge, customer ledgers, the order center, lifecycle scans and platform announcements.
 * `createCore` includes it; the lifecycle-scan handler builds it alone (it needs no sign-in).
 */
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import type { Executions } from '../executions/executions.ts';
import { Announcements } from '../foundation/announcements.ts';
import type { HostDirectory } from '../tenancy/hosts.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { PlatformAnnouncements } from './announcements.ts';
import { Customers } from './customers.ts';
import { type HostEdge, hostEdgeFromEnv } from './edge.ts';
import { createScanRegistry, Lifecycle } from './lifecycle.ts';
import { Orders } from './orders.ts';
import { TenantAdmin } from './tenants.ts';

export interface GovernanceOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  /** This process's host cache, invalidated on every binding or status change. */
  readonly hosts?: HostDirectory;
  /** Where tenant hosts are attached. @default hostEdgeFromEnv(): CloudFront when configured */
  readonly hostEdge?: HostEdge;
  /** The executions, for the `stale-executions` scan. @default none: that scan is unavailable */
  readonly executions?: Executions;
  readonly now?: () => Date;
}

export function createGovernance(options: GovernanceOptions) {
  const { table, audit } = options;
  const now = options.now ?? (() => new Date());
  const edge = options.hostEdge ?? hostEdgeFromEnv();
  const registry = new TenantRegistry({
    table,
    edge,
    now,
    ...(options.hosts === undefined ? {} : { hosts: options.hosts }),
  });
  const announcements = new Announcements({ table, audit, now });
  const customers = new Customers({ table, audit, now });
  const lifecycle = new Lifecycle({ table, tenants: registry, customers, announcements, audit });
  return {
    edge,
    registry,
    tenants: new TenantAdmin({ registry, customers, audit }),
    customers,
    orders: new Orders({ table, tenants: registry, customers, audit, now }),
    lifecycle,
    scans: createScanRegistry(
      lifecycle,
      options.executions === undefined
        ? {}
        : { staleSweep: { table, audit, executions: options.executions } },
    ),
    announcements: new PlatformAnnouncements({ table, tenants: registry, announcements, audit, now }),
  };
}

export type Governance = ReturnType<typeof createGovernance>;

export type { HostEdge } from './edge.ts';
