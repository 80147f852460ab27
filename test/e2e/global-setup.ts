/**
 * Vitest global setup: the browser tests load the built sites from `frontend/dist`, so build them
 * first — only when a source under `frontend/` (or the topology that names the sites) is newer than
 * the oldest built page, so runs that do not touch the fronts pay one directory walk. Test runs
 * started side by side in one checkout take turns through a lock file, so one builds and the others
 * find the sites fresh.
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
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sites } from '../../lib/topology.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestSource(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestSource(join(path, entry)));
  }
  return newest;
}

function oldestBuild(): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const site of Object.values(sites)) {
    try {
      oldest = Math.min(oldest, statSync(join(ROOT, site.dir, 'index.html')).mtimeMs);
    } catch {
      return 0;
    }
  }
  return oldest;
}

export function sitesAreStale(): boolean {
  const sources = Math.max(
    newestSource(join(ROOT, 'frontend')),
    statSync(join(ROOT, 'lib', 'topology.ts')).mtimeMs,
    statSync(join(ROOT, 'package-lock.json')).mtimeMs,
  );
  return sources > oldestBuild();
}

const LOCK = join(ROOT, 'frontend', 'dist', '.build.lock');
const LOCK_WAIT_MS = 120_000;

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withLock(work: () => void): Promise<void> {
  mkdirSync(dirname(LOCK), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      if (!holderAlive()) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for ${LOCK}`);
      else await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
    }
  }
  try {
    work();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

export default async function setup(): Promise<void> {
  if (!sitesAreStale()) return;
  await withLock(() => {
    // Another run may have built them while this one waited.
    if (!sitesAreStale()) return;
    const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const built = spawnSync(process.execPath, [tsx, join(ROOT, 'frontend', 'build.ts')], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (built.status !== 0)
      throw new Error(`Building the sites failed (exit ${built.status ?? built.signal})`);
  });
}
