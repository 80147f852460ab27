/**
 * Which platform host a command talks to, and with which token: `--host`, else EXECFABRIC_HOST,
 * else the host signed in to last; the token from EXECFABRIC_TOKEN (CI), else that host's profile.
 */
import { DEFAULT_LOCAL_PORT, localPort } from '../local/port.ts';
import { ApiClient, parseHost } from './client.ts';
import type { ConfigStore, Profile } from './config.ts';
import { NotSignedInError } from './errors.ts';
import { hint } from './invocation.ts';

export const ENV_HOST = 'EXECFABRIC_HOST';
export const ENV_TOKEN = 'EXECFABRIC_TOKEN';

export interface TargetOptions {
  readonly host?: string;
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

/** The host named by the options, the environment or the configuration (no token needed). */
export function resolveOrigin(options: TargetOptions, store: ConfigStore, env: NodeJS.ProcessEnv): URL {
  const named = options.host ?? env[ENV_HOST];
  if (named !== undefined && named !== '') return parseHost(named);
  const current = store.read().current;
  if (current !== undefined) return parseHost(current);
  throw new NotSignedInError('No host: pass --host URL, set EXECFABRIC_HOST, or sign in first', [
    hint(`login --host ${exampleHost(env)}`, env),
  ]);
}

/** A client for the host with its token, or NotSignedInError saying how to get one. */
export function resolveTarget(options: TargetOptions, store: ConfigStore, env: NodeJS.ProcessEnv): Target {
  const origin = resolveOrigin(options, store, env);
  const token = env[ENV_TOKEN];
  if (token !== undefined && token !== '') {
    return { client: new ApiClient(origin, token), origin: origin.origin, via: 'environment' };
  }
  const profile = store.profile(origin.origin);
  if (profile === undefined) {
    throw new NotSignedInError(`Not signed in to ${origin.host}`, [
      `Run \`${hint(`login --host ${origin.origin}`, env)}\`, or set ${ENV_TOKEN} to an access token.`,
    ]);
  }
  return { client: new ApiClient(origin, profile.token), origin: origin.origin, via: 'profile', profile };
}
