/**
 * Handles of personal spaces: the one name a person picks at sign-up, which becomes their host
 * (`<handle>.<free host>`), their tenant id (`p-<handle>`) and their first username.
 *
 * Strict on purpose: 3–30 of a-z, 0-9 and single hyphens, starting with a letter and not ending
 * with a hyphen — one DNS label, no `xn--` (punycode lookalikes), no uppercase (so uniqueness is
 * case-insensitive by construction: input is lower-cased before anything else), no dots (a handle
 * can never reach another level of the free domain). Platform names are reserved, and so is any
 * label of the platform's own hosts under the free domain.
 */
import { ValidationError } from '../errors.ts';

export const HANDLE_MIN_LENGTH = 3;
export const HANDLE_MAX_LENGTH = 30;
const HANDLE_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** The tenant id prefix of personal spaces; no other tenant may use it. */
export const PERSONAL_TENANT_PREFIX = 'p-';

/**
 * Names a person may not take: the platform's own surfaces and words people trust (support,
 * billing, security), mail and DNS conventions, and the product's name.
 */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  'abuse',
  'account',
  'accounts',
  'admin',
  'administrator',
  'api',
  'app',
  'apps',
  'assets',
  'auth',
  'billing',
  'blog',
  'cdn',
  'console',
  'dashboard',
  'dev',
  'dns',
  'docs',
  'edge',
  'execfabric',
  'free',
  'ftp',
  'governance',
  'help',
  'hostmaster',
  'imap',
  'internal',
  'localhost',
  'login',
  'logout',
  'mail',
  'mcp',
  'media',
  'mx',
  'ns1',
  'ns2',
  'oauth',
  'official',
  'platform',
  'pop',
  'postmaster',
  'public',
  'register',
  'root',
  'security',
  'signin',
  'signup',
  'smtp',
  'sso',
  'staff',
  'staging',
  'static',
  'status',
  'support',
  'system',
  'team',
  'tenant',
  'tenants',
  'test',
  'webmaster',
  'www',
]);

/** Why a handle is refused, in words for the sign-up form (null: acceptable). */
export function handleProblem(handle: string): string | null {
  if (handle.length < HANDLE_MIN_LENGTH || handle.length > HANDLE_MAX_LENGTH) {
    return `${HANDLE_MIN_LENGTH} to ${HANDLE_MAX_LENGTH} characters`;
  }
  if (!HANDLE_PATTERN.test(handle)) {
    return 'letters a-z, digits and single hyphens, starting with a letter and not ending with a hyphen';
  }
  if (RESERVED_HANDLES.has(handle)) return `“${handle}” is reserved`;
  return null;
}

/** The handle as typed, lower-cased and checked; a ValidationError on `path` when it is refused. */
export function parseHandle(raw: string, path = 'handle'): string {
  const handle = raw.trim().toLowerCase();
  const problem = handleProblem(handle);
  if (problem !== null) throw new ValidationError('This handle cannot be used', [{ path, message: problem }]);
  return handle;
}

export function personalTenantId(handle: string): string {
  return `${PERSONAL_TENANT_PREFIX}${handle}`;
}

export function isPersonalTenantId(tenantId: string): boolean {
  return tenantId.startsWith(PERSONAL_TENANT_PREFIX);
}

/** `<handle>.<free host>`. */
export function personalHost(handle: string, freeHost: string): string {
  return `${handle}.${freeHost.toLowerCase()}`;
}

/**
 * The labels right under a free host that the platform's own hosts use (`admin.free.example.com`
 * makes `admin` unavailable there), so no personal space ever shadows a platform host.
 */
export function platformLabelsUnder(freeHost: string, platformHosts: readonly string[]): Set<string> {
  const suffix = `.${freeHost.toLowerCase()}`;
  const labels = new Set<string>();
  for (const host of platformHosts) {
    const name = host.toLowerCase();
    if (name.endsWith(suffix)) labels.add(name.slice(0, -suffix.length).split('.').pop() ?? '');
  }
  return labels;
}
