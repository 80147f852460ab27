/**
 * SDK clients a function bundles (BUNDLED_SDK_CLIENTS: CloudFront) are shipped beside its bundle,
 * as a module of their own in the function's asset (`node_modules/<client>/index.mjs`), not inside
 * it. The functions import the client only on first use (functions/clients/cloudfront-edge.ts), but
 * code in the bundle's file is parsed at every cold start, evaluated or not: the CloudFront client
 * (~620 KiB) cost the governance API ~24 ms and the lifecycle scan ~21 ms of init, for a path most
 * of their invocations never take (bench/RESULTS.md). The bundle leaves the client's import to run
 * time (external), and Node resolves it from the asset's own `node_modules`; the client's module is
 * built from this checkout's pinned copy, as it was bundled before. Run after each function's
 * bundling (`afterBundling` in PlatformFunctions, through scripts/side-modules.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLED_SDK_CLIENTS, lambdaBuildOptions, runtimeSdkModules } from './functions.ts';

/**
 * Writes, into the asset folder `outputDir` whose `index.mjs` is a function's bundle, the module of
 * each bundled SDK client that bundle imports; the clients written.
 */
export async function writeSideModules(projectRoot: string, outputDir: string): Promise<string[]> {
  const bundle = readFileSync(join(outputDir, 'index.mjs'), 'utf8');
  const written: string[] = [];
  for (const name of BUNDLED_SDK_CLIENTS) {
    if (!bundle.includes(`import(${JSON.stringify(name)})`)) continue;
    const dir = join(outputDir, 'node_modules', ...name.split('/'));
    mkdirSync(dir, { recursive: true });
    // The client is CommonJS: `export *` from it would give an ES module no named exports, so each
    // of its exports is named here, as the checkout's copy lists them.
    const names = Object.keys(createRequire(join(projectRoot, 'package.json'))(name) as object).filter(
      (key) => key !== 'default' && key !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(key),
    );
    await build({
      stdin: {
        contents: `import client from ${JSON.stringify(name)};\nexport const { ${names.join(', ')} } = client;\n`,
        resolveDir: projectRoot,
        loader: 'js',
      },
      ...lambdaBuildOptions(projectRoot),
      // The client itself is bundled here (the functions' build leaves it out).
      external: runtimeSdkModules(),
      outfile: join(dir, 'index.mjs'),
      logLevel: 'warning',
    });
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name, private: true, type: 'module', exports: './index.mjs' }, null, 2)}\n`,
    );
    written.push(name);
  }
  return written;
}
