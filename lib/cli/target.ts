/**
 * Which platform host a command talks to, and with which token: `--host`, else EXECFABRIC_HOST,
 * else the host signed in to last; the token from EXECFABRIC_TOKEN (CI), else that host's profile.
 * Every client a command makes comes from `connect`, which retries a safe request the platform
 * answered "not now" unless `--no-retry` or EXECFABRIC_RETRY=0 says not to.
 */
import { DEFAULT_LOCAL_PORT, localPort } from '../local/port.ts';
import { ApiClient, describeRetry, parseHost, type RetryPolicy } from './client.ts';
import type { ConfigStore, Profile } from './config.ts';
import type { CliContext } from './context.ts';
import { NotSignedInError, UsageError } from './errors.ts';
import { hint } from './invocation.ts';

export const ENV_HOST = 'EXECFABRIC_HOST';
export const ENV_TOKEN = 'EXECFABRIC_TOKEN';
/** `0`: a request answered 429 or 503 fails at once (as `--no-retry`); `1` (the default) retries. */
export const ENV_RETRY = 'EXECFABRIC_RETRY';

export interface TargetOptions {
  readonly host?: string;
  /** false (`--no-retry`): a request answered 429 or 503 fails at once. @default true */
  readonly retry?: boolean;
}

export interface Target {
  readonly client: ApiClient;
  readonly origin: string;
  /** Where the token came from. */
  readonly via: 'environment' | 'profile';
  readonly profile?: Profile;
}

/**
 * The demo tenant's URL on the local platform, at the port `npm start` would listen on with this
 * environment (PORT, else 8080; a PORT of 0 or not a port says nothing, so the default).
 */
export function exampleHost(env: NodeJS.ProcessEnv): string {
  const port = localPort(env);
  return `http://acme.localhost:${port === null || port === 0 ? DEFAULT_LOCAL_PORT : port}`;
}

/** How a command's client retries: each wait told on stderr; none with `--no-retry` or EXECFABRIC_RETRY=0. */
export function retryPolicy(
  options: TargetOptions,
  context: Pick<CliContext, 'env' | 'output'>,
): RetryPolicy | undefined {
  const setting = context.env[ENV_RETRY];
  if (setting !== undefined && setting !== '0' && setting !== '1') {
    throw new UsageError(`${ENV_RETRY} must be 0 (fail at once on 429 or 503) or 1, got '${setting}'`);
  }
  if (options.retry === false || setting === '0') return undefined;
  return { onWait: (notice) => context.output.info(describeRetry(notice)) };
}

/** A client for `origin` acting with `token` (none: anonymous), retrying as the command says. */
export function connect(
  origin: URL,
  token: string | undefined,
  options: TargetOptions,
  context: Pick<CliContext, 'env' | 'output'>,
): ApiClient {
  return new ApiClient(origin, token, retryPolicy(options, context));
}

/**
 * The host named by the options, the environment or the configuration (no token needed). With none,
 * the hint names the host signed out of last (its port too), else the local demo tenant.
 */
export function resolveOrigin(options: TargetOptions, store: ConfigStore, env: NodeJS.ProcessEnv): URL {
  const named = options.host ?? env[ENV_HOST];
  if (named !== undefined && named !== '') return parseHost(named);
  const { current, last } = store.read();
  if (current !== undefined) return parseHost(current);
  throw new NotSignedInError('No host: pass --host URL, set EXECFABRIC_HOST, or sign in first', [
    hint(`login --host ${last ?? exampleHost(env)}`, env),
  ]);
}

/** A client for the host with its token, or NotSignedInError saying how to get one. */
export function resolveTarget(options: TargetOptions, context: CliContext): Target {
  const { env, store } = context;
  const origin = resolveOrigin(options, store, env);
  const token = env[ENV_TOKEN];
  if (token !== undefined && token !== '') {
    return { client: connect(origin, token, options, context), origin: origin.origin, via: 'environment' };
  }
  const profile = store.profile(origin.origin);
  if (profile === undefined) {
    throw new NotSignedInError(`Not signed in to ${origin.host}`, [
      `Run \`${hint(`login --host ${origin.origin}`, env)}\`, or set ${ENV_TOKEN} to an access token.`,
    ]);
  }
  return {
    client: connect(origin, profile.token, options, context),
    origin: origin.origin,
    via: 'profile',
    profile,
  };
}
