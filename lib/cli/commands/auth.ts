/**
 * `login`, `logout`, `whoami`, `password`. Login signs in with a password once, mints a personal
 * access token (scoped to the permissions the user holds, named after this machine), ends the
 * password session and keeps only the token, in the host's profile. Logout revokes that token on the
 * platform. Password changes the user's own password and renews the sign-in the change ended.
 */
import { hostname } from 'node:os';
import { type ApiClient, parseHost } from '../client.ts';
import type { Profile } from '../config.ts';
import type { CliContext } from '../context.ts';
import { readStdin } from '../context.ts';
import { ApiError, CliError, ConnectionError, UsageError } from '../errors.ts';
import { hint } from '../invocation.ts';
import { askLine, readSecret, type SecretPrompts, secretPrompts, type Terminal } from '../prompt.ts';
import { connect, ENV_TOKEN, resolveOrigin, resolveTarget, type TargetOptions } from '../target.ts';

export interface LoginOptions extends TargetOptions {
  readonly host: string;
  readonly username?: string;
  readonly passwordStdin?: boolean;
  readonly tokenName?: string;
  readonly expiresInDays: number;
}

/** The terminal the questions are asked on: standard input, and stderr (stdout is the result). */
function terminalOf(context: CliContext): Terminal {
  return { input: context.stdin, output: process.stderr };
}

export async function login(context: CliContext, options: LoginOptions): Promise<void> {
  const origin = parseHost(options.host);
  const anonymous = connect(origin, undefined, options, context);
  const health = await anonymous.get('/api/health');
  const domain =
    health.body?.domain === 'tenant' ? `tenant ${health.body.tenant?.id}` : 'the governance console';

  let username = options.username;
  if (username === undefined) {
    if (context.stdin.isTTY !== true)
      throw new UsageError('Pass --username (standard input is not a terminal)');
    username = (await askLine(terminalOf(context), `Username on ${origin.host}: `)).trim();
  }
  let password: string;
  if (options.passwordStdin === true) {
    password = (await readStdin(context, 4096)).replace(/\r?\n$/, '');
  } else {
    if (context.stdin.isTTY !== true) {
      throw new UsageError('Pass --password-stdin and the password on standard input (it is not a terminal)');
    }
    password = await readSecret(terminalOf(context), `Password for ${username}: `);
  }
  if (username === '' || password === '') throw new UsageError('A username and a password are needed');

  const session = await anonymous.post('/api/auth/login', { username, password }).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      throw new CliError(
        `Sign-in refused on ${origin.host}: wrong username or password (or the account is disabled)`,
      );
    }
    throw error;
  });
  const sessionClient = anonymous.withToken(String(session.body.token));
  try {
    const kept = await keepAccessToken(context, sessionClient, {
      name: options.tokenName ?? defaultTokenName(),
      expiresInDays: options.expiresInDays,
    });
    context.output.out(
      `Signed in to ${origin.host} (${domain}) as ${kept.username}. Access token ${kept.id} saved in ${context.store.file}; it expires ${kept.expiresAt.slice(0, 10)}.`,
    );
  } finally {
    await sessionClient.post('/api/auth/logout', {}, { accept: [401] }).catch(() => undefined);
  }
}

function defaultTokenName(): string {
  return `execfabric CLI on ${hostname()}`;
}

interface KeptToken {
  readonly username: string;
  readonly id: string;
  readonly expiresAt: string;
  /** The id of the token the host's profile held before, now revoked. */
  readonly replaced?: string;
}

/**
 * Mints an access token from a password session (the user's permissions as its scopes) and keeps it
 * as the host's profile; the token the profile held before is revoked, as nothing keeps it any more.
 * Without the permission token:create it stops saying whom to ask, and stores nothing.
 */
async function keepAccessToken(
  context: CliContext,
  session: ApiClient,
  token: { readonly name: string; readonly expiresInDays: number },
): Promise<KeptToken> {
  const origin = session.origin;
  const me = (await session.get('/api/me')).body as {
    username: string;
    permissions: string[];
    domain: { kind: string; tenant?: { id: string } };
  };
  if (!me.permissions.includes('token:create')) {
    const tenant = me.domain.kind === 'tenant';
    throw new CliError(
      `${me.username} may not create access tokens on ${origin.host}: signing in with the CLI mints one, which needs the permission token:create`,
      {
        details: [
          `Ask an admin of ${tenant ? `tenant ${me.domain.tenant?.id}` : 'the governance console'} for a role holding the permission token:create (they give roles on the ${tenant ? "tenant front's Users & roles" : "governance console's Operators"} page).`,
        ],
      },
    );
  }
  const created = (
    await session.post('/api/tokens', {
      name: token.name.slice(0, 100),
      scopes: me.permissions,
      expiresInDays: token.expiresInDays,
    })
  ).body as { id: string; token: string; expiresAt: string; createdAt: string };
  const previous = context.store.profile(origin.origin);
  context.store.save({
    host: origin.origin,
    username: me.username,
    token: created.token,
    tokenId: created.id,
    expiresAt: created.expiresAt,
    createdAt: created.createdAt,
  });
  if (previous === undefined || previous.tokenId === created.id) {
    return { username: me.username, id: created.id, expiresAt: created.expiresAt };
  }
  // The profile held an older token of this host: it is no longer kept anywhere, so revoke it.
  await session.delete(`/api/tokens/${previous.tokenId}`, { accept: [401, 404] }).catch(() => undefined);
  return {
    username: me.username,
    id: created.id,
    expiresAt: created.expiresAt,
    replaced: previous.tokenId,
  };
}

export interface PasswordOptions extends TargetOptions {
  /** Whose password. @default the user of the host's stored sign-in */
  readonly username?: string;
  /** The current and the new password from standard input, one a line (no prompts). */
  readonly passwordStdin?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** What `POST /api/tokens` allows for `expiresInDays`. */
const TOKEN_DAYS = { min: 1, max: 365, default: 90 } as const;

/** The two passwords from standard input: two lines, the current password then the new one. */
async function passwordsFromStdin(context: CliContext): Promise<{ current: string; next: string }> {
  const lines = (await readStdin(context, 4096)).replace(/\r?\n$/, '').split(/\r?\n/);
  const [current, next] = lines;
  if (lines.length !== 2 || current === undefined || next === undefined) {
    throw new UsageError(
      `--password-stdin reads two lines, the current password and then the new one (got ${lines.length})`,
    );
  }
  return { current, next };
}

/**
 * The user's own password, changed with `POST /api/me/password` from a password session (the
 * platform refuses a token that). The change ends every session and access token of the user, the
 * CLI's own among them: when the host's stored sign-in is this user's, the CLI signs in again from
 * the session the change answers (no password asked twice) with a token like the one that ended
 * (its name and lifetime), and revokes the ended one. docs/decisions/cli.md, "Changing the password".
 */
export async function password(context: CliContext, options: PasswordOptions): Promise<void> {
  const origin = resolveOrigin(options, context.store, context.env);
  const anonymous = connect(origin, undefined, options, context);
  await anonymous.get('/api/health');
  const profile = context.store.profile(origin.origin);
  const interactive = options.passwordStdin !== true;
  if (interactive && context.stdin.isTTY !== true) {
    throw new UsageError(
      'Pass --password-stdin and the current and the new password on standard input, one a line (it is not a terminal)',
    );
  }
  let username = options.username ?? profile?.username;
  if (username === undefined) {
    if (!interactive || context.stdin.isTTY !== true) {
      throw new UsageError(`Pass --username: no sign-in to ${origin.host} is stored to say whose password`);
    }
    username = (await askLine(terminalOf(context), `Username on ${origin.host}: `)).trim();
  }
  const fromStdin = interactive ? undefined : await passwordsFromStdin(context);
  // One raw terminal from the current password to the new one's repetition: what is typed ahead
  // while the CLI signs in is not echoed (docs/decisions/cli.md, "Reading a password on the terminal").
  const prompts = fromStdin === undefined ? secretPrompts(terminalOf(context)) : null;
  try {
    await changePassword(context, { origin, anonymous, profile, username, fromStdin, prompts });
  } finally {
    prompts?.close();
  }
}

/** `password` from its first secret on: the sign-in, the new password asked twice, the change. */
async function changePassword(
  context: CliContext,
  {
    origin,
    anonymous,
    profile,
    username,
    fromStdin,
    prompts,
  }: {
    readonly origin: ReturnType<typeof resolveOrigin>;
    readonly anonymous: ApiClient;
    readonly profile: Profile | undefined;
    readonly username: string;
    readonly fromStdin: { readonly current: string; readonly next: string } | undefined;
    readonly prompts: SecretPrompts | null;
  },
): Promise<void> {
  const ask = (question: string): Promise<string> => {
    if (prompts === null) throw new Error('No terminal to ask on');
    return prompts.ask(question);
  };
  const current = fromStdin?.current ?? (await ask(`Current password for ${username}: `));
  if (username === '' || current === '')
    throw new UsageError('A username and the current password are needed');

  // A session from the current password: the platform changes a password from one only.
  const session = await anonymous
    .post('/api/auth/login', { username, password: current })
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) {
        throw new CliError(
          `The current password for ${username} on ${origin.host} is wrong (or the account is disabled); nothing was changed`,
          { details: ['Failed attempts count toward the sign-in lock-out, as at sign-in.'] },
        );
      }
      throw error;
    });
  const signedIn = anonymous.withToken(String(session.body.token));
  const sessions = [signedIn];
  try {
    let next = fromStdin?.next;
    if (next === undefined) {
      next = await ask('New password: ');
      if ((await ask('New password again: ')) !== next) {
        throw new UsageError('The new passwords do not match; nothing was changed');
      }
      // Nothing more is asked: Ctrl-C is a signal again while the change is sent.
      prompts?.close();
    }
    if (next === '') throw new UsageError('The new password is empty; nothing was changed');
    const changed = await signedIn
      .post('/api/me/password', { currentPassword: current, newPassword: next })
      .catch((error: unknown) => {
        throw error instanceof ApiError && REFUSALS.has(error.status)
          ? refusedChange(error, origin.host)
          : error;
      });
    const renewed = anonymous.withToken(String(changed.body.token));
    sessions.push(renewed);
    // The user as the platform names them (sign-in takes `ALICE` or ` alice` for `alice`): the
    // stored sign-in holds that name too, so it is what says whether the CLI's own token ended.
    const account = String(changed.body.user.username);
    context.output.out(
      `Password changed for ${account} on ${origin.host}: every other session and access token of ${account} has ended.`,
    );
    if (profile?.username === account) await signInAgain(context, renewed, profile);
    if (context.env[ENV_TOKEN] !== undefined && context.env[ENV_TOKEN] !== '') {
      context.output.info(
        `${ENV_TOKEN} holds a token made before the change: if it is ${account}'s, it has ended too; make a new one (Access tokens in the tenant front).`,
      );
    }
  } finally {
    for (const client of sessions) {
      await client.post('/api/auth/logout', {}, { accept: [401] }).catch(() => undefined);
    }
  }
}

/** How the platform refuses a change: a wrong current password (403), the policy (422), the lock-out (429). */
const REFUSALS: ReadonlySet<number> = new Set([403, 422, 429]);

/** The platform's refusal of a new password, worded for this command (its fields as the prompts name them). */
function refusedChange(error: ApiError, host: string): CliError {
  const field = (path: string) =>
    path === 'newPassword' ? 'new password' : path === 'currentPassword' ? 'current password' : path;
  return new CliError(`${host} refused the change: ${error.detail || error.message}; nothing was changed`, {
    details: error.fields.map((issue) => `${field(issue.path)}: ${issue.message}`),
  });
}

/**
 * The CLI's sign-in after its token ended with the password: a new token from the session the
 * change answered, named and lasting as the ended one did. When that cannot be done, the dead token
 * is forgotten and the user told to sign in again, as `login` would.
 */
async function signInAgain(context: CliContext, session: ApiClient, profile: Profile): Promise<void> {
  const origin = session.origin;
  const days = Math.round((Date.parse(profile.expiresAt) - Date.parse(profile.createdAt)) / DAY_MS);
  try {
    const tokens = (await session.get('/api/tokens')).body as { items: { id: string; name: string }[] };
    const ended = tokens.items.find((token) => token.id === profile.tokenId);
    const kept = await keepAccessToken(context, session, {
      name: ended?.name ?? defaultTokenName(),
      expiresInDays: Number.isFinite(days)
        ? Math.min(TOKEN_DAYS.max, Math.max(TOKEN_DAYS.min, days))
        : TOKEN_DAYS.default,
    });
    context.output.out(
      `Signed in again: access token ${kept.id} replaces ${profile.tokenId} in ${context.store.file}; it expires ${kept.expiresAt.slice(0, 10)}.`,
    );
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    context.store.remove(origin.origin);
    context.output.info(
      `The CLI's sign-in to ${origin.host} ended with the password and could not be renewed (${error.message}); it is removed.`,
    );
    for (const line of error.details) context.output.info(`  ${line}`);
    context.output.info(
      `Sign in again with \`${hint(`login --host ${origin.origin} -u ${profile.username}`, context.env)}\`.`,
    );
  }
}

export async function logout(context: CliContext, options: TargetOptions): Promise<void> {
  const origin = resolveOrigin(options, context.store, context.env);
  const profile = context.store.profile(origin.origin);
  if (profile === undefined) {
    context.output.out(`Not signed in to ${origin.host}; nothing to do.`);
    return;
  }
  let revoked = true;
  let problem = '';
  try {
    await connect(origin, profile.token, options, context).delete(`/api/tokens/${profile.tokenId}`, {
      accept: [401, 404],
    });
  } catch (error) {
    if (!(error instanceof ConnectionError || error instanceof ApiError)) throw error;
    revoked = false;
    problem = error.message;
  }
  context.store.remove(origin.origin);
  if (!revoked) {
    throw new CliError(
      `Removed the sign-in to ${origin.host} here, but could not revoke token ${profile.tokenId}: ${problem}`,
      {
        details: ['Revoke it in the tenant front (Access tokens) when the platform is reachable.'],
      },
    );
  }
  context.output.out(`Signed out of ${origin.host}; token ${profile.tokenId} is revoked.`);
}

export async function whoami(
  context: CliContext,
  options: TargetOptions & { json?: boolean },
): Promise<void> {
  const target = resolveTarget(options, context);
  const me = (await target.client.get('/api/me')).body as {
    username: string;
    roles: string[];
    permissions: string[];
    via: string;
    domain: { kind: string; tenant?: { id: string; name: string; status: string } };
  };
  if (options.json === true) {
    context.output.json({ host: target.origin, credential: target.via, ...me });
    return;
  }
  const where =
    me.domain.kind === 'tenant' && me.domain.tenant !== undefined
      ? `tenant ${me.domain.tenant.id} (${me.domain.tenant.name}, ${me.domain.tenant.status})`
      : 'the governance console';
  context.output.out(`${me.username} on ${target.client.host}: ${where}`);
  context.output.out(`roles: ${me.roles.join(', ') || '(none)'}`);
  context.output.out(
    `token: ${target.via === 'environment' ? ENV_TOKEN : `profile in ${context.store.file}`}`,
  );
}
