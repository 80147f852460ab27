/**
 * Whether the built sites (`frontend/dist/<site>`) are older than their sources, and a build under a
 * lock file so runs started side by side in one checkout take turns: one builds, the others find the
 * sites fresh. `npx cdk synth` (bin/cdk.ts) and the browser tests' global setup both call
 * `ensureSitesBuilt`, so a synth from a clean clone uploads real sites, never an empty bucket.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { sites } from '../lib/topology.ts';

function newestSource(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules' || entry === 'cache') continue;
    newest = Math.max(newest, newestSource(join(path, entry)));
  }
  return newest;
}

function oldestBuild(root: string): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const site of Object.values(sites)) {
    try {
      oldest = Math.min(oldest, statSync(join(root, site.dir, 'index.html')).mtimeMs);
    } catch {
      return 0;
    }
  }
  return oldest;
}

/**
 * True when a site is missing or a source is newer: under `frontend/`, the contract the fronts import,
 * the docs (`docs/`, and the route tables and OpenAPI generator its API reference is made from), the
 * topology or the lockfile.
 */
export function sitesAreStale(root: string): boolean {
  const sources = Math.max(
    newestSource(join(root, 'frontend')),
    newestSource(join(root, 'docs')),
    newestSource(join(root, 'functions', 'http')),
    // The fronts import the contract (statuses, rules, header names, the answers' shapes).
    newestSource(join(root, 'functions', 'contract')),
    ...['tenant-api', 'governance-api', 'free-api'].map(
      (api) => statSync(join(root, 'functions', api, 'routes.ts')).mtimeMs,
    ),
    statSync(join(root, 'lib', 'topology.ts')).mtimeMs,
    statSync(join(root, 'package-lock.json')).mtimeMs,
  );
  return sources > oldestBuild(root);
}

const LOCK_WAIT_MS = 180_000;

function holderAlive(lock: string): boolean {
  try {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withLock(lock: string, work: () => void): Promise<void> {
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      if (!holderAlive(lock)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for ${lock}`);
      else await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
    }
  }
  try {
    work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Builds the sites (in a child process, as `npm run build:sites` would) when they are stale; throws if the build fails. */
export async function ensureSitesBuilt(
  root: string,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  if (!sitesAreStale(root)) return;
  await withLock(join(root, 'frontend', 'dist', '.build.lock'), () => {
    // Another run may have built them while this one waited.
    if (!sitesAreStale(root)) return;
    log('Building the sites (frontend/dist)…');
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const built = spawnSync(process.execPath, [tsx, join(root, 'frontend', 'build.ts')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (built.status !== 0) {
      throw new Error(
        `Building the sites failed (exit ${built.status ?? built.signal}); run \`npm run build:sites\``,
      );
    }
  });
}
