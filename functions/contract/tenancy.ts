/** A tenant's lifecycle statuses: only trial, active and grace tenants run things. */
export const TENANT_STATUSES = ['trial', 'active', 'grace', 'suspended', 'archived'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/**
 * The `expiresAt` of a free personal space: it has no paid period and never expires (no lifecycle
 * scan is ever due for it). Clients show it as "never", not as a date.
 */
export const PERSONAL_SPACE_EXPIRY = '9999-12-31T00:00:00.000Z';

/** The public domain's surfaces: the governance console, the free entry, the docs site. */
export const PUBLIC_SURFACES = ['governance', 'free', 'docs'] as const;
export type PublicSurface = (typeof PUBLIC_SURFACES)[number];
