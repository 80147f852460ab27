/**
 * Vitest global setup: the browser tests load the built sites from `frontend/dist`, so build them
 * first — only when a source under `frontend/` (or the topology that names the sites) is newer than
 * the oldest built page, so runs that do not touch the fronts pay one directory walk.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

export default function setup(): void {
  if (!sitesAreStale()) return;
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const built = spawnSync(process.execPath, [tsx, join(ROOT, 'frontend', 'build.ts')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error(`Building the sites failed (exit ${built.status ?? built.signal})`);
}
