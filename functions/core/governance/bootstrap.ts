/**
 * The first super-admin of a fresh deployment. In AWS nothing seeds the public domain, so an operator
 * with the right to invoke the lifecycle-scan function asks it once for `{ "bootstrap": { "username" } }`:
 * the user is created with the explicit super-admin marker and a generated password, returned in
 * that one answer only (never logged, never stored but as its scrypt hash). A marker item claimed
 * first with a conditional write makes it once per deployment, whoever calls and however often:
 * further super-admins are made from the console.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import type { Directory } from '../identity/directory.ts';
import { recordPublic, SYSTEM } from './acting.ts';
import { PUBLIC_DOMAIN } from './keys.ts';
import { PlatformStateRepository } from './platform-state-repository.ts';

export interface Bootstrapped {
  readonly username: string;
  /** Shown once: sign in on a console host with it, then change it. */
  readonly password: string;
}

export async function bootstrapSuperAdmin(
  deps: {
    readonly table: Table;
    readonly directory: Directory;
    readonly audit: AuditLog;
    readonly now?: () => Date;
  },
  username: string,
): Promise<Bootstrapped> {
  const now = deps.now ?? (() => new Date());
  if (!(await new PlatformStateRepository(deps.table).claimBootstrap(username, now().toISOString()))) {
    throw new ConflictError(
      'This deployment has its first super-admin already: sign in on a console host and add others there',
    );
  }
  const password = randomBytes(18).toString('base64url');
  await deps.directory.createUser(PUBLIC_DOMAIN, { username, password, roles: [], superAdmin: true });
  await recordPublic(deps.audit, SYSTEM, 'platform.bootstrapped', `user:${username}`, { superAdmin: true });
  return { username, password };
}
