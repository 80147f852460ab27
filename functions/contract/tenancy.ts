/** A tenant's lifecycle statuses: only trial, active and grace tenants run things. */
export const TENANT_STATUSES = ['trial', 'active', 'grace', 'suspended', 'archived'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** The public domain's surfaces: the governance console, the free entry, the docs site. */
export const PUBLIC_SURFACES = ['governance', 'free', 'docs'] as const;
export type PublicSurface = (typeof PUBLIC_SURFACES)[number];
