/**
 * Who a governance action is done by, and the one way governance writes its audit: every action
 * lands in the public domain's chain, with facts only (never secret values).
 */
import { randomBytes } from 'node:crypto';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import { SYSTEM_ACTOR } from '../audit/chain.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { PUBLIC_DOMAIN } from './keys.ts';

export interface Acting {
  readonly actor: AuditActor;
  /** The request that caused it, for correlating the audit entry. */
  readonly requestId?: string;
}

/** Scans and other scheduled work. */
export const SYSTEM: Acting = { actor: SYSTEM_ACTOR };

/** The domain a platform job addresses a tenant in (to post it an announcement, …): its first host. */
export function tenantDomain(tenant: Tenant): TenantContext {
  return {
    kind: 'tenant',
    host: tenant.hosts[0] ?? tenant.id,
    tenant: {
      id: tenant.id,
      name: tenant.name,
      status: tenant.status,
      plan: tenant.plan,
      expiresAt: tenant.expiresAt,
    },
  };
}

export async function recordPublic(
  audit: AuditLog,
  by: Acting,
  action: string,
  target: string,
  details: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  await audit.record(PUBLIC_DOMAIN, {
    actor: by.actor,
    action,
    target,
    details,
    ...(by.requestId === undefined ? {} : { requestId: by.requestId }),
  });
}

/**
 * A new id that sorts by creation time (newest last), so a listing read backwards is newest first:
 * `<prefix>_<ms since epoch, base36, fixed width><random>`.
 */
export function timeOrderedId(prefix: string, now: Date): string {
  return `${prefix}_${now.getTime().toString(36).padStart(10, '0')}${randomBytes(5).toString('hex')}`;
}
