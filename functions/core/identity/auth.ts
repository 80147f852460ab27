/**
 * Sign-in, sessions and personal access tokens.
 *
 * - A session token is HMAC-signed and names its domain and host; it is refused on any other host,
 *   and its session item (in the domain's own partition) must exist and not be revoked, so logout
 *   and revocation take effect on the next request. A password reset or a disabling ends every
 *   session the user had, and every personal access token made until then (re-enabling revives
 *   none; docs/decisions/identity.md). A good session is kept a few seconds per process
 *   (session-cache.ts): a change made here is seen at once, one made in another process within that
 *   bound (docs/decisions/session-cache.md). Access tokens are never kept: each use reads the token
 *   and its user as they are now.
 * - Every stored item is read and written through session-repository.ts and
 *   access-token-repository.ts; this module holds the rules.
 * - Personal access tokens (`efp_<id>_<secret>`, for the CLI) are shown once, stored as a SHA-256 of
 *   their 256-bit secret, scoped to a subset of the owner's permissions (a super-admin's token is a
 *   super-admin only when scoped to everything), revocable, and record their last use.
 * - Login failures are counted per username and host in fixed windows; past the limit every attempt
 *   is refused (correct password or not) until the window ends. Each attempt reserves its place in
 *   the count atomically before the password is checked (a success gives it back), so concurrent
 *   attempts cannot get more guesses than the limit. A failure never says whether the user exists,
 *   and takes as long either way.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessToken } from '../../contract/responses.ts';
import { counted } from '../../contract/wording.ts';
import type { AuditActor, AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import {
  AuthenticationError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  SessionEndedError,
  ValidationError,
  WrongPasswordError,
} from '../errors.ts';
import { matchesSecretHash, sha256 } from '../hashing.ts';
import { domainPk } from '../keys.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import { AccessTokenRepository } from './access-token-repository.ts';
import type { Caller } from './caller.ts';
import {
  type Directory,
  endedByPasswordChange,
  endedBySessionsReset,
  type RemovedUser,
  type StoredUser,
  type User,
  validatePassword,
} from './directory.ts';
import { verifyPassword } from './passwords.ts';
import { type CachedSession, SessionCache, type SessionCacheOptions } from './session-cache.ts';
import { SessionRepository } from './session-repository.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { AccessToken };

const SESSION_PREFIX = 'efs';
const PAT_PREFIX = 'efp';
const PAT_PATTERN = /^efp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface AuthOptions {
  readonly table: Table;
  readonly directory: Directory;
  readonly audit: AuditLog;
  /** Key material for session signatures (≥ 32 bytes of entropy). */
  readonly tokenSecret: string;
  readonly now?: () => Date;
  /** @default 28_800 (8 hours) */
  readonly sessionSeconds?: number;
  /** Failed logins per username and host per window before refusing. @default 5 */
  readonly maxFailures?: number;
  /** @default 900 */
  readonly failureWindowSeconds?: number;
  /**
   * The per-process cache of good sessions (docs/decisions/session-cache.md).
   * @default 5 s, 10 000 sessions
   */
  readonly sessionCache?: SessionCacheOptions;
}

export interface LoginResult {
  readonly token: string;
  readonly expiresAt: string;
  readonly user: {
    readonly username: string;
    readonly roles: readonly string[];
    readonly superAdmin: boolean;
  };
}

export interface RequestMeta {
  readonly requestId?: string;
  readonly sourceIp?: string;
}

interface SessionClaims {
  readonly sid: string;
  readonly sub: string;
  readonly dom: string;
  readonly host: string;
  readonly iat: number;
  readonly exp: number;
}

const INVALID = 'Invalid or expired credentials';

export class Auth {
  readonly #sessions: SessionRepository;
  readonly #tokens: AccessTokenRepository;
  readonly #cache: SessionCache;
  readonly #directory: Directory;
  readonly #audit: AuditLog;
  readonly #signingKey: Buffer;
  readonly #now: () => Date;
  readonly #sessionSeconds: number;
  readonly #maxFailures: number;
  readonly #windowSeconds: number;

  constructor(options: AuthOptions) {
    if (options.tokenSecret.length < 32) throw new Error('tokenSecret must hold at least 32 characters');
    this.#sessions = new SessionRepository(options.table);
    this.#tokens = new AccessTokenRepository(options.table);
    this.#directory = options.directory;
    this.#audit = options.audit;
    this.#signingKey = createHmac('sha256', options.tokenSecret).update('execfabric-session-v1').digest();
    this.#now = options.now ?? (() => new Date());
    this.#sessionSeconds = options.sessionSeconds ?? 8 * 3600;
    this.#maxFailures = options.maxFailures ?? 5;
    this.#windowSeconds = options.failureWindowSeconds ?? 900;
    this.#cache = new SessionCache({
      ...options.sessionCache,
      now: options.sessionCache?.now ?? (() => this.#now().getTime()),
    });
    // A user changed in this process (disabled, re-passworded, re-roled) is re-read at once.
    this.#directory.onUserChanged((domain, username) => this.#cache.forgetUser(domainPk(domain), username));
  }

  async login(
    domain: DomainContext,
    username: string,
    password: string,
    meta: RequestMeta = {},
  ): Promise<LoginResult> {
    const name = username.trim().toLowerCase();
    const { subject, window } = await this.#reserveAttempt(domain, name, meta, {
      actor: { username: name.slice(0, 64), via: 'anonymous' },
      action: 'auth.login.refused',
    });

    const user = await this.#directory.getUser(domain, name);
    const passwordOk = await verifyPassword(password, user?.passwordHash);
    if (user === null || !passwordOk || user.disabled) {
      // The reserved attempt stays counted as a failure.
      await this.#audit.record(domain, {
        actor: { username: name.slice(0, 64), via: 'anonymous' },
        action: 'auth.login.failed',
        target: `user:${name.slice(0, 64)}`,
        details: { sourceIp: meta.sourceIp ?? null },
        ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
      });
      throw new AuthenticationError(INVALID);
    }
    await this.#sessions.releaseAttempt(domain, subject, window);
    return this.#startSession(domain, user, meta, 'password');
  }

  /**
   * Counts one attempt at `name`'s password on this host (sign-in and password change share the
   * count), or refuses it, audited as `refused`, once the window holds the limit of failures.
   */
  async #reserveAttempt(
    domain: DomainContext,
    name: string,
    meta: RequestMeta,
    refused: { readonly actor: AuditActor; readonly action: string },
  ): Promise<{ subject: string; window: number }> {
    const now = this.#now();
    const window = Math.floor(now.getTime() / 1000 / this.#windowSeconds);
    const subject = sha256(`${name}|${domain.host}`);
    const reserved = await this.#sessions.reserveAttempt(
      domain,
      subject,
      window,
      this.#windowSeconds,
      this.#maxFailures,
    );
    if (!reserved) {
      const retryAfter = (window + 1) * this.#windowSeconds - Math.floor(now.getTime() / 1000);
      await this.#audit.record(domain, {
        actor: refused.actor,
        action: refused.action,
        target: `user:${name.slice(0, 64)}`,
        details: { reason: 'rate-limited', sourceIp: meta.sourceIp ?? null },
        ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
      });
      const wait = Math.max(1, retryAfter);
      throw new RateLimitedError(
        `Too many failed sign-in attempts; try again in ${
          wait >= 90 ? counted(Math.ceil(wait / 60), 'minute') : counted(wait, 'second')
        }`,
        wait,
      );
    }
    return { subject, window };
  }

  /**
   * The caller's own new password. Only a session signed in with a password may change it (never a
   * personal access token, an AI client or a schedule: a stolen token must not become the account).
   * The current password is checked like a sign-in and counted toward the same lock-out; the new
   * one is held to the password policy. Every session the user had ends (directory.ts
   * `setOwnPassword`), and the caller goes on in a new session, answered like a sign-in.
   */
  async changePassword(
    domain: DomainContext,
    caller: Caller,
    passwords: { readonly current: string; readonly next: string },
    meta: RequestMeta = {},
  ): Promise<LoginResult> {
    if (caller.via !== 'session') {
      throw new ForbiddenError('A password is changed from a signed-in session only, never with a token');
    }
    // The new password's shape first: a form that cannot be accepted costs no attempt.
    validatePassword(passwords.next, 'newPassword', { name: caller.username });
    const { subject, window } = await this.#reserveAttempt(domain, caller.username, meta, {
      actor: { username: caller.username, via: caller.via },
      action: 'user.password-change.refused',
    });
    const user = await this.#directory.getUser(domain, caller.username);
    const currentOk = await verifyPassword(passwords.current, user?.passwordHash);
    if (user === null || !currentOk || user.disabled) {
      // The reserved attempt stays counted as a failure.
      await this.#audit.record(domain, {
        actor: { username: caller.username, via: caller.via },
        action: 'user.password-change.failed',
        target: `user:${caller.username}`,
        details: { session: caller.credentialId, sourceIp: meta.sourceIp ?? null },
        ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
      });
      throw new WrongPasswordError('The current password is wrong', 'currentPassword');
    }
    await this.#sessions.releaseAttempt(domain, subject, window);
    if (passwords.next === passwords.current) {
      throw new ValidationError('Password does not meet the policy', [
        { path: 'newPassword', message: 'must differ from your current password' },
      ]);
    }
    const changed = await this.#directory.setOwnPassword(domain, user, passwords.next, caller);
    return this.#startSession(domain, changed, meta, 'password-change');
  }

  /**
   * A session for `username` without a password, for one who has just proved who they are another
   * way (a one-time sign-in handoff from the free entry's sign-up). Refused like a bad password when
   * the user does not exist or is disabled.
   */
  async startVerifiedSession(
    domain: DomainContext,
    username: string,
    meta: RequestMeta,
    method: 'handoff',
  ): Promise<LoginResult> {
    const user = await this.#directory.getUser(domain, username);
    if (user === null || user.disabled) throw new AuthenticationError(INVALID);
    return this.#startSession(domain, user, meta, method);
  }

  async #startSession(
    domain: DomainContext,
    user: User,
    meta: RequestMeta,
    method: 'password' | 'handoff' | 'password-change',
  ): Promise<LoginResult> {
    const now = this.#now();
    const sid = randomBytes(16).toString('hex');
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.#sessionSeconds;
    await this.#sessions.create(domain, {
      sid,
      username: user.username,
      host: domain.host,
      createdAt: now.toISOString(),
      expiresAtEpoch: exp,
    });
    await this.#audit.record(domain, {
      actor: { username: user.username, via: 'session' },
      action: 'auth.login',
      target: `user:${user.username}`,
      details: {
        session: sid,
        sourceIp: meta.sourceIp ?? null,
        ...(method === 'password' ? {} : { method }),
      },
      ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
    });
    const claims: SessionClaims = {
      sid,
      sub: user.username,
      dom: domainPk(domain),
      host: domain.host,
      iat,
      exp,
    };
    return {
      token: this.#sign(claims),
      expiresAt: new Date(exp * 1000).toISOString(),
      user: {
        username: user.username,
        roles: user.roles,
        superAdmin: this.#directory.isSuperAdmin(domain, user),
      },
    };
  }

  /** The caller behind a session token from the browser's session cookie (never an access token). */
  async authenticateSessionToken(domain: DomainContext, token: string): Promise<Caller> {
    return this.#authenticateSession(domain, token);
  }

  /**
   * The CSRF token of a session: an HMAC of its id, so it is known only to whoever may read the
   * session's own answers (`GET /api/me`) and dies with the session.
   */
  csrfToken(caller: Caller): string {
    return createHmac('sha256', this.#signingKey).update(`csrf|${caller.credentialId}`).digest('base64url');
  }

  /** The caller behind an `Authorization: Bearer …` header, for this domain and host only. */
  async authenticate(domain: DomainContext, authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
    if (match?.[1] === undefined) throw new AuthenticationError('A bearer token is required');
    const token = match[1];
    if (token.startsWith(`${PAT_PREFIX}_`)) return this.#authenticatePat(domain, token);
    return this.#authenticateSession(domain, token);
  }

  /**
   * Ends the caller's session; with `everywhere`, every session the user has in this domain (other
   * browsers and devices too) ends as well.
   */
  async logout(domain: DomainContext, caller: Caller, options: { everywhere?: boolean } = {}): Promise<void> {
    if (caller.via !== 'session')
      throw new ValidationError('Only a session can log out; revoke tokens instead');
    const now = this.#now().toISOString();
    await this.#sessions.revoke(domain, caller.credentialId, now);
    // Refused at once in this process; elsewhere once their cached entry ends (seconds).
    this.#cache.forgetSession(domainPk(domain), caller.credentialId);
    if (options.everywhere === true) {
      // Sessions created before this instant are refused from now on (as after a password reset), and
      // so are the user's access tokens and AI clients made until now.
      await this.#sessions.endSessionsOf(domain, caller.username, now);
      this.#cache.forgetUser(domainPk(domain), caller.username);
    }
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: options.everywhere === true ? 'auth.logout.everywhere' : 'auth.logout',
      target: `user:${caller.username}`,
      details: { session: caller.credentialId },
    });
  }

  /** Creates a personal access token; the returned `token` is shown once and never stored. */
  async createAccessToken(
    domain: DomainContext,
    caller: Caller,
    input: { name: string; scopes: readonly string[]; expiresInDays: number },
  ): Promise<AccessToken & { token: string }> {
    // A token cannot mint tokens: it would outlive its parent and survive the parent's revocation.
    if (caller.via !== 'session')
      throw new ForbiddenError('Access tokens are created from a signed-in session only');
    const notHeld = input.scopes.filter((scope) => !caller.permissions.has(scope));
    if (notHeld.length > 0)
      throw new ForbiddenError(`A token cannot hold permissions you lack: ${notHeld.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + input.expiresInDays * 86_400_000);
    const token: AccessToken = {
      id,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      createdAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      lastUsedAt: null,
      revoked: false,
    };
    await this.#tokens.create(domain, {
      ...token,
      username: caller.username,
      host: domain.host,
      secretHash: sha256(secret),
    });
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: 'token.created',
      target: `token:${id}`,
      details: { name: input.name, scopes: token.scopes, expiresAt: token.expiresAt },
    });
    return { ...token, token: `${PAT_PREFIX}_${id}_${secret}` };
  }

  /** The caller's own tokens (never their secrets); those their sessions' end took carry `endedAt`. */
  async listAccessTokens(domain: DomainContext, caller: Caller): Promise<AccessToken[]> {
    const user = await this.#directory.getUser(domain, caller.username, { consistent: true });
    return this.#withEnd(await this.#tokens.listOf(domain, caller.username), user);
  }

  /**
   * The tokens of `username`, for a user admin (the route asks `user:manage`) who may manage that
   * user: never their secrets. No such user in this domain: NotFoundError.
   */
  async listAccessTokensOf(domain: DomainContext, caller: Caller, username: string): Promise<AccessToken[]> {
    const user = await this.#directory.manageableUser(domain, username, caller);
    return this.#withEnd(await this.#tokens.listOf(domain, user.username), user);
  }

  async revokeAccessToken(domain: DomainContext, caller: Caller, id: string): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new NotFoundError('Token not found');
    // The owner; or a user admin who may manage the owner, as on the users page (it was any holder
    // of user:manage, so a lesser user admin could revoke an admin's tokens by id).
    const owner = (await this.#tokens.get(domain, id))?.username;
    if (owner === undefined || (owner !== caller.username && !caller.permissions.has('user:manage'))) {
      throw new NotFoundError('Token not found');
    }
    if (owner !== caller.username) await this.#directory.manageableUser(domain, owner, caller);
    await this.#tokens.revoke(domain, id, this.#now().toISOString(), owner);
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: 'token.revoked',
      target: `token:${id}`,
      ...(owner === caller.username ? {} : { details: { owner } }),
    });
  }

  /**
   * Revokes a token of `username` for a user admin who may manage that user; a token that is not
   * theirs (or not there) is NotFoundError. Audited as the owner's own revocation is, naming the owner.
   */
  async revokeAccessTokenOf(
    domain: DomainContext,
    caller: Caller,
    username: string,
    id: string,
  ): Promise<void> {
    const user = await this.#directory.manageableUser(domain, username, caller);
    if (!/^[0-9a-f]{16}$/.test(id)) throw new NotFoundError('Token not found');
    await this.#tokens.revoke(domain, id, this.#now().toISOString(), user.username);
    await this.#audit.record(domain, {
      actor: { username: caller.username, via: caller.via },
      action: 'token.revoked',
      target: `token:${id}`,
      details: { owner: user.username },
    });
  }

  /**
   * Removes a user (Directory.removeUser says who may, and what is refused), then revokes every
   * personal access token of theirs: refused from the removal on already (their user is no more),
   * revoked so that the listings and any later reading say so. Each revocation is audited as
   * `token.revoked`, naming the owner. A removal retried (its answer lost, or stopped midway) does
   * what is left.
   */
  async removeUser(domain: DomainContext, caller: Caller, username: string): Promise<RemovedUser> {
    const removed = await this.#directory.removeUser(domain, username, caller);
    for (const token of await this.#tokens.listOf(domain, removed.username)) {
      if (token.revoked) continue;
      await this.#tokens.revoke(domain, token.id, this.#now().toISOString(), removed.username);
      await this.#audit.record(domain, {
        actor: { username: caller.username, via: caller.via },
        action: 'token.revoked',
        target: `token:${token.id}`,
        details: { owner: removed.username, reason: 'user-removed' },
      });
    }
    return removed;
  }

  /** Marks the tokens made at or before their user's sessions were ended (refused from then on). */
  #withEnd(tokens: readonly AccessToken[], user: StoredUser | null): AccessToken[] {
    const endedAt = user?.sessionsValidAfter ?? null;
    if (user === null || endedAt === null) return [...tokens];
    return tokens.map((token) =>
      !token.revoked && endedBySessionsReset(user, token.createdAt) ? { ...token, endedAt } : token,
    );
  }

  #sign(claims: SessionClaims): string {
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    const signature = createHmac('sha256', this.#signingKey)
      .update(`${SESSION_PREFIX}.${payload}`)
      .digest('base64url');
    return `${SESSION_PREFIX}.${payload}.${signature}`;
  }

  #verify(token: string): SessionClaims {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== SESSION_PREFIX) throw new AuthenticationError(INVALID);
    const [, payload = '', signature = ''] = parts;
    const expected = createHmac('sha256', this.#signingKey).update(`${SESSION_PREFIX}.${payload}`).digest();
    // Base64 decoding skips stray characters and the unused low bits of the last one, so several
    // strings decode to the same bytes: only the one canonical encoding of the signature is a token.
    const given = Buffer.from(signature, 'base64url');
    if (
      given.length !== expected.length ||
      !timingSafeEqual(given, expected) ||
      given.toString('base64url') !== signature
    ) {
      throw new AuthenticationError(INVALID);
    }
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
    } catch (cause) {
      throw new AuthenticationError(INVALID, { cause });
    }
  }

  async #authenticateSession(domain: DomainContext, token: string): Promise<Caller> {
    const claims = this.#verify(token);
    const now = this.#now().getTime();
    const nowSeconds = Math.floor(now / 1000);
    const pk = domainPk(domain);
    // The token's domain and host must be this request's: a token never crosses hosts (checked
    // before the cache is consulted, and the cache key names both again).
    if (claims.dom !== pk || claims.host !== domain.host || claims.exp <= nowSeconds) {
      throw new AuthenticationError(INVALID);
    }
    const key = SessionCache.keyOf(pk, domain.host, token);
    const cached = this.#cache.lookup(key);
    if (cached !== undefined && cached.sid === claims.sid && cached.username === claims.sub) {
      return this.#caller(domain, cached, 'session', claims.sid);
    }
    const generation = this.#cache.generation;
    const { session, user } = await this.#sessions.sessionWithUser(domain, claims.sid, claims.sub);
    if (session === null || session.revokedAt !== null || session.expiresAtEpoch <= nowSeconds) {
      throw new AuthenticationError(INVALID);
    }
    if (user === null || user.disabled) throw new AuthenticationError(INVALID);
    if (user.sessionsValidAfter !== null && session.createdAt < user.sessionsValidAfter) {
      // Ended by a new password: its holder is told that much, so the sign-in page can say why
      // (they proved they hold this session's token; a disabling or "end all sessions" says nothing).
      if (endedByPasswordChange(user, session.createdAt)) throw new SessionEndedError('password-changed');
      throw new AuthenticationError(INVALID);
    }
    const good: CachedSession = {
      domain: pk,
      host: domain.host,
      sid: claims.sid,
      username: user.username,
      roles: user.roles,
      superAdmin: user.superAdmin,
    };
    this.#cache.remember(key, good, Math.min(session.expiresAtEpoch, claims.exp) * 1000, generation);
    return this.#caller(domain, good, 'session', claims.sid);
  }

  async #authenticatePat(domain: DomainContext, token: string): Promise<Caller> {
    const match = PAT_PATTERN.exec(token);
    if (match === null) throw new AuthenticationError(INVALID);
    const [, id = '', secret = ''] = match;
    const item = await this.#tokens.get(domain, id);
    // Compared even when there is no such token, so a miss takes as long as a wrong secret.
    const matches = matchesSecretHash(secret, item?.secretHash);
    const now = this.#now();
    if (
      item === null ||
      !matches ||
      item.revoked ||
      item.host !== domain.host ||
      Date.parse(item.expiresAt) <= now.getTime()
    ) {
      throw new AuthenticationError(INVALID);
    }
    // Read as it is now, and refused like any dead token (the bearer is not told why) when it was
    // made at or before the user's sessions were ended (a new password, a disabling, "end all
    // sessions"): re-enabling the user revives none. Tokens are never cached, so this holds from the
    // next request on, in every process.
    const user = await this.#directory.getUser(domain, item.username, { consistent: true });
    if (user === null || user.disabled || endedBySessionsReset(user, item.createdAt)) {
      throw new AuthenticationError(INVALID);
    }
    const last = item.lastUsedAt === null ? 0 : Date.parse(item.lastUsedAt);
    if (now.getTime() - last > 60_000) await this.#tokens.markUsed(domain, id, now.toISOString());
    const caller = await this.#caller(domain, user, 'personal-access-token', id);
    const scopes = new Set(item.scopes);
    const permissions = new Set([...caller.permissions].filter((permission) => scopes.has(permission)));
    // Super-admin status is checked by itself in places (e.g. creating super-admins), so a token
    // carries it only when it is scoped to everything a super-admin holds.
    const superAdmin =
      caller.superAdmin &&
      this.#directory.allPermissions(domain).every((permission) => permissions.has(permission));
    return { ...caller, permissions, superAdmin };
  }

  async #caller(
    domain: DomainContext,
    user: Pick<User, 'username' | 'roles' | 'superAdmin'>,
    via: Caller['via'],
    credentialId: string,
  ): Promise<Caller> {
    const superAdmin = this.#directory.isSuperAdmin(domain, user);
    const permissions = superAdmin
      ? new Set(this.#directory.allPermissions(domain))
      : await this.#directory.permissionsOf(domain, user.roles);
    return { username: user.username, roles: user.roles, permissions, superAdmin, via, credentialId };
  }
}
