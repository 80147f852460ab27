/**
 * The permission catalogue, the built-in roles of each domain kind, and the navigation menus the
 * fronts show. Built-in roles are fixed here; custom roles (stored per tenant) hold any subset of
 * the tenant permissions.
 */

import type { PublicPermission, TenantPermission } from '../../contract/permissions.ts';
import { TENANT_PERMISSIONS } from '../../contract/permissions.ts';

export {
  type Permission,
  PUBLIC_PERMISSIONS,
  type PublicPermission,
  TENANT_PERMISSIONS,
  type TenantPermission,
} from '../../contract/permissions.ts';

export const TENANT_BUILT_IN_ROLES: Readonly<Record<string, readonly TenantPermission[]>> = {
  admin: TENANT_PERMISSIONS,
  operator: [
    'skill:read',
    'skill:run',
    'execution:read',
    'approval:decide',
    'parameter:read',
    'token:create',
    'mcp:connect',
    'schedule:read',
    'schedule:create',
    'data:read',
  ],
  viewer: ['skill:read', 'execution:read', 'parameter:read', 'schedule:read'],
};

export const PUBLIC_BUILT_IN_ROLES: Readonly<Record<string, readonly PublicPermission[]>> = {
  billing: ['tenant:read', 'customer:manage', 'order:manage', 'token:create', 'lead:read'],
  auditor: ['tenant:read', 'audit:read'],
  'tenant-console': ['console:read'],
};

export interface MenuEntry {
  readonly id: string;
  readonly label: string;
  /** Shown when the caller holds any of these. Empty: shown to every signed-in user. */
  readonly anyOf: readonly string[];
}

export const TENANT_MENUS: readonly MenuEntry[] = [
  { id: 'home', label: 'Home', anyOf: [] },
  { id: 'skills', label: 'Skills', anyOf: ['skill:read'] },
  { id: 'executions', label: 'Runs', anyOf: ['execution:read'] },
  { id: 'approvals', label: 'Approvals', anyOf: ['approval:decide'] },
  { id: 'announcements', label: 'Announcements', anyOf: [] },
  { id: 'http-resources', label: 'HTTP resources', anyOf: ['skill:manage'] },
  { id: 'assets', label: 'Scripts', anyOf: ['asset:manage'] },
  { id: 'skill-admin', label: 'Manage skills', anyOf: ['skill:manage'] },
  { id: 'users', label: 'Users & roles', anyOf: ['user:manage', 'role:manage'] },
  { id: 'parameters', label: 'Parameters', anyOf: ['parameter:manage'] },
  { id: 'audit', label: 'Audit', anyOf: ['audit:read'] },
  { id: 'tokens', label: 'Access tokens', anyOf: ['token:create'] },
  { id: 'mcp-clients', label: 'AI clients', anyOf: ['mcp:connect'] },
  { id: 'agents', label: 'Agents', anyOf: ['agent:manage'] },
  { id: 'schedules', label: 'Schedules', anyOf: ['schedule:read', 'schedule:create', 'schedule:manage'] },
  { id: 'data', label: 'Data', anyOf: ['data:read', 'data:manage'] },
];

export const PUBLIC_MENUS: readonly MenuEntry[] = [
  { id: 'tenants', label: 'Tenants', anyOf: ['tenant:read'] },
  { id: 'customers', label: 'Customers & orders', anyOf: ['customer:manage', 'order:manage'] },
  { id: 'free', label: 'Leads and free spaces', anyOf: ['lead:read', 'lead:manage'] },
  { id: 'lifecycle', label: 'Lifecycle', anyOf: ['lifecycle:run'] },
  { id: 'http-resources', label: 'HTTP resources', anyOf: ['http-resource:manage'] },
  { id: 'templates', label: 'Templates', anyOf: ['template:manage'] },
  { id: 'announcements', label: 'Announcements', anyOf: ['announcement:manage'] },
  { id: 'audit', label: 'Platform audit', anyOf: ['audit:read'] },
  { id: 'users', label: 'Operators', anyOf: ['user:manage'] },
  { id: 'console', label: 'My tenants', anyOf: ['console:read'] },
];

export function menusFor(menus: readonly MenuEntry[], permissions: ReadonlySet<string>): MenuEntry[] {
  return menus.filter((menu) => menu.anyOf.length === 0 || menu.anyOf.some((p) => permissions.has(p)));
}
