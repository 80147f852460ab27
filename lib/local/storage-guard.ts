/**
 * The embedded store on a full disk (issue 12; docs/decisions/local-storage-full.md).
 *
 * dynalite writes an item as several LevelDB writes (index deletes, index puts, then the item), and
 * throws any store error it did not make itself out of a callback — a disk that fills up killed the
 * whole platform, and a write cut short could leave an index entry without its item. Two guards:
 *
 * - a reserve: a write request reaches the store only while the data folder's disk has more than
 *   `reserveBytes` free, so the store never starts a write it may not finish (and LevelDB keeps room
 *   for its compactions, whose failure would stop every later write until a restart); below it the
 *   write is answered 503 `ServiceUnavailableException`, which the platform's clients retry and the
 *   API answers as a 503 problem. Reads go on. Once space is freed, writes are taken again at once.
 * - a last resort, for a write that still fails (the disk filled between the check and the write, by
 *   another process, or no reserve is kept): the store error is answered as a 500
 *   `InternalServerError` (retried, then a 503 problem) instead of crashing the process, and the
 *   store is fenced — no write reaches it until there is room again and it has been closed and
 *   opened. A failed LevelDB write can leave a torn record at the end of its log; without the fence,
 *   writes acknowledged after it were lost at the next open (measured: test/integration/
 *   crash-restart.test.ts). Opening again recovers the log up to the tear and starts a new one.
 *
 * The check itself can fail. While the folder's free space cannot be read (EACCES, ELOOP, EIO…) the
 * guard cannot say the write would fit, so it fails closed: writes are refused (503) until it can be
 * read again, and the change is logged once each way. A data folder no longer at its path (ENOENT,
 * ENOTDIR), or a different folder there than the one the store opened (removed and made again, by
 * hand or by another start), is not transient: the open store's files are no longer where a start
 * finds them, so every write taken from then on would be lost, silently, at the next start. That
 * write is refused and `onGone` hears why — the services' thread dies of it, loudly.
 */
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

/** Free space the data folder's disk keeps for the store (its compactions need room). */
export const STORAGE_RESERVE_BYTES = 32 * 1024 * 1024;
/** The operator's override of the reserve, in MiB (0 turns the check off). */
export const STORAGE_RESERVE_ENV = 'EXECFABRIC_STORAGE_RESERVE_MB';

/** DynamoDB actions that write nothing; every other action is refused while the disk is full. */
const READ_ACTIONS: ReadonlySet<string> = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'DescribeTable',
  'ListTables',
  'ListTagsOfResource',
  'DescribeTimeToLive',
]);

/** The reserve from the environment, else the default; a malformed value is refused. */
export function storageReserveBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[STORAGE_RESERVE_ENV];
  if (raw === undefined || raw === '') return STORAGE_RESERVE_BYTES;
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib < 0 || mib > 1024 * 1024) {
    throw new Error(`${STORAGE_RESERVE_ENV} must be a whole number of MiB (0 or more), got ${raw}`);
  }
  return mib * 1024 * 1024;
}

export interface StorageGuard {
  /** True when the request was answered (refused) and must not reach the store. */
  refuse(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

type Callback = (error: Error | null, ...results: unknown[]) => void;
type CallbackMethod = (...args: unknown[]) => unknown;
interface LevelDatabase extends Record<'put' | 'del' | 'batch' | 'get', CallbackMethod> {
  readonly close: { _original?: () => Promise<void> };
  open(): Promise<void>;
}
interface DynaliteStore {
  readonly db: LevelDatabase;
}
interface DynaliteDbModule {
  create: (options: { path?: string }) => DynaliteStore;
}

/** A store on disk whose writes may have to stop until it is opened again. */
export interface StoreHandle {
  /** A write failed in the store: its log may end in a torn record, so no write may follow it. */
  fenced: boolean;
  /** Closes and opens the store again: it recovers its log up to the torn record and starts a new one. */
  reopen(): Promise<void>;
}

/** The stores created in this process, by folder (a restart in the same process replaces its entry). */
const stores = new Map<string, StoreHandle>();

/** Free space needed to open a fenced store again when no reserve is kept. */
const REOPEN_MIN_FREE_BYTES = 1024 * 1024;

function refuseWrite(response: ServerResponse, message: string): true {
  response.writeHead(503, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-errortype': 'ServiceUnavailableException',
  });
  response.end(
    JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', message }),
  );
  return true;
}

/** The data folder is no longer the folder the store opened: no write can be kept. */
export class DataFolderGoneError extends Error {
  override readonly name = 'DataFolderGoneError';
}

/** Errors of a path that does not lead to a folder any more (as opposed to one that cannot be read now). */
const GONE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Refuses DynamoDB write requests while `folder`'s disk has `reserveBytes` or less free, while its
 * free space cannot be read, or while the store there is fenced after a failed write (then the first
 * write once there is room opens it again). `log` hears when writes stop and start again (once each
 * time, not per request); `onGone` hears, once, that the folder is gone or replaced (see the module
 * comment), and every write after that is refused. `folder` must exist: its identity is taken now.
 * `storeOf` finds the store in `folder` (the one dynalite opened there, by default).
 */
export function storageGuard(
  folder: string,
  reserveBytes: number,
  log: (line: string) => void = () => undefined,
  onGone: (error: DataFolderGoneError) => void = () => undefined,
  storeOf: () => StoreHandle | undefined = () => stores.get(folder),
): StorageGuard {
  const opened = statSync(folder);
  let state: 'room' | 'full' | 'unreadable' = 'room';
  let gone: DataFolderGoneError | null = null;
  let reopening: Promise<void> | null = null;
  /**
   * Requests let through to the store and not answered yet. A fenced store is closed and opened
   * again only once none is left, and none is let through meanwhile: a read that reached the store
   * while it was closed threw out of dynalite ("Database is not open") and ended the services'
   * thread (a clean-clone CI met it: crash-restart.test.ts, no reserve).
   */
  let inFlight = 0;
  let drained: (() => void) | null = null;
  const admitted = (response: ServerResponse) => {
    inFlight += 1;
    response.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
  };
  const drain = () =>
    inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drained = () => {
            drained = null;
            resolve();
          };
        });
  const enter = (next: typeof state, line: string) => {
    if (next === state) return;
    state = next;
    log(line);
  };
  const check = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const target = String(request.headers['x-amz-target'] ?? '');
    if (READ_ACTIONS.has(target.slice(target.indexOf('.') + 1))) return false;
    if (gone !== null) return refuseWrite(response, gone.message);
    const store = storeOf();
    const fenced = store?.fenced === true;
    if (reserveBytes === 0 && !fenced) return false;
    let free: number;
    try {
      // The identity synchronously: a directory's inode is in the kernel's cache, ~3 µs of CPU
      // against ~30 µs for a round trip through libuv's pool (bench/storage-guard.ts).
      const now = statSync(folder);
      if (now.dev !== opened.dev || now.ino !== opened.ino) {
        throw new DataFolderGoneError(
          `The data folder ${folder} was replaced under the running store (another folder is at its path): no write can be kept, the local services stop`,
        );
      }
      const disk = await statfs(folder);
      free = disk.bavail * disk.bsize;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (error instanceof DataFolderGoneError || (code !== undefined && GONE_CODES.has(code))) {
        if (gone === null) {
          gone =
            error instanceof DataFolderGoneError
              ? error
              : new DataFolderGoneError(
                  `The data folder is gone from under the running store (${(error as Error).message}): no write can be kept, the local services stop`,
                  { cause: error },
                );
          onGone(gone);
        }
        return refuseWrite(response, gone.message);
      }
      const reason = `The data folder's free space cannot be read (${(error as Error).message})`;
      enter('unreadable', `${reason}: refusing writes until it can`);
      return refuseWrite(response, `${reason}; writes resume once it can`);
    }
    const nowFull = free <= Math.max(reserveBytes, fenced ? REOPEN_MIN_FREE_BYTES : 0);
    if (nowFull) {
      const reason = `The data folder's disk is full (${free} bytes free, ${reserveBytes} kept in reserve)`;
      enter('full', `${reason}: refusing writes until space is freed`);
      return refuseWrite(response, `${reason}; writes resume once space is freed`);
    }
    enter('room', `The data folder's disk has room again (${free} bytes free): taking writes`);
    if (store?.fenced) {
      reopening ??= drain()
        .then(() => store.reopen())
        .finally(() => {
          reopening = null;
        });
      try {
        await reopening;
      } catch (error) {
        return refuseWrite(
          response,
          `The local store could not be opened again: ${(error as Error).message}`,
        );
      }
    }
    return false;
  };
  return {
    async refuse(request, response) {
      // While a fenced store is closed and opened again, nothing reaches it, reads included.
      while (reopening !== null) await reopening.catch(() => undefined);
      const refused = await check(request, response);
      if (!refused) admitted(response);
      return refused;
    },
  };
}

/** A store error dynalite answers as a 500 `InternalServerError` instead of throwing it. */
function answerable(error: Error & { statusCode?: number; body?: unknown; code?: unknown }): Error {
  if (error.statusCode !== undefined || error.name === 'NotFoundError' || error.code === 'LEVEL_NOT_FOUND')
    return error;
  return Object.assign(error, {
    statusCode: 500,
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: `The local store failed: ${error.message}`,
    },
  });
}

let installed = false;

/**
 * Makes every store error of the dynalite stores created from now on reach the client as an answer,
 * and fences a store on disk after a failed write (see the module comment). Idempotent.
 */
export function answerStoreErrors(): void {
  if (installed) return;
  installed = true;
  // dynalite's server calls `require('./db').create` when it starts: the module object is shared.
  const database = createRequire(import.meta.url)('dynalite/db/index.js') as DynaliteDbModule;
  const create = database.create;
  database.create = (options) => {
    const store = create(options);
    const db = store.db;
    const handle: StoreHandle = {
      fenced: false,
      async reopen() {
        // The Level instance's own close (dynalite's marks the store closed for good), then open.
        await (db.close._original ?? (() => Promise.resolve()))();
        await db.open();
        handle.fenced = false;
      },
    };
    if (options.path !== undefined) stores.set(options.path, handle);
    for (const method of ['put', 'del', 'batch', 'get'] as const) {
      const original = db[method];
      const write = method !== 'get';
      db[method] = (...args: unknown[]) => {
        const last = args.at(-1);
        if (typeof last !== 'function') return original(...args);
        const callback = last as Callback;
        return original(...args.slice(0, -1), (error: Error | null, ...results: unknown[]) => {
          if (error === null || error === undefined) return callback(null, ...results);
          const fromTheStore = (error as { statusCode?: number }).statusCode === undefined;
          const answered = answerable(error);
          if (write && fromTheStore && (answered as { statusCode?: number }).statusCode === 500)
            handle.fenced = true;
          return callback(answered, ...results);
        });
      };
    }
    return store;
  };
}
