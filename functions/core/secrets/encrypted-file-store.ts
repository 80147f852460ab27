/**
 * The local platform's credential store: one file per credential in a folder only its owner may
 * enter (0700), each value sealed with AES-256-GCM under a 256-bit key kept in a key file only its
 * owner may read (0600). The additional data binds a ciphertext to its credential and version, so
 * a sealed value copied into another credential's file does not open. Files are replaced
 * atomically (write, then rename) and writers of one credential are serialised in this process.
 *
 * What it protects: values are never plain on disk, so a copied data folder without the key, a
 * backup, a listing or an accidental `cat` reveals nothing, and a tampered file fails to open. What
 * it cannot: whoever can read the key file as its owner can decrypt — the cloud wiring uses
 * Secrets Manager instead. Nothing here logs; errors name files, never values.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertCredentialKey,
  type CredentialStage,
  type CredentialStore,
  CredentialStoreError,
  type CredentialVersions,
  type PreviousPolicy,
  type StoredCredential,
} from './store.ts';

const KEY_FILE = 'store.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const FORMAT = 1;

interface SealedVersion {
  readonly id: string;
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
  readonly createdAt: string;
}

interface CredentialFile {
  readonly format: number;
  readonly key: string;
  readonly current: SealedVersion;
  readonly previous?: SealedVersion;
}

/** One queue of writes per file, shared by every store instance of this process. */
const locks = new Map<string, Promise<unknown>>();

function serialised<T>(file: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(file) ?? Promise.resolve();
  const run = before.then(work, work);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(file, settled);
  void settled.then(() => {
    if (locks.get(file) === settled) locks.delete(file);
  });
  return run;
}

function additionalData(key: string, versionId: string): Buffer {
  return Buffer.from(`execfabric-credential|${key}|${versionId}`, 'utf8');
}

export interface EncryptedFileCredentialStoreOptions {
  /** Folder of the key file and the sealed credentials; created 0700 when missing. */
  readonly dir: string;
  readonly now?: () => Date;
}

export class EncryptedFileCredentialStore implements CredentialStore {
  readonly #dir: string;
  readonly #now: () => Date;
  #key: Promise<Buffer> | undefined;

  constructor(options: EncryptedFileCredentialStoreOptions) {
    this.#dir = options.dir;
    this.#now = options.now ?? (() => new Date());
  }

  async read(key: string, stage: CredentialStage): Promise<StoredCredential | null> {
    const file = await this.#load(key);
    const sealed = file === null ? undefined : stage === 'current' ? file.current : file.previous;
    if (sealed === undefined) return null;
    return { value: await this.#open(key, sealed), versionId: sealed.id, stage };
  }

  async versions(key: string): Promise<CredentialVersions> {
    const file = await this.#load(key);
    if (file === null) return {};
    return file.previous === undefined
      ? { current: file.current.id }
      : { current: file.current.id, previous: file.previous.id };
  }

  async put(
    key: string,
    value: string,
    previous: PreviousPolicy,
  ): Promise<CredentialVersions & { current: string }> {
    return serialised(this.#path(key), async () => {
      const before = await this.#load(key);
      const current = await this.#seal(key, value);
      const kept = before === null ? undefined : previous === 'current' ? before.current : before.previous;
      await this.#save({ format: FORMAT, key, current, ...(kept === undefined ? {} : { previous: kept }) });
      return kept === undefined ? { current: current.id } : { current: current.id, previous: kept.id };
    });
  }

  async dropPrevious(key: string): Promise<void> {
    return serialised(this.#path(key), async () => {
      const before = await this.#load(key);
      if (before?.previous === undefined) return;
      await this.#save({ format: FORMAT, key, current: before.current });
    });
  }

  #path(key: string): string {
    assertCredentialKey(key);
    // Hashed, so a file name says nothing of which resource it belongs to.
    return join(this.#dir, `${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 40)}.json`);
  }

  async #load(key: string): Promise<CredentialFile | null> {
    const path = this.#path(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CredentialStoreError(`Cannot read the credential file ${path}`);
    }
    let parsed: CredentialFile;
    try {
      parsed = JSON.parse(text) as CredentialFile;
    } catch {
      throw new CredentialStoreError(`The credential file ${path} is damaged`);
    }
    if (parsed.format !== FORMAT || parsed.key !== key || typeof parsed.current?.id !== 'string') {
      throw new CredentialStoreError(`The credential file ${path} is damaged`);
    }
    return parsed;
  }

  async #save(file: CredentialFile): Promise<void> {
    await this.#ready();
    const path = this.#path(file.key);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify(file), { mode: 0o600, flag: 'wx' });
      await rename(temporary, path);
    } catch {
      await rm(temporary, { force: true });
      throw new CredentialStoreError(`Cannot write the credential file ${path}`);
    }
  }

  async #seal(key: string, value: string): Promise<SealedVersion> {
    const id = randomUUID();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.#secretKey(), iv);
    cipher.setAAD(additionalData(key, id));
    const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return {
      id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
      createdAt: this.#now().toISOString(),
    };
  }

  async #open(key: string, sealed: SealedVersion): Promise<string> {
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        await this.#secretKey(),
        Buffer.from(sealed.iv, 'base64'),
      );
      decipher.setAAD(additionalData(key, sealed.id));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      if (error instanceof CredentialStoreError) throw error;
      throw new CredentialStoreError(
        `A credential version (${sealed.id}) does not open: wrong key or tampered file`,
      );
    }
  }

  async #ready(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const folder = await stat(this.#dir);
    if ((folder.mode & 0o077) !== 0) await chmod(this.#dir, 0o700);
  }

  #secretKey(): Promise<Buffer> {
    this.#key ??= this.#loadKey().catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    return this.#key;
  }

  /** Reads the key file, creating it (exclusively, 0600) on first use; refuses one others may read. */
  async #loadKey(): Promise<Buffer> {
    await this.#ready();
    const path = join(this.#dir, KEY_FILE);
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(randomBytes(KEY_BYTES));
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CredentialStoreError(`Cannot create the credential key file ${path}`);
      }
    }
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new CredentialStoreError(
        `The credential key file ${path} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    if (typeof process.getuid === 'function' && info.uid !== process.getuid()) {
      throw new CredentialStoreError(`The credential key file ${path} belongs to another user`);
    }
    const key = await readFile(path);
    if (key.length !== KEY_BYTES)
      throw new CredentialStoreError(`The credential key file ${path} is damaged`);
    return key;
  }
}

/**
 * The local platform's credential folder: `<dataDir>/credentials`, or a fresh temporary folder for
 * a platform kept in memory (removed by `cleanup`).
 */
export function localCredentialDir(dataDir: string | null): { dir: string; cleanup: () => void } {
  if (dataDir !== null) return { dir: join(dataDir, 'credentials'), cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'execfabric-credentials-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
