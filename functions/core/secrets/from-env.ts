/**
 * The credential store a function was wired to, from its environment: the local platform's
 * encrypted folder when `ENV.credentialStoreDir` is set, Secrets Manager under `ENV.credentialPrefix`
 * when that is set (the stack sets it only on functions granted the credential secrets), and a store
 * that refuses everything otherwise (Secrets Manager is reached only from AWS, with the execution
 * environment's own credentials). Built on first use, so a function that never touches a
 * credential never creates a client.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV, type Environment } from '../env.ts';
import { EncryptedFileCredentialStore } from './encrypted-file-store.ts';
import { SecretsManagerCredentialStore } from './secrets-manager.ts';
import { type CredentialStore, NO_CREDENTIALS } from './store.ts';

export function credentialStoreFromEnv(env: Environment): CredentialStore {
  const dir = env[ENV.credentialStoreDir];
  if (dir !== undefined && dir !== '') return new EncryptedFileCredentialStore({ dir });
  const prefix = env[ENV.credentialPrefix];
  if (prefix !== undefined && prefix !== '') {
    return new SecretsManagerCredentialStore({ client: new SecretsManagerClient({}), prefix });
  }
  return NO_CREDENTIALS;
}

/** Defers building the store until a credential is first needed. */
export function lazyCredentialStore(build: () => CredentialStore): CredentialStore {
  let store: CredentialStore | undefined;
  const get = () => {
    store ??= build();
    return store;
  };
  return {
    read: (key, stage) => get().read(key, stage),
    put: (key, value, previous) => get().put(key, value, previous),
    versions: (key) => get().versions(key),
    dropPrevious: (key) => get().dropPrevious(key),
  };
}
