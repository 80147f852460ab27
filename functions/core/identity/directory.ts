/**
 * Users and roles of a domain. Built-in roles are fixed (permissions.ts); custom roles are stored
 * per domain. Nobody can grant what they do not hold: a role assignment or a custom role is refused
 * when it carries a permission the acting caller lacks, and nobody can change (re-password,
 * disable, re-role) a user, or change or delete a custom role, holding a permission the acting
 * caller lacks. A role still held by a user is not deleted. Super-admin status exists only in the
 * public domain and only as an explicit marker or a configured username — never from a name, an id
 * or the order of creation.
 *
 * A tenant's users are counted against its plan (`users`, tenancy/plans.ts): a place is taken by
 * username, in one conditional write, before the user is written, and given back if the write fails
 * — so concurrent creations never pass the plan's limit together. Disabled users keep their place
 * (they can be enabled again at any time, as a paused schedule can be resumed); a removed user, or a
 * failed creation, gives it back.
 *
 * Removing a user (`removeUser`) keeps their item, marked removed: their name is never made again in
 * the domain, so what names them (runs, audit, votes, schedules) stays theirs and no later user of
 * that name inherits it (docs/decisions/identity.md, *Removing a user*).
 */

import type { Permission } from '../../contract/permissions.ts';
import type { Role } from '../../contract/responses.ts';
import { counted } from '../../contract/wording.ts';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import {
  ConflictError,
  ForbiddenError,
  LastUserAdminError,
  NotFoundError,
  ValidationError,
} from '../errors.ts';
import { domainPk } from '../keys.ts';
import type { Page } from '../pagination.ts';
import type { DomainContext, TenantContext } from '../tenancy/domain.ts';
import { KeptQuota, type QuotaReservation } from '../tenancy/quotas.ts';
import type { Caller } from './caller.ts';
import {
  DirectoryRepository,
  NameTakenError,
  type StoredRole,
  userFromItem,
} from './directory-repository.ts';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';
import {
  PUBLIC_BUILT_IN_ROLES,
  PUBLIC_MENUS,
  PUBLIC_PERMISSIONS,
  TENANT_BUILT_IN_ROLES,
  TENANT_MENUS,
  TENANT_PERMISSIONS,
} from './permissions.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Role };

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,62}$/;
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9-]{1,39}$/;

export interface User {
  readonly username: string;
  readonly roles: readonly string[];
  /** The explicit super-admin marker; only ever true in the public domain. */
  readonly superAdmin: boolean;
  readonly disabled: boolean;
  /** Public domain only: tenants a whitelisted tenant admin may see in the minimal console. */
  readonly consoleTenants: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StoredUser extends User {
  readonly passwordHash: string;
  /**
   * Sessions created before this instant (a password reset, a disabling, an "end all sessions") are
   * over, and so are access tokens and AI clients created at or before it.
   */
  readonly sessionsValidAfter: string | null;
  /** When the password last changed (a reset or the user's own change); null: never since created. */
  readonly passwordChangedAt: string | null;
}

export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly roles: readonly string[];
  readonly superAdmin?: boolean;
  readonly consoleTenants?: readonly string[];
}

export interface UserChange {
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly password?: string;
  readonly consoleTenants?: readonly string[];
}

export interface DirectoryOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  /** Public-domain usernames treated as super-admins (explicit configuration). @default [] */
  readonly superAdmins?: readonly string[];
  readonly now?: () => Date;
  /** How long custom role definitions are cached per process. @default 5000 */
  readonly roleCacheMs?: number;
}

export { userFromItem };

/** What a removal did: the user as they were, and whether this call removed them (false: a retry). */
export interface RemovedUser {
  readonly username: string;
  readonly roles: readonly string[];
  readonly removedAt: string;
  readonly now: boolean;
}

/** The permission that makes a user admin: the domain always keeps one active user holding it. */
const USER_ADMIN_PERMISSION: Permission = 'user:manage';

export function publicView(user: StoredUser | User): User {
  return {
    username: user.username,
    roles: user.roles,
    superAdmin: user.superAdmin,
    disabled: user.disabled,
    consoleTenants: user.consoleTenants,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

/**
 * Whether a credential of `user` made at `createdAt` (an access token, an AI client) was ended by a
 * password change, a disabling or an "end all sessions" since: made at or before the user's
 * `sessionsValidAfter` (an unreadable instant counts as ended). Re-enabling the user revives none.
 */
export function endedBySessionsReset(
  user: Pick<StoredUser, 'sessionsValidAfter'>,
  createdAt: string,
): boolean {
  return user.sessionsValidAfter !== null && !(Date.parse(createdAt) > Date.parse(user.sessionsValidAfter));
}

/**
 * Whether a session of `user` begun at `createdAt` was ended by a password change (not only by a
 * later disabling or "end all sessions"): the password changed after it began. The change moves
 * `sessionsValidAfter` in the same write; a user disabled now is not said to be anything.
 */
export function endedByPasswordChange(
  user: Pick<StoredUser, 'passwordChangedAt' | 'disabled'>,
  createdAt: string,
): boolean {
  return (
    !user.disabled &&
    user.passwordChangedAt !== null &&
    Date.parse(createdAt) < Date.parse(user.passwordChangedAt)
  );
}

/** Who a password is for, so it does not give itself away: their name (a handle), their email. */
export interface PasswordOwner {
  /** A username or handle of 3 characters or more is not to appear in the password (any case). */
  readonly name?: string;
  readonly email?: string;
}

/**
 * The platform's one password policy, for every password it sets (an admin's, a sign-up's, a user's
 * own): its length and, when its owner is known, not their name nor their email address.
 */
export function validatePassword(password: string, path = 'password', owner: PasswordOwner = {}): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError('Password does not meet the policy', [
      { path, message: `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters` },
    ]);
  }
  const lower = password.toLowerCase();
  const name = owner.name?.toLowerCase() ?? '';
  const email = owner.email?.trim().toLowerCase() ?? '';
  if ((name.length >= 3 && lower.includes(name)) || (email !== '' && lower === email)) {
    throw new ValidationError('Password does not meet the policy', [
      {
        path,
        message:
          owner.email === undefined
            ? 'must not contain your username'
            : 'must not contain your handle or be your email address',
      },
    ]);
  }
}

/**
 * The built-in roles of each domain kind, by name. A Map, since the name comes from the client: as
 * a plain object's key, `constructor` was a built-in role (`in` sees the prototype), so
 * `DELETE /api/roles/constructor` answered that it could not be deleted.
 */
const BUILT_IN_ROLES: Readonly<Record<DomainContext['kind'], ReadonlyMap<string, readonly string[]>>> = {
  public: new Map(Object.entries(PUBLIC_BUILT_IN_ROLES)),
  tenant: new Map(Object.entries(TENANT_BUILT_IN_ROLES)),
};

export class Directory {
  readonly #store: DirectoryRepository;
  readonly #userQuota: KeptQuota<'users'>;
  readonly #audit: AuditLog;
  readonly #superAdmins: ReadonlySet<string>;
  readonly #now: () => Date;
  readonly #roleCacheMs: number;
  readonly #roleCache = new Map<string, { role: Role | null; until: number }>();
  readonly #userChanged: ((domain: DomainContext, username: string) => void)[] = [];

  constructor(options: DirectoryOptions) {
    this.#store = new DirectoryRepository(options.table);
    this.#audit = options.audit;
    this.#superAdmins = new Set(options.superAdmins ?? []);
    this.#now = options.now ?? (() => new Date());
    // Counted here, where users are made: the sign-in core serves the users routes and builds no quotas.
    this.#userQuota = new KeptQuota({
      table: options.table,
      counter: 'users',
      keptIds: (domain) => this.#store.usernames(domain),
      // A removal stopped before giving its place back: its name is never made again, so the place is free.
      goneForGood: (domain, names) => this.#store.removedAmong(domain, names),
      now: this.#now,
    });
    this.#roleCacheMs = options.roleCacheMs ?? 5000;
  }

  /**
   * Calls `listener` after every change to a user in this process (roles, password, disabling,
   * console tenants), so what is kept about that user's sessions is forgotten at once.
   */
  onUserChanged(listener: (domain: DomainContext, username: string) => void): void {
    this.#userChanged.push(listener);
  }

  /** Super-admin: public domain and (explicit marker or configured username). Nothing else. */
  isSuperAdmin(domain: DomainContext, user: Pick<User, 'username' | 'superAdmin'>): boolean {
    return domain.kind === 'public' && (user.superAdmin || this.#superAdmins.has(user.username));
  }

  allPermissions(domain: DomainContext): readonly string[] {
    return domain.kind === 'public' ? PUBLIC_PERMISSIONS : TENANT_PERMISSIONS;
  }

  menus(domain: DomainContext) {
    return domain.kind === 'public' ? PUBLIC_MENUS : TENANT_MENUS;
  }

  /**
   * The user, or null. `consistent` reads it as it is now: what a credential of theirs is checked
   * against (a disabling or a password change just made must be seen).
   */
  async getUser(
    domain: DomainContext,
    username: string,
    options: { readonly consistent?: boolean } = {},
  ): Promise<StoredUser | null> {
    if (!USERNAME_PATTERN.test(username)) return null;
    return this.#store.getUser(domain, username, options.consistent === true);
  }

  /**
   * A user the acting caller may manage (holding at least everything that user holds), read as it
   * is now. No such user in this domain: NotFoundError; one the caller may not manage: ForbiddenError.
   */
  async manageableUser(domain: DomainContext, username: string, actor: Caller): Promise<StoredUser> {
    const user = await this.getUser(domain, username, { consistent: true });
    if (user === null) throw new NotFoundError(`User ${username} not found`);
    await this.#checkManageable(domain, user, actor);
    return user;
  }

  /** Every user's name, disabled ones too: what the plan's count of users kept counts. */
  usernames(domain: DomainContext): Promise<string[]> {
    return this.#store.usernames(domain);
  }

  /**
   * Whether the acting caller may manage `user` (read as it is now), as manageableUser decides: for
   * lists that show only what the caller may manage, without an error per user left out.
   */
  async mayManage(domain: DomainContext, user: StoredUser, actor: Caller): Promise<boolean> {
    return (await this.#unmanageable(domain, user, actor)) === null;
  }

  async listUsers(domain: DomainContext, limit: number, cursor?: string): Promise<Page<User>> {
    const page = await this.#store.listUsers(domain, limit, cursor);
    const items = page.items.map(publicView);
    return page.cursor === undefined ? { items } : { items, cursor: page.cursor };
  }

  /**
   * Creates a user. `actor` is undefined only for platform seeding, and for a tenant's first admin
   * made by a super-admin from the platform: `by` then names them in the tenant's audit (it said
   * "system"). In a tenant it takes one of the plan's places for users (403 `plan-limit` when none
   * is left), whoever asks: an admin, the free sign-up's first user, a super-admin.
   */
  async createUser(domain: DomainContext, input: NewUser, actor?: Caller, by?: AuditActor): Promise<User> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw new ValidationError('Invalid username', [
        { path: 'username', message: '2-63 characters: a-z, 0-9, dot, underscore, hyphen' },
      ]);
    }
    validatePassword(input.password);
    await this.#checkGrantable(domain, input.roles, actor);
    if (input.superAdmin === true) this.#checkSuperAdminGrant(domain, actor);
    if (input.consoleTenants !== undefined && domain.kind !== 'public') {
      throw new ValidationError('consoleTenants exists only in the public domain', [
        { path: 'consoleTenants', message: 'not allowed here' },
      ]);
    }
    await this.#refuseRemovedName(domain, input.username);
    return this.#putUser(domain, input, await hashPassword(input.password), actor, by);
  }

  /**
   * A tenant's admin whose password was chosen earlier and kept only as its hash (a conversion of a
   * personal space, ordered before it was paid). Idempotent: the same user with the same hash again
   * is returned as it is; anyone else of that name is a conflict. Not counted against the plan: it
   * is made while the space is still free, by the payment that moves it to a paid plan (which counts
   * no users), and a full space must still be able to convert.
   */
  async createAdminFromHash(
    domain: TenantContext,
    username: string,
    passwordHash: string,
    by: AuditActor,
  ): Promise<User> {
    if (!USERNAME_PATTERN.test(username)) {
      throw new ValidationError('Invalid username', [
        { path: 'username', message: '2-63 characters: a-z, 0-9, dot, underscore, hyphen' },
      ]);
    }
    const existing = await this.getUser(domain, username);
    if (existing !== null) {
      if (existing.passwordHash === passwordHash) return publicView(existing);
      throw new ConflictError(`User ${username} already exists`);
    }
    return this.#putUser(domain, { username, password: '', roles: ['admin'] }, passwordHash, undefined, by, {
      counted: false,
    });
  }

  async #putUser(
    domain: DomainContext,
    input: NewUser,
    passwordHash: string,
    actor?: Caller,
    by?: AuditActor,
    { counted }: { readonly counted: boolean } = { counted: true },
  ): Promise<User> {
    const now = this.#now().toISOString();
    // The plan's place first: a user over the plan's count is never written.
    const place: QuotaReservation | null =
      counted && domain.kind === 'tenant' ? await this.#userQuota.reserve(domain, input.username) : null;
    let stored: StoredUser;
    try {
      stored = await this.#store.createUser(domain, {
        username: input.username,
        passwordHash,
        roles: [...new Set(input.roles)],
        superAdmin: domain.kind === 'public' && input.superAdmin === true,
        consoleTenants: [...(input.consoleTenants ?? [])],
        disabled: false,
        createdAt: now,
        updatedAt: now,
      });
    } catch (error) {
      // The place goes back unless a user of that name holds it: the name was taken (that user is
      // counted by it), or the write landed though its answer was lost. A removed user's name holds
      // no place (their removal gave it back).
      if (place !== null && (await this.#store.getUser(domain, input.username, true)) === null) {
        await place.release();
      }
      throw error;
    }
    const user = publicView(stored);
    await this.#audit.record(domain, {
      actor:
        by ??
        (actor === undefined
          ? { username: 'system', via: 'system' }
          : { username: actor.username, via: actor.via }),
      action: 'user.created',
      target: `user:${user.username}`,
      details: { roles: user.roles, superAdmin: user.superAdmin, consoleTenants: user.consoleTenants },
    });
    return user;
  }

  async updateUser(
    domain: DomainContext,
    username: string,
    change: UserChange,
    actor: Caller,
  ): Promise<User> {
    const current = await this.getUser(domain, username);
    if (current === null) throw new NotFoundError(`User ${username} not found`);
    // Nobody locks themselves out: the last admin (or super-admin) could not be restored over the API.
    if (username === actor.username && (change.disabled === true || change.roles !== undefined)) {
      throw new ForbiddenError(
        'You cannot disable your own account or change your own roles; ask another admin',
      );
    }
    // One's own password is changed with the current one (Auth.changePassword), never here: a token
    // holding user:manage would otherwise take over its owner's account.
    if (username === actor.username && change.password !== undefined) {
      throw new ForbiddenError(
        'Change your own password from your account page (POST /api/me/password), with your current one',
      );
    }
    await this.#checkManageable(domain, current, actor);
    if (change.roles !== undefined) await this.#checkGrantable(domain, change.roles, actor);
    if (change.password !== undefined) validatePassword(change.password);
    if (change.consoleTenants !== undefined && domain.kind !== 'public') {
      throw new ValidationError('consoleTenants exists only in the public domain', [
        { path: 'consoleTenants', message: 'not allowed here' },
      ]);
    }
    // A new password or a disabling ends every session the user had, and every access token and AI
    // client they made (re-enabling revives none).
    // Lost-update protection: the user must be as we read it.
    const updated = await this.#store.updateUser(domain, username, current.updatedAt, {
      at: this.#now().toISOString(),
      ...(change.roles === undefined ? {} : { roles: [...new Set(change.roles)] }),
      ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
      ...(change.password === undefined ? {} : { passwordHash: await hashPassword(change.password) }),
      ...(change.consoleTenants === undefined ? {} : { consoleTenants: change.consoleTenants }),
      endSessions: change.password !== undefined || change.disabled === true,
    });
    for (const listener of this.#userChanged) listener(domain, username);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'user.updated',
      target: `user:${username}`,
      details: {
        ...(change.roles === undefined ? {} : { rolesBefore: current.roles, rolesAfter: updated.roles }),
        ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
        ...(change.password === undefined ? {} : { passwordChanged: true }),
        ...(change.consoleTenants === undefined ? {} : { consoleTenants: change.consoleTenants }),
      },
    });
    return publicView(updated);
  }

  /**
   * A user's own new password, once Auth has checked their current one (auth.ts `changePassword`):
   * held to the password policy (`newPassword`), stored as its hash, and every session the user had
   * ends (Auth starts the caller's again). Audited as `user.password-changed`, never with a password.
   */
  async setOwnPassword(
    domain: DomainContext,
    user: StoredUser,
    password: string,
    actor: Caller,
  ): Promise<User> {
    validatePassword(password, 'newPassword', { name: user.username });
    // Lost-update protection: the user must be as Auth read it.
    const updated = await this.#store.updateUser(domain, user.username, user.updatedAt, {
      at: this.#now().toISOString(),
      passwordHash: await hashPassword(password),
      endSessions: true,
    });
    for (const listener of this.#userChanged) listener(domain, user.username);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'user.password-changed',
      target: `user:${user.username}`,
      details: { session: actor.credentialId },
    });
    return publicView(updated);
  }

  /**
   * Removes a user, for someone who may manage them (they hold everything the user holds): never
   * oneself, nor the domain's last active user admin (409 `last-user-admin`). One write ends it all
   * (DirectoryRepository.removeUser): the user can no longer sign in, and every session, access
   * token and AI client of theirs is refused from the next request on. Then, each step harmless to
   * repeat and harmless if never reached: the audit entry, the plan's place given back. A user already
   * removed is answered as removed again (`now: false`), so that a removal whose answer was lost, or
   * that stopped midway, is finished by the next call (the caller tidies what the user owned each
   * time); a name that never was a user is NotFoundError.
   */
  async removeUser(domain: DomainContext, username: string, actor: Caller): Promise<RemovedUser> {
    if (username === actor.username) {
      throw new ForbiddenError('You cannot remove your own account; ask another user admin');
    }
    const found = USERNAME_PATTERN.test(username) ? await this.#store.findUser(domain, username) : null;
    if (found === null) throw new NotFoundError(`User ${username} not found`);
    const { user } = found;
    if (found.removed) {
      // Only its place is left to give back (a removal stopped before it); nothing of it is shown.
      if (domain.kind === 'tenant') await this.#userQuota.release(domain, username);
      return { username, roles: [], removedAt: user.updatedAt, now: false };
    }
    await this.#checkManageable(domain, user, actor);
    await this.#keepsAUserAdmin(domain, user, actor);
    const at = this.#now().toISOString();
    // The acting admin is confirmed active first, moving their own item on: a removal of them read
    // before this one fails, so two user admins removing each other at once never both succeed.
    await this.#store.confirmActive(domain, actor.username, at);
    for (const listener of this.#userChanged) listener(domain, actor.username);
    await this.#store.removeUser(domain, username, user.updatedAt, at, actor.username);
    for (const listener of this.#userChanged) listener(domain, username);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'user.removed',
      target: `user:${username}`,
      details: { roles: user.roles, disabled: user.disabled, createdAt: user.createdAt },
    });
    if (domain.kind === 'tenant') await this.#userQuota.release(domain, username);
    return { username, roles: user.roles, removedAt: at, now: true };
  }

  /**
   * Refuses to remove the domain's last active user admin: the acting admin, when still active and
   * holding `user:manage` by their roles, is one left (their own item is confirmed active just before
   * the removal); otherwise another active holder must be.
   */
  async #keepsAUserAdmin(domain: DomainContext, target: StoredUser, actor: Caller): Promise<void> {
    const holds = async (user: StoredUser) =>
      !user.disabled &&
      (this.isSuperAdmin(domain, user) ||
        (await this.permissionsOf(domain, user.roles)).has(USER_ADMIN_PERMISSION));
    if (!(await holds(target))) return;
    const acting = await this.#store.getUser(domain, actor.username, true);
    if (acting !== null && (await holds(acting))) return;
    let cursor: string | undefined;
    do {
      const page = await this.#store.listUsers(domain, 100, cursor);
      for (const user of page.items) {
        if (user.username !== target.username && (await holds(user))) return;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    throw new LastUserAdminError(
      `${target.username} is the last user who may manage users here; give another user that permission first`,
      { extra: { permission: USER_ADMIN_PERMISSION } },
    );
  }

  /** A removed user's name is not given again (their runs, audit entries and schedules name them). */
  async #refuseRemovedName(domain: DomainContext, name: string): Promise<void> {
    const found = await this.#store.findUser(domain, name);
    if (found?.removed === true) {
      throw new NameTakenError(
        `${name} is the name of a removed user; it is kept for their history (runs, audit) and not given again: choose another`,
      );
    }
  }

  /** Built-in roles of the domain kind, then the domain's custom roles. */
  async listRoles(domain: DomainContext): Promise<Role[]> {
    const builtIn = [...BUILT_IN_ROLES[domain.kind]].map(
      ([name, permissions]): Role => ({
        name,
        permissions,
        builtIn: true,
        description: `Built-in ${name} role`,
      }),
    );
    return [...builtIn, ...(await this.#store.roles(domain))];
  }

  async putRole(
    domain: DomainContext,
    input: { name: string; permissions: readonly string[]; description?: string },
    actor: Caller,
    mode: 'create' | 'update',
  ): Promise<Role> {
    if (!ROLE_NAME_PATTERN.test(input.name)) {
      throw new ValidationError('Invalid role name', [
        { path: 'name', message: 'a-z, 0-9 and hyphens, 2-40 characters' },
      ]);
    }
    if (BUILT_IN_ROLES[domain.kind].has(input.name))
      throw new ConflictError(`${input.name} is a built-in role and cannot be changed`);
    const known = new Set(this.allPermissions(domain));
    const unknown = input.permissions.filter((permission) => !known.has(permission));
    if (unknown.length > 0) {
      throw new ValidationError('Unknown permissions', [
        { path: 'permissions', message: unknown.join(', ') },
      ]);
    }
    const missing = input.permissions.filter((permission) => !actor.permissions.has(permission));
    if (missing.length > 0) {
      throw new ForbiddenError(`You cannot grant permissions you do not hold: ${missing.join(', ')}`);
    }
    const before = mode === 'update' ? await this.#heldRole(domain, input.name, actor, 'change') : null;
    // A name still held by users (left by a role deleted before deleting checked its holders, or
    // assigned as it was deleted) would hand the new role's permissions to them unasked.
    if (mode === 'create') {
      if ((await this.#store.getRole(domain, input.name)) !== null)
        throw new NameTakenError(`Role ${input.name} already exists`);
      const holders = await this.#store.countHolders(domain, input.name);
      if (holders > 0) {
        throw new ConflictError(
          `${counted(holders, 'user')} still ${holders === 1 ? 'holds' : 'hold'} a role named ${input.name}, deleted earlier; take it from them first`,
          { extra: { holders } },
        );
      }
    }
    const now = this.#now().toISOString();
    const role: Role = {
      name: input.name,
      permissions: [...new Set(input.permissions)],
      builtIn: false,
      description: input.description ?? '',
    };
    await this.#store.putRole(
      domain,
      role,
      now,
      before === null ? { create: true } : { expectedUpdatedAt: before.updatedAt },
    );
    this.#roleCache.delete(`${domainPk(domain)}|${input.name}`);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: mode === 'create' ? 'role.created' : 'role.updated',
      target: `role:${input.name}`,
      details: {
        permissionsBefore: before?.permissions ?? [],
        permissionsAfter: role.permissions,
      },
    });
    return role;
  }

  /**
   * Deletes a custom role: only someone holding every permission it holds, and only once no user
   * holds it (409 naming how many do), so a deleted role never lingers on a user, to hand its
   * permissions to whatever role is created later under its name.
   */
  async deleteRole(domain: DomainContext, name: string, actor: Caller): Promise<void> {
    if (BUILT_IN_ROLES[domain.kind].has(name))
      throw new ConflictError(`${name} is a built-in role and cannot be deleted`);
    const role = await this.#heldRole(domain, name, actor, 'delete');
    // Residual race: a user given the role between this count and the delete below keeps its name
    // (assignment checks the role exists before its own write, with no transaction across both; the
    // local DynamoDB has none). It then grants nothing, and creating a role of that name is refused
    // while anyone holds it, so the name cannot come back to life on them.
    const holders = await this.#store.countHolders(domain, name);
    if (holders > 0) {
      throw new ConflictError(
        `Role ${name} is held by ${counted(holders, 'user')}; take it from them first, then delete it`,
        { extra: { holders } },
      );
    }
    // The role must still be as checked: permissions added meanwhile would be deleted unchecked.
    await this.#store.deleteRole(domain, name, role.updatedAt);
    this.#roleCache.delete(`${domainPk(domain)}|${name}`);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'role.deleted',
      target: `role:${name}`,
      details: { permissions: role.permissions },
    });
  }

  /**
   * A custom role as it is now, which the actor may change or delete: they hold every permission it
   * holds now (it was only the new set that was checked on a change, and nothing on a deletion, so a
   * role manager could strip or delete roles granting what they lack).
   */
  async #heldRole(
    domain: DomainContext,
    name: string,
    actor: Caller,
    action: 'change' | 'delete',
  ): Promise<StoredRole> {
    const role = ROLE_NAME_PATTERN.test(name) ? await this.#store.getRole(domain, name) : null;
    if (role === null) throw new NotFoundError(`Role ${name} not found`);
    const missing = role.permissions.filter((permission) => !actor.permissions.has(permission));
    if (missing.length > 0) {
      throw new ForbiddenError(
        `You cannot ${action} a role that holds permissions you lack: ${missing.join(', ')}`,
        { extra: { permissions: missing } },
      );
    }
    return role;
  }

  /** The permissions a set of role names grants in a domain (unknown roles grant nothing). */
  async permissionsOf(domain: DomainContext, roles: readonly string[]): Promise<Set<string>> {
    const builtIns = BUILT_IN_ROLES[domain.kind];
    const granted = new Set<string>();
    const custom: string[] = [];
    for (const role of roles) {
      const fixed = builtIns.get(role);
      if (fixed !== undefined) for (const permission of fixed) granted.add(permission);
      else custom.push(role);
    }
    // Built-in roles only (the usual case): nothing to look up, not even in the role cache.
    if (custom.length === 0) return granted;
    for (const role of await this.#customRoles(domain, custom)) {
      for (const permission of role.permissions) granted.add(permission);
    }
    return granted;
  }

  async #customRoles(domain: DomainContext, names: readonly string[]): Promise<Role[]> {
    const pk = domainPk(domain);
    const now = Date.now();
    const found: Role[] = [];
    const wanted: string[] = [];
    // A BatchGet with a key twice is refused by DynamoDB; a repeated role grants nothing more.
    for (const name of new Set(names)) {
      const cached = this.#roleCache.get(`${pk}|${name}`);
      if (cached !== undefined && cached.until > now) {
        if (cached.role !== null) found.push(cached.role);
      } else if (ROLE_NAME_PATTERN.test(name)) {
        wanted.push(name);
      }
    }
    if (wanted.length === 0) return found;
    const stored = await this.#store.rolesNamed(domain, wanted);
    for (const name of wanted) {
      const role = stored.get(name) ?? null;
      this.#roleCache.set(`${pk}|${name}`, { role, until: now + this.#roleCacheMs });
      if (role !== null) found.push(role);
    }
    return found;
  }

  async #checkGrantable(
    domain: DomainContext,
    roles: readonly string[],
    actor: Caller | undefined,
  ): Promise<void> {
    const known = new Set((await this.listRoles(domain)).map((role) => role.name));
    const unknown = roles.filter((role) => !known.has(role));
    if (unknown.length > 0)
      throw new ValidationError('Unknown roles', [{ path: 'roles', message: unknown.join(', ') }]);
    if (actor === undefined) return;
    const granted = await this.permissionsOf(domain, roles);
    const missing = [...granted].filter((permission) => !actor.permissions.has(permission));
    if (missing.length > 0) {
      throw new ForbiddenError(`You cannot grant permissions you do not hold: ${missing.join(', ')}`);
    }
  }

  /** A user may be changed only by someone holding at least everything that user holds. */
  async #checkManageable(domain: DomainContext, target: StoredUser, actor: Caller): Promise<void> {
    const refusal = await this.#unmanageable(domain, target, actor);
    if (refusal !== null) throw refusal;
  }

  /** Why `actor` may not manage `target` (see #checkManageable), or null when they may. */
  async #unmanageable(
    domain: DomainContext,
    target: StoredUser,
    actor: Caller,
  ): Promise<ForbiddenError | null> {
    if (this.isSuperAdmin(domain, target) && !actor.superAdmin) {
      return new ForbiddenError('Only a super-admin can change a super-admin');
    }
    const held = await this.permissionsOf(domain, target.roles);
    const missing = [...held].filter((permission) => !actor.permissions.has(permission));
    return missing.length > 0
      ? new ForbiddenError(`You cannot change a user who holds permissions you lack: ${missing.join(', ')}`)
      : null;
  }

  #checkSuperAdminGrant(domain: DomainContext, actor: Caller | undefined): void {
    if (domain.kind !== 'public') {
      throw new ValidationError('Super-admins exist only in the public domain', [
        { path: 'superAdmin', message: 'not allowed here' },
      ]);
    }
    if (actor !== undefined && !actor.superAdmin)
      throw new ForbiddenError('Only a super-admin can create a super-admin');
  }
}
