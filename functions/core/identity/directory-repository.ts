/**
 * Where a domain's users (`USER#<username>`) and custom roles (`ROLE#<name>`) are stored, in the
 * domain's own partition. Every DynamoDB call of the directory is here; items are parsed at this
 * boundary and a write refused by its condition comes out as a typed error (a name taken, a user
 * or a role changed since it was read). Who may create, change or grant what stays in directory.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, queryAll, type Table } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { domainPk, ITEM_TYPE, itemKey, type Key, TAG, typePrefix } from '../keys.ts';
import type { Page } from '../pagination.ts';
import { deleteItem, putItem, updateItem } from '../store/conditional.ts';
import { queryPageOf } from '../store/paged-query.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import type { Role, StoredUser } from './directory.ts';

/** A user or role of that name exists already. Still a 409. */
export class NameTakenError extends ConflictError {}

/** A user changed between its read and this write (lost-update protection). Still a 409. */
export class UserChangedError extends ConflictError {
  constructor(username: string, options: { cause?: unknown } = {}) {
    super(`User ${username} changed concurrently; retry`, options);
  }
}

/**
 * A user's item after their removal: kept (`removedAt`) so that their name is never given again in
 * the domain — the runs, audit entries, votes and schedules that name them stay theirs — and read as
 * a disabled user with no roles and every credential ended wherever an item is read as a user.
 */
export function isRemoved(item: Record<string, unknown>): boolean {
  return typeof item.removedAt === 'string';
}

/** A role changed (or was deleted) between its read and this write. Still a 409. */
export class RoleChangedError extends ConflictError {
  constructor(name: string, options: { cause?: unknown } = {}) {
    super(`Role ${name} changed concurrently; retry`, options);
  }
}

/** A custom role as stored: with the instant it was last written, what a change of it is conditioned on. */
export interface StoredRole extends Role {
  readonly updatedAt: string;
}

export function userFromItem(item: Record<string, unknown>): StoredUser {
  return {
    username: String(item.username),
    roles: (item.roles as string[] | undefined) ?? [],
    superAdmin: item.superAdmin === true,
    disabled: item.disabled === true,
    consoleTenants: (item.consoleTenants as string[] | undefined) ?? [],
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    passwordHash: String(item.passwordHash),
    sessionsValidAfter: typeof item.sessionsValidAfter === 'string' ? item.sessionsValidAfter : null,
    passwordChangedAt: typeof item.passwordChangedAt === 'string' ? item.passwordChangedAt : null,
  };
}

function roleFromItem(item: Record<string, unknown>, name = String(item.name)): Role {
  return {
    name,
    permissions: (item.permissions as string[]) ?? [],
    builtIn: false,
    description: String(item.description ?? ''),
  };
}

export function userKey(domain: DomainContext, username: string): Key {
  return itemKey(domain, TAG.user, username);
}

function roleKey(domain: DomainContext, name: string): Key {
  return itemKey(domain, TAG.role, name);
}

/** What an update of a user writes; absent members are left as they are. */
export interface UserUpdate {
  readonly at: string;
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly passwordHash?: string;
  readonly consoleTenants?: readonly string[];
  /** Sessions issued before `at` stop being valid (a new password, a disabling). */
  readonly endSessions: boolean;
}

export class DirectoryRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /**
   * The user, or null (a removed user too); `consistent` reads it as it is now (what a credential is
   * checked against).
   */
  async getUser(domain: DomainContext, username: string, consistent = false): Promise<StoredUser | null> {
    const found = await this.findUser(domain, username, consistent);
    return found === null || found.removed ? null : found.user;
  }

  /** The user's item as it is now, removed or not (a removal retried finishes what it left); null when none. */
  async findUser(
    domain: DomainContext,
    username: string,
    consistent = true,
  ): Promise<{ readonly user: StoredUser; readonly removed: boolean } | null> {
    const result = await this.#table.client.send(
      new GetCommand({
        TableName: this.#table.name,
        Key: userKey(domain, username),
        ...(consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return result.Item === undefined
      ? null
      : { user: userFromItem(result.Item), removed: isRemoved(result.Item) };
  }

  /** A page of the domain's users, removed ones left out (a page may then hold fewer than `limit`). */
  listUsers(domain: DomainContext, limit: number, cursor?: string): Promise<Page<StoredUser>> {
    return queryPageOf(
      this.#table,
      {
        partition: domainPk(domain),
        range: { prefix: typePrefix(TAG.user) },
        limit,
        ...(cursor === undefined ? {} : { cursor }),
        filter: { expression: 'attribute_not_exists(removedAt)' },
      },
      userFromItem,
    );
  }

  /**
   * The names of every user of the domain, disabled ones too, removed ones not (strongly
   * consistent): what seeds the plan's count of users kept, and counts them where the plan does not.
   */
  async usernames(domain: DomainContext): Promise<string[]> {
    const names: string[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      FilterExpression: 'attribute_not_exists(removedAt)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.user) },
      ProjectionExpression: 'username',
      ConsistentRead: true,
    })) {
      names.push(String(item.username));
    }
    return names;
  }

  /**
   * Those of `names` (at most 100) whose user is removed, read as they are now: names a removal
   * stopped before giving back its place still hold (never made again, so never a creation under way).
   */
  async removedAmong(domain: DomainContext, names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const items = await batchGetAll(
      this.#table,
      names.map((name) => userKey(domain, name)),
      { consistent: true, projection: ['username', 'removedAt'] },
    );
    return items.filter(isRemoved).map((item) => String(item.username));
  }

  /** Writes a new user; a name taken is a NameTakenError. */
  async createUser(
    domain: DomainContext,
    user: Omit<StoredUser, 'sessionsValidAfter' | 'passwordChangedAt'>,
  ): Promise<StoredUser> {
    const item = { ...userKey(domain, user.username), type: ITEM_TYPE.user, ...user };
    await putItem(
      this.#table,
      { Item: item, ConditionExpression: 'attribute_not_exists(PK)' },
      (error) => new NameTakenError(`User ${user.username} already exists`, { cause: error }),
    );
    return userFromItem(item);
  }

  /** Changes a user still as it was at `expectedUpdatedAt`; returns it as written. */
  async updateUser(
    domain: DomainContext,
    username: string,
    expectedUpdatedAt: string,
    update: UserUpdate,
  ): Promise<StoredUser> {
    const sets: string[] = ['updatedAt = :now'];
    const values: Record<string, unknown> = { ':now': update.at, ':expected': expectedUpdatedAt };
    if (update.roles !== undefined) {
      sets.push('#roles = :roles');
      values[':roles'] = [...update.roles];
    }
    if (update.disabled !== undefined) {
      sets.push('disabled = :disabled');
      values[':disabled'] = update.disabled;
    }
    if (update.endSessions) sets.push('sessionsValidAfter = :now');
    if (update.passwordHash !== undefined) {
      sets.push('passwordHash = :hash, passwordChangedAt = :now');
      values[':hash'] = update.passwordHash;
    }
    if (update.consoleTenants !== undefined) {
      sets.push('consoleTenants = :console');
      values[':console'] = [...update.consoleTenants];
    }
    const result = await updateItem(
      this.#table,
      {
        Key: userKey(domain, username),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'updatedAt = :expected',
        ExpressionAttributeNames: update.roles === undefined ? undefined : { '#roles': 'roles' },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      },
      (error) => new UserChangedError(username, { cause: error }),
    );
    return userFromItem(result);
  }

  /**
   * Removes a user still as it was at `expectedUpdatedAt` (changed or removed since:
   * UserChangedError), in one write: the item stays, marked `removedAt`, so the name is never made
   * again (creating a user is conditioned on no item of its name); it is disabled, holds no roles and
   * no password, and every credential made until now is ended (`sessionsValidAfter`), so whatever
   * reads it as a user refuses it.
   */
  async removeUser(
    domain: DomainContext,
    username: string,
    expectedUpdatedAt: string,
    at: string,
    by: string,
  ): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: userKey(domain, username),
        UpdateExpression:
          'SET removedAt = :now, removedBy = :by, disabled = :yes, #roles = :none, sessionsValidAfter = :now, updatedAt = :now REMOVE passwordHash, consoleTenants, superAdmin',
        ConditionExpression: 'updatedAt = :expected AND attribute_not_exists(removedAt)',
        ExpressionAttributeNames: { '#roles': 'roles' },
        ExpressionAttributeValues: {
          ':now': at,
          ':by': by,
          ':yes': true,
          ':none': [],
          ':expected': expectedUpdatedAt,
        },
      },
      (error) => new UserChangedError(username, { cause: error }),
    );
  }

  /**
   * Marks that `username` (the acting user admin) is still an active user at `at`: their item's
   * `updatedAt` moves on, so a removal of them conditioned on how it was read before fails. Two user
   * admins removing each other at once cannot both succeed (docs/decisions/identity.md). Refused
   * (UserChangedError) when they are removed or disabled.
   */
  async confirmActive(domain: DomainContext, username: string, at: string): Promise<void> {
    await updateItem(
      this.#table,
      {
        Key: userKey(domain, username),
        UpdateExpression: 'SET updatedAt = :now',
        ConditionExpression:
          'attribute_exists(PK) AND attribute_not_exists(removedAt) AND (attribute_not_exists(disabled) OR disabled = :no)',
        ExpressionAttributeValues: { ':now': at, ':no': false },
      },
      (error) => new UserChangedError(username, { cause: error }),
    );
  }

  /** The domain's custom roles. */
  async roles(domain: DomainContext): Promise<Role[]> {
    const roles: Role[] = [];
    for await (const item of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.role) },
    })) {
      roles.push(roleFromItem(item));
    }
    return roles;
  }

  async getRole(domain: DomainContext, name: string): Promise<StoredRole | null> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: roleKey(domain, name), ConsistentRead: true }),
    );
    const item = result.Item;
    return item === undefined ? null : { ...roleFromItem(item), updatedAt: String(item.updatedAt ?? '') };
  }

  /**
   * How many of the domain's users hold a role of this name, read as they are now (every user item
   * is read: this is for the rare change of a role, not for a request path).
   */
  async countHolders(domain: DomainContext, name: string): Promise<number> {
    let holders = 0;
    for await (const _ of queryAll(this.#table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      FilterExpression: 'contains(#roles, :role)',
      ProjectionExpression: 'PK',
      ExpressionAttributeNames: { '#roles': 'roles' },
      ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.user), ':role': name },
      ConsistentRead: true,
    })) {
      holders += 1;
    }
    return holders;
  }

  /** The custom roles of these names that exist (names distinct; at most 100). */
  async rolesNamed(domain: DomainContext, names: readonly string[]): Promise<Map<string, Role>> {
    const items = await batchGetAll(
      this.#table,
      names.map((name) => roleKey(domain, name)),
    );
    const found = new Map<string, Role>();
    for (const name of names) {
      const item = items.find((candidate) => candidate.name === name);
      if (item !== undefined) found.set(name, roleFromItem(item, name));
    }
    return found;
  }

  /**
   * Creates a role (a name taken: NameTakenError), or replaces one still as it was written at
   * `expectedUpdatedAt` (gone or changed since: RoleChangedError).
   */
  async putRole(
    domain: DomainContext,
    role: Role,
    at: string,
    mode: { readonly create: true } | { readonly expectedUpdatedAt: string },
  ): Promise<void> {
    const create = 'create' in mode;
    await putItem(
      this.#table,
      {
        Item: { ...roleKey(domain, role.name), type: ITEM_TYPE.role, ...role, updatedAt: at },
        ...(create
          ? { ConditionExpression: 'attribute_not_exists(PK)' }
          : {
              ConditionExpression: 'updatedAt = :expected',
              ExpressionAttributeValues: { ':expected': mode.expectedUpdatedAt },
            }),
      },
      (error) =>
        create
          ? new NameTakenError(`Role ${role.name} already exists`, { cause: error })
          : new RoleChangedError(role.name, { cause: error }),
    );
  }

  /** Deletes a role still as it was written at `expectedUpdatedAt` (gone or changed since: RoleChangedError). */
  async deleteRole(domain: DomainContext, name: string, expectedUpdatedAt: string): Promise<void> {
    await deleteItem(
      this.#table,
      {
        Key: roleKey(domain, name),
        ConditionExpression: 'updatedAt = :expected',
        ExpressionAttributeValues: { ':expected': expectedUpdatedAt },
      },
      (error) => new RoleChangedError(name, { cause: error }),
    );
  }
}
