/**
 * Bundle size of each Node Lambda as the CDK stack builds it (esbuild, ESM, node22, minified, the
 * runtime's stable SDK clients left external, CloudFront bundled where imported, and the Lambda client
 * where `TenantId` is needed), next to two baselines
 * bundled in the same run: every SDK module from the runtime (what bundling the newer clients
 * costs), and the whole SDK bundled (what relying on the runtime saves).
 *
 *   npx tsx bench/bundle-size.ts
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, runtimeSdkModules } from '../lib/aws/functions.ts';
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
  const shipped = await bundleBytes(spec.entry, runtimeSdkModules(spec.name));
  const runtimeSdk = await bundleBytes(spec.entry, ['@aws-sdk/*']);
  const withSdk = await bundleBytes(spec.entry, []);
  const kib = (bytes: number) => (bytes / 1024).toFixed(0);
  rows.push(
    `| ${spec.name} | ${kib(shipped.bytes)} | ${kib(runtimeSdk.bytes)} | +${kib(shipped.bytes - runtimeSdk.bytes)} | ${kib(withSdk.bytes)} | ${(withSdk.bytes / shipped.bytes).toFixed(1)}× | ${shipped.ms.toFixed(0)} |`,
  );
}
// The Lambda client, bundled only where `TenantId` is needed: what it would cost the tenant API.
const tenantApi = functions['tenant-api'].entry;
const withLambda = await bundleBytes(
  tenantApi,
  runtimeSdkModules('tenant-api').filter((m) => m !== '@aws-sdk/client-lambda'),
);
const withoutLambda = await bundleBytes(tenantApi, runtimeSdkModules('tenant-api'));
rows.push(
  '',
  `Lambda client bundled into tenant-api: ${(withLambda.bytes / 1024).toFixed(0)} KiB against ${(withoutLambda.bytes / 1024).toFixed(0)} KiB (+${((withLambda.bytes - withoutLambda.bytes) / 1024).toFixed(0)} KiB)`,
);
process.stdout.write(
  [
    `Bundle sizes ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
    '',
    '| function | shipped KiB | baseline: all SDK external KiB | cost of bundled clients KiB | baseline: SDK bundled KiB | bundled / shipped | bundle ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
