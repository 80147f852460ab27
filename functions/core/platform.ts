/**
 * The governance core assembled for one process: every service built once on the same table and
 * clients, so handlers (and the local platform, and tests) construct it in one call at module scope.
 */
import { AuditLog } from './audit/chain.ts';
import type { Table } from './db.ts';
import { Announcements } from './foundation/announcements.ts';
import { Parameters } from './foundation/parameters.ts';
import { Auth } from './identity/auth.ts';
import { Directory } from './identity/directory.ts';
import { HostDirectory } from './tenancy/hosts.ts';
import { TenantRegistry } from './tenancy/tenants.ts';

export interface CoreOptions {
  readonly table: Table;
  readonly tokenSecret: string;
  /** Public-domain usernames configured as super-admins. @default [] */
  readonly superAdmins?: readonly string[];
  readonly now?: () => Date;
}

export function createCore(options: CoreOptions) {
  const { table } = options;
  const now = options.now ?? (() => new Date());
  const hosts = new HostDirectory({ table, now: () => now().getTime() });
  const audit = new AuditLog({ table, now });
  const directory = new Directory({ table, audit, superAdmins: options.superAdmins ?? [], now });
  const auth = new Auth({ table, directory, audit, tokenSecret: options.tokenSecret, now });
  return {
    table,
    now,
    hosts,
    audit,
    directory,
    auth,
    tenants: new TenantRegistry({ table, hosts, now }),
    parameters: new Parameters({ table, audit, now }),
    announcements: new Announcements({ table, audit, now }),
  };
}

export type Core = ReturnType<typeof createCore>;

/** `a, b ,c` → `['a', 'b', 'c']` (the configured super-admin list). */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
