/**
 * An attacker's pass over the local platform's internal servers (dynalite, fauxqs, the Lambda
 * endpoint) from outside the platform's process: another local user, or a web page that found a
 * loopback port (a browser sends a cross-origin `text/plain` POST with its body, no preflight).
 * Neither holds this start's credentials.
 *
 * What is attacked is the memory of the platform's one process: the SigV4 check needs the body (its
 * hash is signed), and the servers take bodies of up to 16 MiB (6 MiB for an invocation). A request
 * that cannot be genuine from its headers alone — no signature, another key id, a date outside the
 * clock skew, a signature that leaves out the host — must be refused before its body is read, so a
 * stranger's parallel uploads cost the platform nothing but a header parse. Each case sends the
 * headers and a first slice of a large body and then waits: the answer must come while the body is
 * still unsent. With the check after the body (as it was), the server waits for the rest and no
 * answer comes — the case fails.
 *
 * And the platform's life: an upload the client abandons halfway (a reset connection, or a page's
 * `fetch` aborted) made the body reader reject inside the check's request listener, unhandled — and
 * an unhandled rejection ends Node's process: one aborted request to any internal port stopped the
 * whole local platform. `npm start`'s process is attacked on every port it listens on and must still
 * answer. Without the catch around the body reader, the process is gone after the first internal port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../lib/local/lambda-endpoint.ts';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { type LocalServices, startLocalServices } from '../../lib/local/services.ts';
import { MAX_CLOCK_SKEW_MS } from '../../lib/local/sigv4.ts';
import { call } from '../support/http.ts';
import { HOSTS } from '../support/platform.ts';

/** How long an answer may take once the headers are in (generous: a shared 2-core machine). */
const ANSWER_WITHIN_MS = 5_000;
/** The body a request declares, just under the servers' caps: the attacker sends only its first slice. */
const DECLARED_BYTES = 6 * 1024 * 1024 - 1;
const FIRST_SLICE_BYTES = 64 * 1024;

let services: LocalServices;
let lambda: LambdaEndpoint;
let invoked = 0;

beforeAll(async () => {
  services = await startLocalServices({
    dataDir: null,
    visibilityTimeoutSeconds: null,
    log: () => undefined,
  });
  lambda = await startLambdaEndpoint({
    invoke: () => async () => {
      invoked++;
      return { ok: true };
    },
    known: new Set(['script-worker']),
    credentials: services.credentials,
  });
});

afterAll(async () => {
  await lambda?.stop();
  await services?.stop();
});

function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** An Authorization header in SigV4's shape, with a signature nobody computed. */
function authorization(keyId: string, at: Date, signedHeaders = 'content-type;host;x-amz-date'): string {
  const day = amzDate(at).slice(0, 8);
  return `AWS4-HMAC-SHA256 Credential=${keyId}/${day}/us-east-1/dynamodb/aws4_request, SignedHeaders=${signedHeaders}, Signature=${'0'.repeat(64)}`;
}

/**
 * Sends a request's headers and the first slice of its declared body, then waits: the status line of
 * the answer, or null when none came within ANSWER_WITHIN_MS (the server is waiting for the body).
 */
function statusWhileUploading(endpoint: string, headers: Record<string, string>): Promise<number | null> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answered = false;
    const done = (status: number | null) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(null), ANSWER_WITHIN_MS);
    socket.on('error', () => done(null));
    socket.once('data', (chunk: Buffer) => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'));
      done(match === null ? null : Number(match[1]));
    });
    socket.on('connect', () => {
      const lines = [
        'POST /2015-03-31/functions/script-worker/invocations HTTP/1.1',
        `Host: ${hostname}:${port}`,
        'Content-Type: text/plain',
        `Content-Length: ${DECLARED_BYTES}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        '',
        '',
      ];
      socket.write(lines.join('\r\n'));
      socket.write(Buffer.alloc(FIRST_SLICE_BYTES, 0x78));
    });
  });
}

const servers = (): [string, string][] => [
  ['dynalite', services.dynamodbEndpoint],
  ['fauxqs', services.sqsEndpoint],
  ['the Lambda endpoint', lambda.url],
];

describe('a stranger’s large upload to an internal server', () => {
  it('is refused before its body is read when it carries no signature', async () => {
    for (const [name, endpoint] of servers()) {
      expect(await statusWhileUploading(endpoint, {}), name).toBe(403);
    }
  });

  it('is refused before its body is read when it is signed with another key id', async () => {
    for (const [name, endpoint] of servers()) {
      const headers = {
        'X-Amz-Date': amzDate(new Date()),
        Authorization: authorization('AKIASTRANGER0000', new Date()),
      };
      expect(await statusWhileUploading(endpoint, headers), name).toBe(403);
    }
  });

  it('is refused before its body is read when its date is outside the clock skew, even with this start’s key id', async () => {
    // The key id is not meant to be known outside the process; should it leak, a request still has
    // to name a current time, and the signature (which needs the secret) is checked on the body.
    const old = new Date(Date.now() - MAX_CLOCK_SKEW_MS - 60_000);
    for (const [name, endpoint] of servers()) {
      const headers = {
        'X-Amz-Date': amzDate(old),
        Authorization: authorization(services.credentials.accessKeyId, old),
      };
      expect(await statusWhileUploading(endpoint, headers), name).toBe(403);
    }
  });

  it('is refused before its body is read when its signature leaves out the host', async () => {
    const now = new Date();
    for (const [name, endpoint] of servers()) {
      const headers = {
        'X-Amz-Date': amzDate(now),
        Authorization: authorization(services.credentials.accessKeyId, now, 'content-type;x-amz-date'),
      };
      expect(await statusWhileUploading(endpoint, headers), name).toBe(403);
    }
  });

  it('leaves the servers serving the platform’s own signed requests, and invokes nothing', async () => {
    const tables = await services.dynamodb.send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain(services.tableName);
    const queues = await services.sqs.send(new ListQueuesCommand({}));
    expect(queues.QueueUrls?.length ?? 0).toBeGreaterThan(0);
    expect(invoked).toBe(0);
  });
});

/** The loopback TCP ports a process listens on, from its own socket descriptors and /proc/net/tcp. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [, local = '', , state, , , , , , inode = ''] = fields;
    if (state === '0A' && inodes.has(inode)) ports.push(Number.parseInt(local.split(':')[1] ?? '', 16));
  }
  return ports;
}

/** Starts an upload, sends part of it and resets the connection (as an aborted fetch does). */
function abandonedUpload(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n`,
      );
      socket.write(Buffer.alloc(1000, 0x78));
      setTimeout(() => {
        socket.resetAndDestroy();
        resolve();
      }, 200);
    });
    socket.on('error', () => resolve());
  });
}

describe('`npm start`’s process, when uploads to its ports are abandoned halfway', {
  timeout: 180_000,
}, () => {
  const PASSWORD = 'internal-servers-attack-password';
  let child: ChildProcess;
  let dataDir: string;
  let url: string;
  let output = '';

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'execfabric-attack-ports-'));
    child = spawn(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
      cwd: REPOSITORY_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: '0', EXECFABRIC_DATA_DIR: dataDir, EXECFABRIC_DEMO_PASSWORD: PASSWORD },
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const deadline = Date.now() + 120_000;
    while (!output.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const port = /http:\/\/acme\.localhost:(\d+)/.exec(output)?.[1];
    if (port === undefined) throw new Error(`the platform did not start:\n${output}`);
    url = `http://127.0.0.1:${port}`;
  }, 150_000);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps running and answering, whichever of its ports was attacked', async () => {
    const pid = child.pid as number;
    const ports = listeningPorts(pid);
    // The edge, dynalite, fauxqs and the Lambda endpoint at least.
    expect(ports.length, output).toBeGreaterThanOrEqual(4);
    for (const port of ports) {
      await abandonedUpload(port);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(
        child.exitCode,
        `the platform exited after an abandoned upload to port ${port}:\n${output.slice(-2000)}`,
      ).toBeNull();
      const health = await call(url, { host: HOSTS.acme, method: 'GET', path: '/api/health' });
      expect(health.status, health.text).toBe(200);
    }
    // (The edge logs the abandoned request it was reading; nothing is thrown out of a listener.)
    expect(output).not.toMatch(/triggerUncaughtException|Unhandled/);
  });
});
