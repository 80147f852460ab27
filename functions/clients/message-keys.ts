/**
 * Where a function's message keys come from: the value itself in the environment (the local
 * platform, which makes fresh keys at every start) or a Secrets Manager secret the environment names
 * (AWS; the stack grants each function read access to only the secrets it needs, and the value never
 * appears in the template). Read once per process, at cold start.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Environment } from '../core/env.ts';
import { messageKeyEnv } from '../core/messages/keys.ts';
import {
  MESSAGE_KEY_PURPOSES,
  MessageKeyError,
  type MessageKeyPurpose,
  MessageSigner,
} from '../core/messages/signing.ts';

export interface MessageKeySource {
  /** The function's configuration (its Lambda environment, or the local platform's record). */
  readonly env: Environment;
  /** The client secrets are read with (AWS only). @default one built on first need */
  readonly secrets?: SecretsManagerClient;
}

/**
 * A signer holding the keys of `purposes` this function was wired with. A purpose asked for but not
 * configured is an error: a function that must sign or verify must never run without its key.
 */
export async function messageSignerFromEnv(
  purposes: readonly MessageKeyPurpose[],
  source: MessageKeySource,
): Promise<MessageSigner> {
  const { env } = source;
  let client = source.secrets;
  const keys: Partial<Record<MessageKeyPurpose, string>> = {};
  for (const purpose of purposes) {
    if (!MESSAGE_KEY_PURPOSES.includes(purpose)) throw new MessageKeyError(`Unknown key purpose ${purpose}`);
    const names = messageKeyEnv(purpose);
    const value = env[names.value];
    const secretId = env[names.secret];
    if (value !== undefined && value !== '') {
      keys[purpose] = value;
    } else if (secretId !== undefined && secretId !== '') {
      client ??= new SecretsManagerClient({});
      const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (answer.SecretString === undefined) {
        throw new MessageKeyError(`The ${purpose} message key secret has no string value`);
      }
      keys[purpose] = answer.SecretString;
    } else {
      throw new MessageKeyError(`Neither ${names.value} nor ${names.secret} is set`);
    }
  }
  return new MessageSigner(keys);
}
