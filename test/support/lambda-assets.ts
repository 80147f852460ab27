/**
 * A Node function's asset as the stack builds it (lambdaAssetOptions: `index.mjs` and its code-split
 * `chunks/`), for the tests and the bench: built by the same options, and split by what a cold start
 * reads — the entry and every chunk it imports statically, transitively — and what is loaded on first
 * use (dynamic imports).
 */
import { resolve } from 'node:path';
import { type BuildOptions, type BuildResult, build, type Metafile } from 'esbuild';
import { CHUNKS_DIR, lambdaAssetOptions } from '../../lib/aws/functions.ts';

export interface AssetFiles {
  /** The entry's output path, as the metafile names outputs. */
  readonly entry: string;
  /** Outputs a cold start loads: the entry first. */
  readonly init: readonly string[];
  /** Outputs loaded only on first use. */
  readonly lazy: readonly string[];
}

/**
 * The function's asset built into `outdir`, with its metafile; `overrides` over the stack's options
 * (`write: false` keeps it in memory, `minify: false` keeps names readable).
 */
export async function buildAsset(
  projectRoot: string,
  entry: string,
  outdir: string,
  overrides: BuildOptions = {},
): Promise<BuildResult & { metafile: Metafile }> {
  const result = await build({
    ...lambdaAssetOptions(projectRoot, resolve(projectRoot, entry), outdir),
    ...overrides,
  });
  return result as BuildResult & { metafile: Metafile };
}

export function assetFiles(metafile: Metafile): AssetFiles {
  const outputs = Object.entries(metafile.outputs);
  // `index.mjs` beside the chunks' folder: a dynamically imported module's chunk has an
  // `entryPoint` in the metafile too.
  const entry = outputs.find(
    ([path]) => /(^|\/)index\.mjs$/.test(path) && !path.includes(`/${CHUNKS_DIR}/`),
  )?.[0];
  if (entry === undefined) throw new Error('The build has no index.mjs');
  const init = [entry];
  for (let i = 0; i < init.length; i++) {
    for (const imported of metafile.outputs[init[i] ?? '']?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external && !init.includes(imported.path))
        init.push(imported.path);
    }
  }
  return { entry, init, lazy: outputs.map(([path]) => path).filter((path) => !init.includes(path)) };
}

/** Bytes of `paths` in the build's output. */
export function outputBytes(metafile: Metafile, paths: readonly string[]): number {
  return paths.reduce((total, path) => total + (metafile.outputs[path]?.bytes ?? 0), 0);
}

/** The inputs whose code is in `paths` (package paths start `node_modules/`). */
export function inputsOf(metafile: Metafile, paths: readonly string[]): string[] {
  return [...new Set(paths.flatMap((path) => Object.keys(metafile.outputs[path]?.inputs ?? {})))];
}
