/**
 * Vitest global setup: the browser tests and the infra tests load the built sites from
 * `frontend/dist`, so build them first — only when a source under `frontend/` (or the topology that
 * names the sites) is newer than the oldest built page (see `frontend/freshness.ts`).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSitesBuilt, sitesAreStale } from '../../frontend/freshness.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export { sitesAreStale };

export default async function setup(): Promise<void> {
  await ensureSitesBuilt(ROOT, (line) => process.stdout.write(`${line}\n`));
}
