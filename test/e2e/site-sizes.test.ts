/**
 * The built sites (`frontend/dist`, built by the global setup) stay under Vite's 500 kB chunk
 * warning, so `npm start` builds them without it: each front's code editor and schema form are
 * chunks loaded on first use, and the docs' search index (one chunk, fetched when the search opens)
 * leaves out stop words, the reference pages' table scaffolding and the changelog.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sites } from '../../lib/topology.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Vite's `build.chunkSizeWarningLimit` default, in bytes (Vite counts kB of 1000). */
const VITE_WARNING_BYTES = 500 * 1000;

function scripts(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return scripts(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

describe('the built sites', () => {
  it.each(Object.keys(sites))('%s has no script chunk over 500 kB', (site) => {
    const dir = join(ROOT, sites[site as keyof typeof sites].dir);
    const files = scripts(dir);
    expect(files.length).toBeGreaterThan(0);
    const over = files
      .map((file) => ({ file: relative(dir, file), bytes: statSync(file).size }))
      .filter((chunk) => chunk.bytes > VITE_WARNING_BYTES);
    expect(over).toEqual([]);
  });
});
