/** Where identity.ts's routes lie, for the tables that load it on first use (both consoles serve it). */
import type { RoutePath } from '../router.ts';

export const IDENTITY_PREFIXES: readonly RoutePath[] = [
  '/api/auth',
  '/api/me',
  '/api/menus',
  '/api/permissions',
  '/api/roles',
  '/api/tokens',
  '/api/users',
];
