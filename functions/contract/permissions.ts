/**
 * The permission catalogue of each domain kind, as typed ids: a route, a role or a front that names a
 * permission names one of these, so a typo does not compile.
 */

export const TENANT_PERMISSIONS = [
  'skill:read',
  'skill:run',
  'skill:manage',
  'asset:manage',
  'execution:read',
  /** Cancel anyone's run (everyone may cancel their own). */
  'execution:cancel',
  'approval:decide',
  'user:manage',
  'role:manage',
  'audit:read',
  'announcement:manage',
  'parameter:read',
  'parameter:manage',
  'token:create',
  'template:install',
  /** Connect AI clients (MCP) that act for the user, narrowed to chosen Skills. */
  'mcp:connect',
  /** Create, rotate and revoke local agents (and their tokens). */
  'agent:manage',
  /** See every schedule and the tenant's scheduling log. */
  'schedule:read',
  /** Schedule Skills the user may run (runs are requested as the schedule's owner). */
  'schedule:create',
  /** Change, pause and delete anyone's schedules. */
  'schedule:manage',
  /** Browse and export the tenant's extension data. */
  'data:read',
  /** Define collections and edit their records. */
  'data:manage',
] as const;
export type TenantPermission = (typeof TENANT_PERMISSIONS)[number];

export const PUBLIC_PERMISSIONS = [
  'tenant:read',
  'tenant:manage',
  'customer:manage',
  'order:manage',
  'lifecycle:run',
  'http-resource:manage',
  'template:manage',
  'announcement:manage',
  'audit:read',
  'user:manage',
  'token:create',
  /** The minimal cross-tenant console of whitelisted tenant admins: read-only, their tenants only. */
  'console:read',
  /** See, filter and export the free edition's leads (personal spaces' sign-ups). */
  'lead:read',
  /** Disable and enable personal spaces, order their conversion into standard tenants. */
  'lead:manage',
] as const;
export type PublicPermission = (typeof PUBLIC_PERMISSIONS)[number];

/** Any permission of either domain kind. */
export type Permission = TenantPermission | PublicPermission;
