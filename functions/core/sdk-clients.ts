/**
 * How the platform builds an AWS SDK v3 client, so that one request costs its thread little
 * (issue 13; measured in bench/sdk-request.ts, decided in docs/decisions/function-configuration.md).
 * Only the SDK's documented configuration is used: client options and the public `middlewareStack`.
 *
 * Everywhere (AWS and local):
 * - the SDK's `loggerMiddleware` is removed (the platform's clients have no logger). Without a logger
 *   the SDK still copies every input and output through its sensitive-field filter, for a no-op one.
 *
 * Off AWS only (an endpoint given, with the start's static credentials: the local platform, tests):
 * - one signer per client: the SDK's own signer provider, asked once and its answer kept
 *   (`fixSigner`). By default the SDK builds a new `SignatureV4`, copying the whole client
 *   configuration, for every request. A fixed signer fits fixed credentials only; on AWS the
 *   credentials come from a provider that refreshes, so the SDK's default stays. The signer is the
 *   SDK's, not one built here: importing `@smithy/signature-v4` for it put that package and the
 *   Smithy core under it (~138 KiB) into every Lambda bundle, where it is never used;
 * - SQS: no MD5 of every message body (`md5: false`, `sqsSettings`);
 * - no user agent (`getUserAgentMiddleware`: telemetry for AWS, built per request) and no recursion
 *   detection (`recursionDetectionMiddleware`: the X-Ray trace header of a Lambda invocation, which
 *   the loop detection of Lambda reads; there is no Lambda trace off AWS).
 *
 * Retries, the credential providers, endpoint resolution and the HTTP handler stay the SDK's own.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { AwsClientSettings } from './env.ts';

/** The SHA-256 (and HMAC) the SDK's signer asks for, on node:crypto. */
export class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: unknown) {
    this.#hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Uint8Array);
  }
  update(data: string | Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

/** Middlewares every client sheds (it has no logger). */
export const UNUSED_EVERYWHERE = ['loggerMiddleware'] as const;
/** Middlewares a client off AWS sheds besides. */
export const UNUSED_OFF_AWS = ['getUserAgentMiddleware', 'recursionDetectionMiddleware'] as const;

/**
 * SQS client settings: off AWS, no MD5 of each message body (the `md5: false` option). On loopback
 * nothing corrupts a body in transit, and every platform message carries its own MAC (core/messages);
 * on AWS the SDK's check stays.
 */
export function sqsSettings(settings: AwsClientSettings): AwsClientSettings & { readonly md5?: false } {
  return settings.endpoint === undefined ? settings : { ...settings, md5: false };
}

/** The part of an SDK client this module touches. */
interface SdkClient {
  readonly middlewareStack: { remove(name: string): boolean };
  /** The resolved configuration's signer provider (every SigV4 client of SDK v3 has one). */
  readonly config: { signer: (authScheme?: never) => Promise<unknown> };
}

/** Off AWS with static credentials: an endpoint, a region and keys in the client's settings. */
function staticallySigned(settings: AwsClientSettings): boolean {
  return (
    settings.endpoint !== undefined && settings.region !== undefined && settings.credentials !== undefined
  );
}

/**
 * Off AWS with static credentials, `client` asks its own signer provider once and signs every
 * request with that signer; unchanged otherwise. The SDK fixes a client's signing region and name at
 * its first request anyway (`resolveAwsSdkSigV4Config`), so the one signer is what every request's
 * would have been, but for the clock-skew offset, which is nil on one machine. A failed first
 * answer is not kept.
 */
export function fixSigner<C extends SdkClient>(client: C, settings: AwsClientSettings): C {
  if (!staticallySigned(settings)) return client;
  const provider = client.config.signer;
  let signer: Promise<unknown> | undefined;
  client.config.signer = (authScheme) => {
    signer ??= provider(authScheme).catch((error: unknown) => {
      signer = undefined;
      throw error;
    });
    return signer;
  };
  return client;
}

/**
 * Removes from `client`'s stack what it does not use (see the module header) and returns it.
 * `settings` are those it was built with: an endpoint means off AWS. The platform's clients are
 * built without a logger; a client given one must not be passed here.
 */
export function lean<C extends SdkClient>(client: C, settings: AwsClientSettings): C {
  const names: readonly string[] =
    settings.endpoint === undefined ? UNUSED_EVERYWHERE : [...UNUSED_EVERYWHERE, ...UNUSED_OFF_AWS];
  for (const name of names) client.middlewareStack.remove(name);
  return client;
}

/** A client built by `make` from `settings` as this module says: its stack leaned, its signer fixed. */
export function platformClient<C extends SdkClient, S extends AwsClientSettings = AwsClientSettings>(
  settings: S,
  make: (config: S) => C,
): C {
  return fixSigner(lean(make(settings), settings), settings);
}
