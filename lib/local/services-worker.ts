/**
 * The services' own thread: a `worker_threads` Worker that `services.ts` starts, holding dynalite
 * (on its LevelDB folder or in memory) and fauxqs, each a real HTTP server on loopback behind the
 * SigV4 check of this start's credentials — dynalite also behind the storage guard. The platform's
 * thread keeps only its SDK clients, whose requests reach these servers over loopback as before; the
 * servers' work (parsing, signature checks, the store) no longer takes turns with the platform's.
 *
 * The channel to the platform's thread is the Worker's own message port, which only the thread that
 * created the Worker holds (no socket, no file, nothing another process can open). From it this
 * thread takes its start (`workerData`: the data folder, the credentials to demand, the reserve) and
 * one message, `stop`; any other message is ignored. It sends back where it listens, the storage
 * guard's diagnostics, and that it stopped. The credentials never pass through an environment or argv.
 */
import './quiet-sqlite-warning.ts';
import { once } from 'node:events';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
import { limitInternalServer } from './connection-limits.ts';
import { readSignedRequest } from './request-body.ts';
import { type LocalCredentials, SigV4Verifier } from './sigv4.ts';
import { answerStoreErrors, type StorageGuard, storageGuard } from './storage-guard.ts';

/** What the platform's thread starts the services' thread with (`workerData`). */
export interface ServicesThreadStart {
  /** Folder of dynalite's LevelDB store; `null` keeps it in memory. */
  readonly dynamoPath: string | null;
  /** What every request must be signed with. */
  readonly credentials: LocalCredentials;
  /** Free bytes the data folder's disk keeps (lib/local/storage-guard.ts). */
  readonly storageReserveBytes: number;
}

/** Messages from the services' thread to the platform's. */
export type FromServicesThread =
  | { readonly kind: 'listening'; readonly dynamodbEndpoint: string; readonly sqsEndpoint: string }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'stopped' };

/** Messages from the platform's thread to the services' (the only one acted on). */
export type ToServicesThread = { readonly kind: 'stop' };

async function listen(server: Server): Promise<string> {
  limitInternalServer(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Answers a refused request the way the AWS service would (status, `__type`, message). */
function refuse(response: ServerResponse, reason: string): void {
  response.writeHead(403, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-errortype': 'InvalidSignatureException',
  });
  response.end(
    JSON.stringify({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: reason }),
  );
}

/**
 * Puts a SigV4 check in front of an http server's request listener: the body is read, checked, and
 * handed on to the original listener as a fresh stream with the same method, url and headers.
 */
function guard(server: Server, credentials: LocalCredentials, storage: StorageGuard | null = null): void {
  const listeners = server.listeners('request') as RequestListener[];
  const verifier = new SigV4Verifier(credentials);
  server.removeAllListeners('request');
  server.on('request', async (request: IncomingMessage, response: ServerResponse) => {
    const read = await readSignedRequest(verifier, request);
    if (read.kind === 'gone') return;
    if (read.kind === 'too-large') {
      response.writeHead(413).end();
      return;
    }
    if (read.kind === 'refused') {
      // Refused unread: the rest of the stranger's body is not waited for.
      if (read.early) response.setHeader('connection', 'close');
      refuse(response, read.reason);
      return;
    }
    const { body } = read;
    if (storage !== null && (await storage.refuse(request, response))) return;
    const replay = Object.assign(Readable.from(body.length === 0 ? [] : [body]), {
      method: request.method,
      url: request.url,
      headers: request.headers,
      socket: request.socket,
    }) as unknown as IncomingMessage;
    for (const listener of listeners) listener(replay, response);
  });
}

if (parentPort === null) {
  throw new Error('lib/local/services-worker.ts is the services’ thread: lib/local/services.ts starts it');
}
const port = parentPort;
const send = (message: FromServicesThread) => port.postMessage(message);
const start = workerData as ServicesThreadStart;
const { credentials, storageReserveBytes: reserve } = start;
const dynamoPath = start.dynamoPath ?? undefined;

answerStoreErrors();
const dynamoServer = dynalite({ path: dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
guard(
  dynamoServer,
  credentials,
  dynamoPath === undefined
    ? null
    : storageGuard(
        dynamoPath,
        reserve,
        (line) => send({ kind: 'log', line }),
        // The folder gone: this thread dies of it (lib/local/services.ts hears it and says why).
        (error) =>
          process.nextTick(() => {
            throw error;
          }),
      ),
);
const dynamodbEndpoint = await listen(dynamoServer);
// fauxqs' startFauxqs listens on every interface whatever `host` says; its app is listened here.
// Imported here, not statically: a static import loads `node:sqlite` while the module graph is
// linked, before any module body (quiet-sqlite-warning.ts) has run.
const { buildApp } = await import('fauxqs');
const fauxqs = buildApp({ logger: false });
await fauxqs.ready();
guard(fauxqs.server, credentials);
const sqsEndpoint = await listen(fauxqs.server);

let stopping = false;
port.on('message', (message: ToServicesThread) => {
  if (message?.kind !== 'stop' || stopping) return;
  stopping = true;
  void (async () => {
    await new Promise<void>((resolve) => {
      fauxqs.server.close(() => resolve());
      fauxqs.server.closeAllConnections();
    });
    await fauxqs.close();
    // dynalite's close also closes its store.
    await new Promise<void>((resolve, reject) =>
      dynamoServer.close((error?: Error) => (error ? reject(error) : resolve())),
    );
    send({ kind: 'stopped' });
  })();
});
send({ kind: 'listening', dynamodbEndpoint, sqsEndpoint });
