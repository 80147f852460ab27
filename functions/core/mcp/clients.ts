/**
 * AI (MCP) clients of a tenant: a name, the Skills (by id or tag) it may use, an expiry, and its own
 * revocable bearer token (`efm_<id>_<secret>`, shown once, stored as a SHA-256 of its 256-bit
 * secret, bound to the host it was created on). A client acts as the user who created it, with that
 * user's permissions as they are at each call, narrowed to running and reading Skills in its scope:
 * a disabled user, or one who lost `mcp:connect`, takes every client of theirs down with them, and a
 * new password, a disabling or an "end all sessions" ends every client the user made until then
 * (re-enabling revives none).
 * Client tokens are accepted on `/mcp` only; sessions and personal access tokens are not.
 *
 * Every tool call a client makes is kept in its call log (newest first, for 90 days), refusals too.
 */
import { randomBytes } from 'node:crypto';
import type { McpCall, McpClient } from '../../contract/responses.ts';
import { type AuditLog, actorOf } from '../audit/chain.ts';
import { SKILL_TAG_PATTERN } from '../catalog/rules.ts';
import { canSee, SKILL_ID_PATTERN, type Skill, type SkillCatalog } from '../catalog/skills.ts';
import type { Table } from '../db.ts';
import {
  AuthenticationError,
  type FieldIssue,
  ForbiddenError,
  NotFoundError,
  QuotaExceededError,
  ValidationError,
} from '../errors.ts';
import { matchesSecretHash, sha256 } from '../hashing.ts';
import type { Caller, CallerClient } from '../identity/caller.ts';
import { type Directory, endedBySessionsReset } from '../identity/directory.ts';
import type { Page } from '../pagination.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { McpClientRepository } from './client-repository.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { McpCall, McpClient };

export const MCP_TOKEN_PREFIX = 'efm';
const TOKEN_PATTERN = /^efm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const MCP_CLIENT_ID_PATTERN = /^[0-9a-f]{16}$/;

/** The permission a user needs to hold clients (and that every use of one re-checks). */
export const MCP_PERMISSION = 'mcp:connect';
/** What a client may do with its user's permissions: see, run and follow Skills. Nothing else. */
export const CLIENT_PERMISSIONS: ReadonlySet<string> = new Set([
  'skill:read',
  'skill:run',
  'execution:read',
  // Holders see every Skill (hidden ones included) and every run of one, as in the front.
  'skill:manage',
]);

export const MAX_CLIENTS_PER_USER = 20;
export const MAX_CLIENT_SKILLS = 100;
export const MAX_CLIENT_TAGS = 20;
export const MAX_CLIENT_DAYS = 365;
export const DEFAULT_CLIENT_DAYS = 90;
/**
 * Longest a tool call waits for its run to finish before answering with a ticket. Well under the
 * tenant API's 30 s function timeout (API Gateway's most), with room for the run's own writes.
 */
export const MAX_WAIT_SECONDS = 10;
export const DEFAULT_WAIT_SECONDS = 5;
/** How long a client's calls are kept in its call log. */
export const CALL_LOG_DAYS = 90;
/** lastUsedAt is written at most this often per client. */
const LAST_USED_GRANULARITY_MS = 60_000;

export interface NewMcpClient {
  readonly name: string;
  readonly skills?: readonly string[];
  readonly tags?: readonly string[];
  readonly expiresInDays?: number;
  readonly waitSeconds?: number;
}

export interface McpClientChange {
  readonly name?: string;
  readonly skills?: readonly string[];
  readonly tags?: readonly string[];
  readonly waitSeconds?: number;
}

export interface McpClientsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  readonly directory: Directory;
  readonly skills: SkillCatalog;
  readonly now?: () => Date;
}

const INVALID = 'Invalid, expired or revoked AI client token';

/** Whether a Skill is among those a client was given (by id or by one of its tags). */
export function inScope(
  client: Pick<CallerClient, 'skills' | 'tags'>,
  skill: Pick<Skill, 'id' | 'tags'>,
): boolean {
  return client.skills.includes(skill.id) || skill.tags.some((tag) => client.tags.includes(tag));
}

export class McpClients {
  readonly #store: McpClientRepository;
  readonly #audit: AuditLog;
  readonly #directory: Directory;
  readonly #skills: SkillCatalog;
  readonly #now: () => Date;

  constructor(options: McpClientsOptions) {
    this.#store = new McpClientRepository(options.table);
    this.#audit = options.audit;
    this.#directory = options.directory;
    this.#skills = options.skills;
    this.#now = options.now ?? (() => new Date());
  }

  /** Creates a client; the returned `token` is shown once and never stored. */
  async create(
    domain: TenantContext,
    caller: Caller,
    input: NewMcpClient,
  ): Promise<McpClient & { token: string }> {
    // A token cannot mint tokens: it would outlive its parent and survive the parent's revocation.
    if (caller.via !== 'session')
      throw new ForbiddenError('AI clients are created from a signed-in session only');
    const scope = await this.#scope(domain, caller, input.skills ?? [], input.tags ?? []);
    const days = input.expiresInDays ?? DEFAULT_CLIENT_DAYS;
    const waitSeconds = input.waitSeconds ?? DEFAULT_WAIT_SECONDS;
    checkBounds([
      { path: 'expiresInDays', value: days, min: 1, max: MAX_CLIENT_DAYS },
      { path: 'waitSeconds', value: waitSeconds, min: 0, max: MAX_WAIT_SECONDS },
    ]);
    // Clients the user's sessions' end took (a new password, …) count no more than revoked ones.
    const active = (await this.#clientsOf(domain, caller.username)).filter(
      (client) => this.#usable(client) && client.endedAt === undefined,
    );
    if (active.length >= MAX_CLIENTS_PER_USER) {
      throw new QuotaExceededError(
        `A user holds at most ${MAX_CLIENTS_PER_USER} active AI clients; revoke one first`,
        { extra: { limit: MAX_CLIENTS_PER_USER } },
      );
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.#now();
    const client: McpClient = {
      id,
      name: input.name,
      owner: caller.username,
      skills: scope.skills,
      tags: scope.tags,
      waitSeconds,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + days * 86_400_000).toISOString(),
      lastUsedAt: null,
      revoked: false,
    };
    await this.#store.create(domain, client, sha256(secret));
    await this.#audit.record(domain, {
      actor: actorOf(caller),
      action: 'mcp-client.created',
      target: `mcp-client:${id}`,
      details: { name: client.name, skills: client.skills, tags: client.tags, expiresAt: client.expiresAt },
    });
    return { ...client, token: `${MCP_TOKEN_PREFIX}_${id}_${secret}` };
  }

  /**
   * The caller's own clients; for a holder of `user:manage`, also those of every user they may
   * manage (holding no more than they do), as on the users page. It showed every client of the
   * tenant to any holder of `user:manage`, an admin's too.
   */
  async list(domain: TenantContext, caller: Caller): Promise<McpClient[]> {
    const manager = caller.permissions.has('user:manage');
    const stored = await this.#store.clientsOf(domain, manager ? undefined : caller.username);
    const shown = manager ? await this.#ofManageableOwners(domain, caller, stored) : stored;
    const clients = await this.#withEnd(domain, shown);
    return clients.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  /**
   * A client the caller may see and revoke: their own, or one of a user they may manage (the rule
   * of access tokens, auth.ts `revokeAccessToken`). Someone without `user:manage` is told another's
   * client is missing; a user admin who may not manage its owner is refused (ForbiddenError).
   */
  async get(domain: TenantContext, caller: Caller, id: string): Promise<McpClient> {
    const client = await this.#find(domain, id);
    if (client === null || (client.owner !== caller.username && !caller.permissions.has('user:manage'))) {
      throw new NotFoundError(`AI client ${id} not found`);
    }
    if (client.owner !== caller.username) await this.#directory.manageableUser(domain, client.owner, caller);
    return client;
  }

  /** Renames or re-scopes a client (its owner only: the scope is checked against what they may see). */
  async update(
    domain: TenantContext,
    caller: Caller,
    id: string,
    change: McpClientChange,
  ): Promise<McpClient> {
    const current = await this.get(domain, caller, id);
    if (current.owner !== caller.username)
      throw new ForbiddenError('Only the user a client acts for may change it');
    if (caller.via !== 'session')
      throw new ForbiddenError('AI clients are changed from a signed-in session only');
    if (current.revoked)
      throw new ValidationError('This AI client is revoked', [{ path: '', message: 'revoked' }]);
    const scope = await this.#scope(
      domain,
      caller,
      change.skills ?? current.skills,
      change.tags ?? current.tags,
    );
    const waitSeconds = change.waitSeconds ?? current.waitSeconds;
    checkBounds([{ path: 'waitSeconds', value: waitSeconds, min: 0, max: MAX_WAIT_SECONDS }]);
    const name = change.name ?? current.name;
    await this.#store.rescope(domain, id, { name, skills: scope.skills, tags: scope.tags, waitSeconds });
    await this.#audit.record(domain, {
      actor: actorOf(caller),
      action: 'mcp-client.updated',
      target: `mcp-client:${id}`,
      details: {
        name,
        skillsBefore: current.skills,
        skillsAfter: scope.skills,
        tagsBefore: current.tags,
        tagsAfter: scope.tags,
        waitSeconds,
      },
    });
    return { ...current, name, skills: scope.skills, tags: scope.tags, waitSeconds };
  }

  /**
   * Revokes a client: its owner, or a user admin who may manage its owner (see `get`). The next call
   * with its token is refused.
   */
  async revoke(domain: TenantContext, caller: Caller, id: string): Promise<void> {
    const client = await this.get(domain, caller, id);
    if (client.revoked) return;
    const now = this.#now().toISOString();
    await this.#store.revoke(domain, id, now, caller.username);
    await this.#audit.record(domain, {
      actor: actorOf(caller),
      action: 'mcp-client.revoked',
      target: `mcp-client:${id}`,
      details: { name: client.name, owner: client.owner },
    });
  }

  /**
   * Revokes every client of a removed user (identity.md, *Removing a user*), for the user admin who
   * removed them: each audited as `mcp-client.revoked`. Their tokens were refused from the removal on
   * (the owner is no user any more); this says so in the listings. Harmless to repeat.
   */
  async revokeAllOf(domain: TenantContext, owner: string, by: Caller): Promise<number> {
    let revoked = 0;
    for (const client of await this.#store.clientsOf(domain, owner)) {
      if (client.revoked) continue;
      await this.#store.revoke(domain, client.id, this.#now().toISOString(), by.username);
      await this.#audit.record(domain, {
        actor: actorOf(by),
        action: 'mcp-client.revoked',
        target: `mcp-client:${client.id}`,
        details: { name: client.name, owner, reason: 'user-removed' },
      });
      revoked++;
    }
    return revoked;
  }

  /**
   * The caller behind a client token on this host: the owner as they are now (not disabled, still
   * holding `mcp:connect`), with the permissions they hold narrowed to CLIENT_PERMISSIONS.
   */
  async authenticate(domain: TenantContext, authorization: string | undefined): Promise<Caller> {
    const bearer = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
    if (bearer?.[1] === undefined) throw new AuthenticationError('An AI client token is required');
    const match = TOKEN_PATTERN.exec(bearer[1]);
    if (match === null) throw new AuthenticationError(INVALID);
    const [, id = '', secret = ''] = match;
    const stored = await this.#store.credential(domain, id);
    const matches = matchesSecretHash(secret, stored?.secretHash);
    const now = this.#now();
    if (
      stored === null ||
      !matches ||
      stored.client.revoked ||
      stored.host !== domain.host ||
      !(Date.parse(stored.client.expiresAt) > now.getTime())
    ) {
      throw new AuthenticationError(INVALID);
    }
    const client = stored.client;
    // The user as they are now; a client made at or before their sessions were ended (a new
    // password, a disabling, "end all sessions") is over, like their access tokens: re-enabling the
    // user revives none, and the bearer is not told why.
    const user = await this.#directory.getUser(domain, client.owner, { consistent: true });
    if (user === null || user.disabled || endedBySessionsReset(user, client.createdAt)) {
      throw new AuthenticationError(INVALID);
    }
    const held = await this.#directory.permissionsOf(domain, user.roles);
    if (!held.has(MCP_PERMISSION)) {
      throw new ForbiddenError(`${client.owner} may no longer connect AI clients (${MCP_PERMISSION})`, {
        extra: { permission: MCP_PERMISSION },
      });
    }
    const last = client.lastUsedAt === null ? 0 : Date.parse(client.lastUsedAt);
    if (now.getTime() - last > LAST_USED_GRANULARITY_MS) {
      await this.#store.markUsed(domain, id, now.toISOString());
    }
    return {
      username: user.username,
      roles: user.roles,
      permissions: new Set([...held].filter((permission) => CLIENT_PERMISSIONS.has(permission))),
      superAdmin: false,
      via: 'mcp-client',
      credentialId: id,
      client: {
        id,
        name: client.name,
        skills: client.skills,
        tags: client.tags,
        waitSeconds: Math.min(Math.max(0, client.waitSeconds), MAX_WAIT_SECONDS),
      },
    };
  }

  /** Keeps one tool call in the client's call log. */
  async recordCall(domain: TenantContext, client: CallerClient, call: Omit<McpCall, 'at'>): Promise<void> {
    const now = this.#now();
    const at = now.toISOString();
    await this.#store.recordCall(
      domain,
      client.id,
      {
        at,
        ...call,
        ...(call.error === undefined
          ? {}
          : { error: { type: call.error.type.slice(0, 200), message: call.error.message.slice(0, 1000) } }),
      },
      randomBytes(4).toString('hex'),
      Math.floor(now.getTime() / 1000) + CALL_LOG_DAYS * 86_400,
    );
  }

  /** A client's calls, newest first, for whoever may see the client. */
  async calls(
    domain: TenantContext,
    caller: Caller,
    id: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<McpCall>> {
    await this.get(domain, caller, id);
    return this.#store.calls(domain, id, limit, cursor);
  }

  #usable(client: McpClient): boolean {
    return !client.revoked && Date.parse(client.expiresAt) > this.#now().getTime();
  }

  async #find(domain: TenantContext, id: string): Promise<McpClient | null> {
    if (!MCP_CLIENT_ID_PATTERN.test(id)) return null;
    const client = await this.#store.find(domain, id);
    return client === null ? null : ((await this.#withEnd(domain, [client]))[0] ?? null);
  }

  /** Those of `clients` whose owner is the caller or a user the caller may manage (each owner read once). */
  async #ofManageableOwners(
    domain: TenantContext,
    caller: Caller,
    clients: readonly McpClient[],
  ): Promise<McpClient[]> {
    const others = [...new Set(clients.map((client) => client.owner))].filter(
      (owner) => owner !== caller.username,
    );
    const manageable = new Set<string>([caller.username]);
    for (const owner of others) {
      const user = await this.#directory.getUser(domain, owner, { consistent: true });
      if (user !== null && (await this.#directory.mayManage(domain, user, caller))) manageable.add(owner);
    }
    return clients.filter((client) => manageable.has(client.owner));
  }

  /** The tenant's clients (bounded: at most MAX_CLIENTS_PER_USER active per user), optionally one owner's. */
  async #clientsOf(domain: TenantContext, owner: string | undefined): Promise<McpClient[]> {
    return this.#withEnd(domain, await this.#store.clientsOf(domain, owner));
  }

  /**
   * Marks the clients made at or before their owner's sessions were ended (refused from then on):
   * each owner read once, as they are now.
   */
  async #withEnd(domain: TenantContext, clients: readonly McpClient[]): Promise<McpClient[]> {
    const owners = new Map<string, string | null>();
    for (const owner of new Set(clients.filter((client) => !client.revoked).map((client) => client.owner))) {
      const user = await this.#directory.getUser(domain, owner, { consistent: true });
      owners.set(owner, user?.sessionsValidAfter ?? null);
    }
    return clients.map((client) => {
      const endedAt = owners.get(client.owner) ?? null;
      return endedAt !== null && endedBySessionsReset({ sessionsValidAfter: endedAt }, client.createdAt)
        ? { ...client, endedAt }
        : client;
    });
  }

  /** Checks a scope: Skills the caller may see and run, well-formed tags, something chosen. */
  async #scope(
    domain: TenantContext,
    caller: Caller,
    skills: readonly string[],
    tags: readonly string[],
  ): Promise<{ skills: string[]; tags: string[] }> {
    const uniqueSkills = [...new Set(skills)];
    const uniqueTags = [...new Set(tags)];
    const issues: FieldIssue[] = [];
    if (uniqueSkills.length === 0 && uniqueTags.length === 0)
      issues.push({ path: 'skills', message: 'choose at least one Skill or tag' });
    if (uniqueSkills.length > MAX_CLIENT_SKILLS)
      issues.push({ path: 'skills', message: `at most ${MAX_CLIENT_SKILLS} Skills` });
    if (uniqueTags.length > MAX_CLIENT_TAGS)
      issues.push({ path: 'tags', message: `at most ${MAX_CLIENT_TAGS} tags` });
    uniqueTags.forEach((tag, index) => {
      if (!SKILL_TAG_PATTERN.test(tag)) issues.push({ path: `tags.${index}`, message: 'not a valid tag' });
    });
    if (issues.length > 0) throw new ValidationError('The AI client scope is invalid', issues);
    if (!caller.permissions.has('skill:run')) {
      throw new ForbiddenError('An AI client runs Skills: this needs the permission skill:run', {
        extra: { permission: 'skill:run' },
      });
    }
    for (const [index, id] of uniqueSkills.entries()) {
      const visible = SKILL_ID_PATTERN.test(id) ? await this.#visible(domain, caller, id) : false;
      if (!visible)
        issues.push({ path: `skills.${index}`, message: `no Skill ${id.slice(0, 40)} you may run` });
    }
    if (issues.length > 0) throw new ValidationError('The AI client scope is invalid', issues);
    return { skills: uniqueSkills.sort(), tags: uniqueTags.sort() };
  }

  async #visible(domain: TenantContext, caller: Caller, id: string): Promise<boolean> {
    try {
      return canSee(caller, await this.#skills.get(domain, id));
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }
}

function checkBounds(checks: readonly { path: string; value: number; min: number; max: number }[]): void {
  const issues = checks
    .filter(({ value, min, max }) => !Number.isInteger(value) || value < min || value > max)
    .map(({ path, min, max }) => ({ path, message: `an integer from ${min} to ${max}` }));
  if (issues.length > 0) throw new ValidationError('Out of bounds', issues);
}
