/**
 * Start-up time of `npm start`: from spawning it (a fresh temporary EXECFABRIC_DATA_DIR, a free
 * PORT) to the first healthy `GET /api/health` on the admin host, for a first start (creating the
 * store and seeding the demo data) and a second start on the same data. Each run stops the
 * platform with SIGTERM and waits for it to exit (releasing the data folder's lock). The figure the
 * platform prints itself ("started in N ms", inside the process) is kept apart from the wall time,
 * which includes npm and the TypeScript loader.
 *
 *   npx tsx bench/startup.ts [runs]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../test/support/http.ts';

const RUNS = Number(process.argv[2] ?? '3');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEALTH_HOST = 'admin.localhost';
const TIMEOUT_MS = 120_000;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await call(`http://127.0.0.1:${port}`, { host: HEALTH_HOST, path: '/api/health' });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  // npm runs the platform in a child of its own: signal the group this bench started.
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

interface Start {
  readonly wallMs: number;
  readonly reportedMs: number | null;
  readonly seeded: boolean;
}

async function startOnce(dataDir: string): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      EXECFABRIC_DATA_DIR: dataDir,
      EXECFABRIC_DEMO_PASSWORD: 'bench-password-123',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      if (performance.now() - started > TIMEOUT_MS)
        throw new Error(`not healthy after ${TIMEOUT_MS} ms:\n${output}`);
      if (await healthy(port)) break;
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
    }
    const wallMs = performance.now() - started;
    // The banner follows the listening socket by a moment.
    for (let i = 0; i < 50 && !/started in \d+ ms/.test(output); i++) {
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
    }
    const reported = /started in (\d+) ms/.exec(output)?.[1];
    return {
      wallMs,
      reportedMs: reported === undefined ? null : Number(reported),
      seeded: output.includes('Seeded the demo data'),
    };
  } finally {
    await stop(child);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const first: Start[] = [];
const second: Start[] = [];
for (let run = 0; run < RUNS; run++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-startup-'));
  try {
    first.push(await startOnce(dataDir));
    second.push(await startOnce(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const [name, starts, seeded] of [
  ['first', first, true],
  ['second', second, false],
] as const) {
  for (const start of starts) {
    if (start.seeded !== seeded)
      throw new Error(`${name} start: expected seeded=${seeded}, got ${start.seeded}`);
  }
}

const format = (values: readonly (number | null)[]) =>
  values.map((value) => (value === null ? '–' : Math.round(value).toString())).join(', ');
const row = (name: string, starts: readonly Start[]) =>
  `| ${name} | ${format(starts.map((start) => start.wallMs))} | ${Math.round(median(starts.map((start) => start.wallMs)))} | ` +
  `${format(starts.map((start) => start.reportedMs))} |`;
const model = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(
  [
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/startup.ts ${RUNS}\` on ${cpus().length} CPUs (${model}), ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, load average ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} at the end, Node ${process.version}; a fresh temporary data folder per run.`,
    '',
    '| start | wall ms: spawn `npm start` → first healthy /api/health | median | platform-reported ms |',
    '| --- | --- | ---: | --- |',
    row('first (creates the store, seeds the demo)', first),
    row('second (same data folder)', second),
    '',
  ].join('\n'),
);
