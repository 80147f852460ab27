/**
 * Builds the static sites of `lib/topology.ts` (`sites`): each front from its own HTML entry
 * (`frontend/<site>/index.html`) into its own folder (`frontend/dist/<site>/`, hashed files under
 * `assets/`), so every host's bucket prefix holds exactly the files its pages load. The fronts share
 * `frontend/src/shared`; a separate build per site keeps each one's chunks to itself. The docs site
 * is VitePress's build of `docs/` (docs/.vitepress/config.ts) into `frontend/dist/docs/`.
 *
 * Run with `npm run build:sites`; the e2e tests' global setup runs it when the sources are newer.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build, type Plugin } from 'vite';
import { build as buildVitePress } from 'vitepress';
import { type SiteName, sites } from '../lib/topology.ts';
import { SITE_ICON } from './icon.ts';

const FRONTEND = dirname(fileURLToPath(import.meta.url));
export const SITE_NAMES = Object.keys(sites) as SiteName[];

/** The page title comes from the topology, the one place a site is described; the icon is every site's. */
function siteTitle(site: SiteName): Plugin {
  return {
    name: 'execfabric-site-title',
    transformIndexHtml: (html) =>
      html.replace('%SITE_TITLE%', sites[site].title).replace('%SITE_ICON%', SITE_ICON),
  };
}

/**
 * Builds one site into a fresh folder next to its target and then swaps it in, so a server (or a
 * test) reading the site meanwhile sees the old build or the new one, never a half-written folder.
 */
export async function buildSite(site: SiteName): Promise<void> {
  const target = resolve(FRONTEND, '..', sites[site].dir);
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const fresh = resolve(dirname(target), `.${site}-${suffix}`);
  const old = resolve(dirname(target), `.${site}-old-${suffix}`);
  mkdirSync(dirname(target), { recursive: true });
  try {
    if (site === 'docs') await buildVitePress(resolve(FRONTEND, '..', 'docs'), { outDir: fresh });
    else await buildFront(site, fresh);
    try {
      renameSync(target, old);
    } catch {
      // No earlier build.
    }
    renameSync(fresh, target);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

async function buildFront(site: SiteName, outDir: string): Promise<void> {
  await build({
    configFile: false,
    mode: 'production',
    root: resolve(FRONTEND, site),
    base: '/',
    publicDir: false,
    logLevel: 'warn',
    plugins: [react(), siteTitle(site)],
    build: {
      outDir,
      emptyOutDir: true,
      assetsDir: 'assets',
      target: 'es2022',
      sourcemap: false,
      reportCompressedSize: false,
      // Vite's own 500 kB warning stands: the code editor and the JSON Schema form are chunks of their
      // own, loaded by the pages that use them (React.lazy), so no chunk comes near it.
    },
  });
}

export async function buildSites(only: readonly SiteName[] = SITE_NAMES): Promise<void> {
  // The sites are production builds whatever the caller's environment says (a test runner sets NODE_ENV=test).
  process.env.NODE_ENV = 'production';
  for (const site of only) await buildSite(site);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const requested = process.argv.slice(2) as SiteName[];
  const unknown = requested.filter((site) => !SITE_NAMES.includes(site));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown site(s): ${unknown.join(', ')}; sites are ${SITE_NAMES.join(', ')}\n`);
    process.exit(2);
  }
  const chosen = requested.length > 0 ? requested : SITE_NAMES;
  const started = Date.now();
  await buildSites(chosen);
  process.stdout.write(`Built ${chosen.join(', ')} into frontend/dist in ${Date.now() - started} ms\n`);
}
