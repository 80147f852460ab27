/** The local encrypted credential store: the store contract, owner-only files, nothing plain on disk, tampering. */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EncryptedFileCredentialStore,
  localCredentialDir,
} from '../../../../functions/core/secrets/encrypted-file-store.ts';
import { CredentialStoreError } from '../../../../functions/core/secrets/store.ts';
import { CONTRACT_VALUES, exerciseCredentialStore } from './credential-contract.ts';

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'execfabric-credential-test-'));
  dir = join(root, 'credentials');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function filesIn(folder: string): string[] {
  return readdirSync(folder).map((name) => join(folder, name));
}

describe('EncryptedFileCredentialStore', () => {
  it('keeps the store contract', async () => {
    await exerciseCredentialStore(new EncryptedFileCredentialStore({ dir }), 'hr-contract00001');
  });

  it('keeps the folder, the key and every file owner-only, and no value in plain text', async () => {
    const store = new EncryptedFileCredentialStore({ dir });
    await store.put('hr-a', CONTRACT_VALUES[0], 'current');
    await store.put('hr-a', CONTRACT_VALUES[1], 'current');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = filesIn(dir);
    expect(files.map((file) => file.slice(dir.length + 1))).toContain('store.key');
    for (const file of files) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
      const bytes = readFileSync(file);
      for (const value of CONTRACT_VALUES) {
        expect(bytes.includes(Buffer.from(value)), `${value} in ${file}`).toBe(false);
        expect(bytes.includes(Buffer.from(Buffer.from(value).toString('base64'))), file).toBe(false);
      }
      // The file names say nothing of the resource either.
      expect(file).not.toContain('hr-a');
    }
    expect(readFileSync(join(dir, 'store.key')).length).toBe(32);
  });

  it('shares one key between instances (every function of the local platform has its own)', async () => {
    await new EncryptedFileCredentialStore({ dir }).put('hr-shared', CONTRACT_VALUES[2], 'current');
    expect(await new EncryptedFileCredentialStore({ dir }).read('hr-shared', 'current')).toMatchObject({
      value: CONTRACT_VALUES[2],
    });
  });

  it('refuses a key file other users may read', async () => {
    const store = new EncryptedFileCredentialStore({ dir });
    await store.put('hr-b', CONTRACT_VALUES[0], 'current');
    chmodSync(join(dir, 'store.key'), 0o644);
    const reopened = new EncryptedFileCredentialStore({ dir });
    await expect(reopened.read('hr-b', 'current')).rejects.toThrow(/accessible to other users/);
  });

  it('detects a tampered value and a value moved from another credential', async () => {
    const store = new EncryptedFileCredentialStore({ dir });
    await store.put('hr-one', CONTRACT_VALUES[0], 'current');
    await store.put('hr-two', CONTRACT_VALUES[1], 'current');
    const [fileOne, fileTwo] = filesIn(dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => ({ file, data: JSON.parse(readFileSync(file, 'utf8')) }))
      .sort((a, b) => (a.data.key < b.data.key ? -1 : 1));
    if (fileOne === undefined || fileTwo === undefined) throw new Error('two credential files expected');

    // Another credential's sealed value, copied in: the additional data no longer matches.
    writeFileSync(fileOne.file, JSON.stringify({ ...fileOne.data, current: fileTwo.data.current }));
    const error = await store.read('hr-one', 'current').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialStoreError);
    expect(String((error as Error).message)).not.toContain(CONTRACT_VALUES[1]);

    // A flipped byte of the ciphertext.
    const data = Buffer.from(fileTwo.data.current.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 0xff;
    writeFileSync(
      fileTwo.file,
      JSON.stringify({
        ...fileTwo.data,
        current: { ...fileTwo.data.current, data: data.toString('base64') },
      }),
    );
    await expect(store.read('hr-two', 'current')).rejects.toThrow(/tampered/);
  });

  it('refuses keys that are not plain names', async () => {
    const store = new EncryptedFileCredentialStore({ dir });
    for (const key of ['../escape', 'a/b', '', '.hidden']) {
      await expect(store.put(key, CONTRACT_VALUES[0], 'current'), key).rejects.toThrow(/credential key/);
    }
  });

  it('gives an in-memory platform a temporary folder it removes', () => {
    const temporary = localCredentialDir(null);
    expect(statSync(temporary.dir).mode & 0o777).toBe(0o700);
    temporary.cleanup();
    expect(() => statSync(temporary.dir)).toThrow();
    expect(localCredentialDir('/data').dir).toBe('/data/credentials');
  });
});
