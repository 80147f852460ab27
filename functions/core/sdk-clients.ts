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
 * - one `SignatureV4` signer per client (the `signer` option). By default the SDK builds a new signer,
 *   copying the whole client configuration, for every request. A fixed signer fits fixed credentials
 *   only; on AWS the credentials come from a provider that refreshes, so the SDK's default stays;
 * - SQS: no MD5 of every message body (`md5: false`, `sqsSettings`);
 * - no user agent (`getUserAgentMiddleware`: telemetry for AWS, built per request) and no recursion
 *   detection (`recursionDetectionMiddleware`: the X-Ray trace header of a Lambda invocation, which
 *   the loop detection of Lambda reads; there is no Lambda trace off AWS).
 *
 * Retries, the credential providers, endpoint resolution and the HTTP handler stay the SDK's own.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
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

/**
 * `settings` with a fixed signer where they are off AWS with static credentials (an endpoint, a
 * region and keys); unchanged otherwise. `signingName` is the service's signing name (`dynamodb`,
 * `sqs`, `lambda`, `sts`).
 */
export function withSigner<S extends AwsClientSettings>(
  settings: S,
  signingName: string,
): S & { readonly signer?: SignatureV4 } {
  const { endpoint, region, credentials } = settings;
  if (endpoint === undefined || region === undefined || credentials === undefined) return settings;
  return {
    ...settings,
    signer: new SignatureV4({ credentials, region, service: signingName, sha256: Sha256 }),
  };
}

/** The part of an SDK client this module touches. */
interface SdkClient {
  readonly middlewareStack: { remove(name: string): boolean };
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

/** A client built by `make` from `settings` as this module says: its signer, then its stack leaned. */
export function platformClient<C extends SdkClient, S extends AwsClientSettings = AwsClientSettings>(
  settings: S,
  signingName: string,
  make: (config: S & { readonly signer?: SignatureV4 }) => C,
): C {
  return lean(make(withSigner(settings, signingName)), settings);
}
