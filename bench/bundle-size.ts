/**
 * Bundle size of each Node Lambda as the CDK stack builds it (esbuild, ESM, node22, minified, the
 * runtime's AWS SDK left external), next to a baseline bundled in the same run with the AWS SDK
 * included — what relying on the runtime's SDK saves.
 *
 *   npx tsx bench/bundle-size.ts
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../lib/aws/functions.ts';
import { REPOSITORY_ROOT } from '../lib/local/platform.ts';
import { functions } from '../lib/topology.ts';

async function bundleBytes(entry: string, external: string[]): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const result = await build({
    entryPoints: [resolve(REPOSITORY_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    banner: { js: ESM_REQUIRE_BANNER },
    external,
    write: false,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
  return { bytes, ms: performance.now() - started };
}

const rows: string[] = [];
for (const spec of Object.values(functions)) {
  if (spec.runtime !== 'nodejs22.x') continue;
  const shipped = await bundleBytes(spec.entry, ['@aws-sdk/*']);
  const withSdk = await bundleBytes(spec.entry, []);
  rows.push(
    `| ${spec.name} | ${(shipped.bytes / 1024).toFixed(0)} | ${(withSdk.bytes / 1024).toFixed(0)} | ${(withSdk.bytes / shipped.bytes).toFixed(1)}× | ${shipped.ms.toFixed(0)} |`,
  );
}
process.stdout.write(
  [
    `Bundle sizes ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
    '',
    '| function | shipped KiB (SDK external) | baseline KiB (SDK bundled) | baseline / shipped | bundle ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
