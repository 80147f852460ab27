/**
 * The credential store a function was wired to, from its environment: the local platform's
 * encrypted folder when `ENV.credentialStoreDir` is set, Secrets Manager under `ENV.credentialPrefix`
 * when that is set (the stack sets it only on functions granted the credential secrets), and a store
 * that refuses everything otherwise (Secrets Manager is reached only from AWS, with the execution
 * environment's own credentials). Loaded and built on first use (a chunk of its own in a Lambda
 * asset), so a function that never touches a credential neither parses the store's code nor creates
 * a client.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV, type Environment } from '../env.ts';
import { type CredentialStore, CredentialStoreError, NO_CREDENTIALS } from './store.ts';

export function credentialStoreFromEnv(env: Environment): CredentialStore {
  const dir = env[ENV.credentialStoreDir];
  if (dir !== undefined && dir !== '') {
    return lazyCredentialStore(async () => {
      const { EncryptedFileCredentialStore } = await import('./encrypted-file-store.ts');
      return new EncryptedFileCredentialStore({ dir });
    });
  }
  const prefix = env[ENV.credentialPrefix];
  if (prefix !== undefined && prefix !== '') {
    return lazyCredentialStore(async () => {
      const { SecretsManagerCredentialStore } = await import('./secrets-manager.ts');
      return new SecretsManagerCredentialStore({ client: new SecretsManagerClient({}), prefix });
    });
  }
  return NO_CREDENTIALS;
}

/**
 * Defers loading and building the store until a credential is first needed; a store that failed to
 * load is a 503 (`credential-store-unavailable`), and loading is tried again on the next call.
 */
export function lazyCredentialStore(build: () => Promise<CredentialStore>): CredentialStore {
  let store: Promise<CredentialStore> | undefined;
  const get = (): Promise<CredentialStore> => {
    store ??= build().catch((error: unknown) => {
      store = undefined;
      throw new CredentialStoreError('The credential store could not be loaded', { cause: error });
    });
    return store;
  };
  return {
    read: async (key, stage) => (await get()).read(key, stage),
    put: async (key, value, previous) => (await get()).put(key, value, previous),
    versions: async (key) => (await get()).versions(key),
    dropPrevious: async (key) => (await get()).dropPrevious(key),
  };
}
