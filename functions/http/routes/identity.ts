/**
 * Sign-in, the caller, access tokens, users and roles: the same routes in every domain, except the
 * free entry, which is public but serves none of the public domain's accounts.
 */
import * as z from 'zod';
import type { SignInCore } from '../../core/assembly/sign-in.ts';
import type { Caller } from '../../core/identity/caller.ts';
import type { RemovedUser } from '../../core/identity/directory.ts';
import { menusFor } from '../../core/identity/permissions.ts';
import { pageSize } from '../../core/pagination.ts';
import { appearanceOf, type TenantAppearance } from '../../core/tenancy/branding.ts';
import type { DomainContext } from '../../core/tenancy/domain.ts';
import { planLimits } from '../../core/tenancy/plans.ts';
import {
  accessTokenSchema,
  appearanceSchema,
  list,
  menuSchema,
  page,
  pageQuery,
  roleSchema,
  userSchema,
} from '../responses.ts';
import { type Route, route } from '../router.ts';
import { assertFromThisOrigin, clearedSessionCookie, credentialOf, sessionCookie } from '../session.ts';
import { displayText } from './domains.ts';

const loginBody = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
  /**
   * `token` (the default) answers the session token, for the CLI and agents; `cookie` keeps it in an
   * HttpOnly cookie bound to this host (the fronts) and answers the CSRF token instead.
   */
  session: z.enum(['token', 'cookie']).optional(),
});

const newUserBody = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
  roles: z.array(z.string().max(64)).max(20).default([]),
  superAdmin: z.boolean().optional(),
  consoleTenants: z.array(z.string().max(64)).max(200).optional(),
});

const userChangeBody = z.strictObject({
  roles: z.array(z.string().max(64)).max(20).optional(),
  disabled: z.boolean().optional(),
  password: z.string().min(1).max(1024).optional(),
  consoleTenants: z.array(z.string().max(64)).max(200).optional(),
});

const passwordChangeBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
});

const roleBody = z.strictObject({
  name: z.string().min(1).max(64),
  permissions: z.array(z.string().max(64)).max(64),
  description: z.string().max(500).optional(),
});

const roleChangeBody = z.strictObject({
  permissions: z.array(z.string().max(64)).max(64),
  description: z.string().max(500).optional(),
});

const tokenBody = z.strictObject({
  name: displayText(100),
  scopes: z.array(z.string().max(64)).min(1).max(64),
  expiresInDays: z.number().int().min(1).max(365).default(90),
});

export const loginSchema = z
  .looseObject({
    token: z.string().optional().meta({ description: 'The session token (not with `session: "cookie"`)' }),
    expiresAt: z.string(),
    user: z.looseObject({ username: z.string(), roles: z.array(z.string()), superAdmin: z.boolean() }),
    session: z.literal('cookie').optional(),
    csrfToken: z
      .string()
      .optional()
      .meta({ description: 'With `session: "cookie"`: echo it in x-csrf-token' }),
  })
  .meta({ id: 'Login' });

const meSchema = z
  .looseObject({
    appearance: appearanceSchema.optional(),
    username: z.string(),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
    superAdmin: z.boolean(),
    via: z.enum(['session', 'personal-access-token', 'mcp-client', 'schedule']),
    csrfToken: z.string().optional(),
    menus: z.array(menuSchema),
    domain: z.union([
      z.object({ kind: z.literal('public') }),
      z.object({
        kind: z.literal('tenant'),
        tenant: z.object({
          id: z.string(),
          name: z.string(),
          status: z.string(),
          plan: z.string(),
          expiresAt: z.string(),
        }),
      }),
    ]),
  })
  .meta({ id: 'Me' });

const newAccessTokenSchema = accessTokenSchema
  .extend({ token: z.string().meta({ description: 'The token itself, shown this once' }) })
  .meta({ id: 'NewAccessToken' });

/** The tenant's appearance, or none in the public domain (its record, as shown: at most 5 s old). */
async function shownAppearance(
  core: SignInCore,
  domain: DomainContext,
): Promise<TenantAppearance | undefined> {
  return domain.kind === 'tenant' ? core.hosts.tenants.appearance(domain.tenant.id) : undefined;
}

/**
 * The menus a caller's permissions allow, in order; a dedicated delivery whose branding chooses its
 * menus shows only those (Home always); a plan without HTTP resources (the free edition's) shows no
 * HTTP resources page, where every request would be refused.
 */
function shownMenus(
  core: SignInCore,
  domain: DomainContext,
  permissions: ReadonlySet<string>,
  appearance: TenantAppearance | undefined,
) {
  const allowed = menusFor(core.directory.menus(domain), permissions);
  const chosen = appearance?.branding?.menus;
  // A tenant whose plan has no HTTP resources is not shown their page (the public domain always is).
  const httpAssets = domain.kind !== 'tenant' || planLimits(domain.tenant.plan).httpAssets;
  return allowed
    .filter((menu) => chosen === undefined || menu.id === 'home' || chosen.includes(menu.id))
    .filter((menu) => httpAssets || menu.id !== 'http-resources')
    .map(({ id, label }) => ({ id, label }));
}

/** What a domain's API does once a user is removed, past the sign-in core (tenant.ts: what they owned). */
export type AfterUserRemoved = (domain: DomainContext, removed: RemovedUser, by: Caller) => Promise<void>;

/**
 * `afterUserRemoved`: the tenant API's tidying of what a removed user owned (schedules, waiting runs,
 * AI clients; core/assembly/user-removal.ts). @default nothing more (the public domain has none of it)
 */
export function identityRoutes(core: SignInCore, afterUserRemoved?: AfterUserRemoved): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/auth/login',
      serves: 'consoles',
      auth: 'anonymous',
      summary: 'Sign in with a username and password',
      responses: { 200: loginSchema },
      body: loginBody,
      maxBodyBytes: 4096,
      handle: async ({ domain, request }) => {
        const cookie = request.body.session === 'cookie';
        // A cookie session is only ever started by this host's own page.
        if (cookie) assertFromThisOrigin(request.headers, domain);
        const result = await core.auth.login(domain, request.body.username, request.body.password, {
          requestId: request.requestId,
          sourceIp: request.sourceIp,
        });
        if (!cookie) return { status: 200, body: result };
        const { token, ...rest } = result;
        const caller = await core.auth.authenticateSessionToken(domain, token);
        return {
          status: 200,
          body: { ...rest, session: 'cookie', csrfToken: core.auth.csrfToken(caller) },
          cookies: [sessionCookie(token, new Date(result.expiresAt), core.now(), request.secure)],
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/auth/logout',
      serves: 'consoles',
      auth: 'caller',
      summary: 'End this session',
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        await core.auth.logout(domain, caller);
        return { status: 204, cookies: [clearedSessionCookie(request.secure)] };
      },
    }),
    route({
      // Ends every session of the caller in this domain: other browsers and devices too.
      method: 'POST',
      path: '/api/auth/logout-everywhere',
      serves: 'consoles',
      auth: 'caller',
      summary: "End every one of the caller's sessions in this domain",
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        await core.auth.logout(domain, caller, { everywhere: true });
        return { status: 204, cookies: [clearedSessionCookie(request.secure)] };
      },
    }),
    route({
      method: 'GET',
      path: '/api/me',
      serves: 'consoles',
      auth: 'caller',
      summary: 'The caller: roles, permissions, menus and domain',
      responses: { 200: meSchema },
      handle: async ({ domain, caller }) => {
        // The tenant as shown to its users: its record read at most 5 s ago (tenant-cache.ts).
        const shown = domain.kind === 'tenant' ? await core.hosts.tenants.shown(domain.tenant.id) : null;
        const tenant = shown?.summary ?? (domain.kind === 'tenant' ? domain.tenant : undefined);
        const appearance =
          domain.kind === 'public'
            ? undefined
            : shown === null
              ? { deliveryMode: 'shared' as const }
              : appearanceOf(shown);
        return {
          status: 200,
          body: {
            ...(appearance === undefined ? {} : { appearance }),
            username: caller.username,
            roles: caller.roles,
            permissions: [...caller.permissions].sort(),
            superAdmin: caller.superAdmin,
            via: caller.via,
            // What a write signed in by the session cookie must echo in `x-csrf-token`.
            ...(caller.via === 'session' ? { csrfToken: core.auth.csrfToken(caller) } : {}),
            menus: shownMenus(core, domain, caller.permissions, appearance),
            domain:
              tenant === undefined
                ? { kind: 'public' as const }
                : {
                    kind: 'tenant' as const,
                    tenant: {
                      id: tenant.id,
                      name: tenant.name,
                      status: tenant.status,
                      plan: tenant.plan,
                      expiresAt: tenant.expiresAt,
                    },
                  },
          },
        };
      },
    }),
    route({
      // The caller's own password: from a password session only (never a token), the current one
      // counted like a sign-in; every other session of the user ends, this one goes on (renewed).
      method: 'POST',
      path: '/api/me/password',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Change your own password (ends your other sessions)',
      description:
        'From a session signed in with a password only (a personal access token or an AI client is ' +
        'refused, 403). A wrong `currentPassword` is 403 `wrong-password` and counts toward the ' +
        'sign-in lock-out (429 past it); `newPassword` must meet the password policy (422). Every ' +
        'other session of the user ends; the answer is a new session, like sign-in: a new token, or ' +
        'for a browser a renewed cookie and its CSRF token.',
      responses: { 200: loginSchema },
      body: passwordChangeBody,
      maxBodyBytes: 4096,
      handle: async ({ domain, caller, request }) => {
        const result = await core.auth.changePassword(
          domain,
          caller,
          { current: request.body.currentPassword, next: request.body.newPassword },
          { requestId: request.requestId, sourceIp: request.sourceIp },
        );
        // A browser's session goes on in a new cookie (with its CSRF token); a bearer client gets the
        // new token, as from sign-in.
        if (credentialOf(request.headers, request.cookies)?.kind !== 'cookie') {
          return { status: 200, body: result };
        }
        const { token, ...rest } = result;
        const renewed = await core.auth.authenticateSessionToken(domain, token);
        return {
          status: 200,
          body: { ...rest, session: 'cookie', csrfToken: core.auth.csrfToken(renewed) },
          cookies: [sessionCookie(token, new Date(result.expiresAt), core.now(), request.secure)],
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/tokens',
      serves: 'consoles',
      auth: 'caller',
      summary: "The caller's personal access tokens",
      responses: { 200: list(accessTokenSchema) },
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: { items: await core.auth.listAccessTokens(domain, caller) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/tokens',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Create a personal access token (shown once)',
      responses: { 201: newAccessTokenSchema },
      permission: 'token:create',
      body: tokenBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.auth.createAccessToken(domain, caller, request.body),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/tokens/{id}',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Revoke a personal access token',
      responses: { 204: null },
      handle: async ({ domain, caller, request }) => {
        await core.auth.revokeAccessToken(domain, caller, request.params.id ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/users',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Users of this domain',
      query: z.object(pageQuery),
      responses: { 200: page(userSchema) },
      permission: 'user:manage',
      handle: async ({ domain, request }) => ({
        status: 200,
        body: await core.directory.listUsers(domain, pageSize(request.query.limit), request.query.cursor),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/users',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Create a user',
      responses: { 201: userSchema },
      permission: 'user:manage',
      body: newUserBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.directory.createUser(domain, request.body, caller),
      }),
    }),
    route({
      method: 'PATCH',
      path: '/api/users/{username}',
      serves: 'consoles',
      auth: 'caller',
      summary: "Change a user's roles, password or state",
      description:
        'A new `password` (10–256 characters) or `disabled: true` ends every session the user had. ' +
        'Nobody changes their own roles or disables themselves here, nor a user holding a ' +
        'permission they lack; one changes their own password with `POST /api/me/password`.',
      responses: { 200: userSchema },
      permission: 'user:manage',
      body: userChangeBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.directory.updateUser(domain, request.params.username ?? '', request.body, caller),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/users/{username}',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Remove a user',
      description:
        'For whoever may manage the user (holding at least everything they hold). Refused for ' +
        'oneself (403) and for the last active user who may manage users (409 `last-user-admin`); ' +
        'a name that is no user is 404. The user can no longer sign in; their sessions, personal ' +
        'access tokens and AI clients are refused from then on and revoked; in a tenant, runs they ' +
        'asked for that have not started are cancelled, runs nobody left could approve are cancelled, ' +
        'their schedules are paused, and their place in the plan’s count of users is given back. ' +
        'Their runs and audit entries stay under their name, which is never given to another user. ' +
        'A removal retried (204 again) finishes what an interrupted one left.',
      responses: { 204: null },
      permission: 'user:manage',
      handle: async ({ domain, caller, request }) => {
        const removed = await core.auth.removeUser(domain, caller, request.params.username ?? '');
        await afterUserRemoved?.(domain, removed, caller);
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/users/{username}/tokens',
      serves: 'consoles',
      auth: 'caller',
      summary: "A user's personal access tokens (never their secrets), for a user admin",
      responses: { 200: list(accessTokenSchema) },
      permission: 'user:manage',
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: {
          items: await core.auth.listAccessTokensOf(domain, caller, request.params.username ?? ''),
        },
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/users/{username}/tokens/{id}',
      serves: 'consoles',
      auth: 'caller',
      summary: "Revoke one of a user's personal access tokens",
      responses: { 204: null },
      permission: 'user:manage',
      handle: async ({ domain, caller, request }) => {
        await core.auth.revokeAccessTokenOf(
          domain,
          caller,
          request.params.username ?? '',
          request.params.id ?? '',
        );
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/api/roles',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Roles of this domain',
      responses: { 200: list(roleSchema) },
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: await core.directory.listRoles(domain) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/roles',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Create a custom role',
      responses: { 201: roleSchema },
      permission: 'role:manage',
      body: roleBody,
      handle: async ({ domain, caller, request }) => ({
        status: 201,
        body: await core.directory.putRole(domain, request.body, caller, 'create'),
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/roles/{name}',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Change a custom role',
      responses: { 200: roleSchema },
      permission: 'role:manage',
      body: roleChangeBody,
      handle: async ({ domain, caller, request }) => ({
        status: 200,
        body: await core.directory.putRole(
          domain,
          { name: request.params.name ?? '', ...request.body },
          caller,
          'update',
        ),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/roles/{name}',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Delete a custom role',
      responses: { 204: null },
      permission: 'role:manage',
      handle: async ({ domain, caller, request }) => {
        await core.directory.deleteRole(domain, request.params.name ?? '', caller);
        return { status: 204 };
      },
    }),
    route({
      // The permissions a role of this domain may hold (for the custom-role form).
      method: 'GET',
      path: '/api/permissions',
      serves: 'consoles',
      auth: 'caller',
      summary: 'Permissions a role of this domain may hold',
      responses: { 200: list(z.string()) },
      handle: async ({ domain }) => ({
        status: 200,
        body: { items: [...core.directory.allPermissions(domain)] },
      }),
    }),
    route({
      method: 'GET',
      path: '/api/menus',
      serves: 'consoles',
      auth: 'caller',
      summary: "The menus the caller's permissions show",
      responses: { 200: list(menuSchema) },
      handle: async ({ domain, caller }) => ({
        status: 200,
        body: { items: shownMenus(core, domain, caller.permissions, await shownAppearance(core, domain)) },
      }),
    }),
  ];
}
