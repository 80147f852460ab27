/**
 * `login`, `logout`, `whoami`. Login signs in with a password once, mints a personal access token
 * (scoped to the permissions the user holds, named after this machine), ends the password session
 * and keeps only the token, in the host's profile. Logout revokes that token on the platform.
 */
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { type ApiClient, parseHost } from '../client.ts';
import type { CliContext } from '../context.ts';
import { readStdin } from '../context.ts';
import { ApiError, CliError, ConnectionError, UsageError } from '../errors.ts';
import { connect, ENV_TOKEN, resolveOrigin, resolveTarget, type TargetOptions } from '../target.ts';

export interface LoginOptions extends TargetOptions {
  readonly host: string;
  readonly username?: string;
  readonly passwordStdin?: boolean;
  readonly tokenName?: string;
  readonly expiresInDays: number;
}

/** Asks a question on the terminal; with `secret`, what is typed is not echoed. */
function ask(context: CliContext, question: string, secret: boolean): Promise<string> {
  return new Promise((resolve) => {
    const terminal = process.stderr;
    const rl = createInterface({ input: context.stdin, output: terminal, terminal: true });
    if (secret) {
      const write = terminal.write.bind(terminal);
      // Show the question, then swallow the echo of what is typed.
      (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = (text: string) => {
        if (text.includes(question)) write(text);
      };
    }
    rl.question(question, (answer) => {
      rl.close();
      if (secret) terminal.write('\n');
      resolve(answer);
    });
  });
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
    username = (await ask(context, `Username on ${origin.host}: `, false)).trim();
  }
  let password: string;
  if (options.passwordStdin === true) {
    password = (await readStdin(context, 4096)).replace(/\r?\n$/, '');
  } else {
    if (context.stdin.isTTY !== true) {
      throw new UsageError('Pass --password-stdin and the password on standard input (it is not a terminal)');
    }
    password = await ask(context, `Password for ${username}: `, true);
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
