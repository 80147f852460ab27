/**
 * The credential store a function's environment names (functions/core/secrets/from-env.ts), loaded on
 * first use: the local folder keeps the store contract through it; a function given none refuses;
 * a store that fails to load is a 503 that leaves nothing cached, so the next call loads it again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV } from '../../../../functions/core/env.ts';
import { ServiceUnavailableError } from '../../../../functions/core/errors.ts';
import { credentialStoreFromEnv, lazyCredentialStore } from '../../../../functions/core/secrets/from-env.ts';
import { type CredentialStore, CredentialStoreError } from '../../../../functions/core/secrets/store.ts';
import { exerciseCredentialStore } from './credential-contract.ts';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('credentialStoreFromEnv', () => {
  it('loads the local folder’s store on first use, and it keeps the store contract', async () => {
    const root = mkdtempSync(join(tmpdir(), 'execfabric-credentials-env-'));
    roots.push(root);
    const store = credentialStoreFromEnv({ [ENV.credentialStoreDir]: join(root, 'credentials') });
    await exerciseCredentialStore(store, 'hr-fromenv0001');
  });

  it('refuses every call where the function was given no store', async () => {
    const store = credentialStoreFromEnv({});
    await expect(store.read('hr-a', 'current')).rejects.toBeInstanceOf(CredentialStoreError);
    await expect(store.versions('hr-a')).rejects.toBeInstanceOf(CredentialStoreError);
  });
});

describe('lazyCredentialStore', () => {
  it('builds once; a failed load is a 503 and is tried again on the next call', async () => {
    let builds = 0;
    let fail = true;
    const versions = { current: 'v1' };
    const store = lazyCredentialStore(async () => {
      builds += 1;
      if (fail) throw new Error('chunk missing');
      return { versions: async () => versions } as unknown as CredentialStore;
    });
    const refused = await store.versions('hr-a').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CredentialStoreError);
    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect((refused as CredentialStoreError).code).toBe('credential-store-unavailable');
    fail = false;
    expect(await store.versions('hr-a')).toBe(versions);
    expect(await store.versions('hr-b')).toBe(versions);
    expect(builds).toBe(2);
  });
});
