/**
 * The domain context every request is bound to before anything else happens: the public governance
 * domain or exactly one tenant. Repositories take this, never a raw tenant id from input.
 */
import type { PublicSurface, TenantStatus } from '../../contract/tenancy.ts';

export {
  PUBLIC_SURFACES,
  type PublicSurface,
  TENANT_STATUSES,
  type TenantStatus,
} from '../../contract/tenancy.ts';

export interface TenantSummary {
  readonly id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly plan: string;
  readonly expiresAt: string;
}

export type DomainContext =
  | { readonly kind: 'public'; readonly host: string; readonly surface: PublicSurface }
  | { readonly kind: 'tenant'; readonly host: string; readonly tenant: TenantSummary };

export type TenantContext = Extract<DomainContext, { kind: 'tenant' }>;
export type PublicContext = Extract<DomainContext, { kind: 'public' }>;

/** Tenant ids are lowercase slugs: they appear in keys, host names and URLs. */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

/** Statuses whose users may run things. Suspended and archived tenants can only read. */
export function tenantMayExecute(status: TenantStatus): boolean {
  return status === 'trial' || status === 'active' || status === 'grace';
}
