/**
 * Size and module init of each Node Lambda asset as the CDK stack builds it (lambdaAssetOptions:
 * esbuild, ESM, node22, minified, code split, the runtime's SDK clients left to it and required
 * through their shims, the unused packages swapped for a stub: `bundleAliases`), with:
 *
 * - its size: what a cold start loads (`index.mjs` and the chunks it imports statically) and the
 *   chunks loaded on first use (dynamic imports: the schema validator, the CloudFront client…);
 * - the largest contributors of what loads at init (esbuild's metafile, by package or core folder);
 * - a size baseline bundled in the same run: the whole SDK bundled (what relying on the runtime saves);
 * - module init: each bundle written to `bench/out/bundles/<name>/index.mjs` and imported by a fresh
 *   Node process (this Node, 22) with the environment a Lambda would have (dummy table, queue and
 *   function names, a region, dummy credentials, message keys as values so no secret is fetched),
 *   which reports the import's duration and its RSS afterwards; against a baseline in the same run, a
 *   fresh process importing an empty module, and, per function, a fresh process loading only the
 *   SDK modules the bundle leaves to the runtime, as the bundle loads them (`require`, through
 *   `lib/aws/runtime-sdk/`: what the runtime's SDK costs; ours is the rest) and, beside it, the same
 *   modules `import`ed (what they cost an ESM bundle that imports them). They resolve from this
 *   repository's `node_modules`, standing for the runtime's copy (loading them is part of the init).
 *   ROUNDS rounds, interleaved, p50;
 * - with BENCH_BASE_REF (e.g. `main`): the same functions built from that commit's tree (extracted
 *   with `git archive` into a temporary folder, built as that tree's CDK builds them: one file, with
 *   the CloudFront client left out where that tree shipped it beside the bundle, or code split),
 *   imported in the same rounds, for a before/after pair measured under the same load;
 * - where an API loads its routes on first use (router.ts `lazyRoutes`), the init and then its
 *   sign-in routes' chunk, imported and built in the same process: what the first request of a cold
 *   start has paid by the time it is routed, beside the base that built every route at init; and,
 *   where it builds its core in layers on first use (core/assembly/sign-in.ts `LazyCore`), the init,
 *   then the layers a first request past sign-in uses and its group's routes on them: what that
 *   cold start pays, beside the base's init and the same routes (the free API, where nobody signs
 *   in: the init, then the free entry's domain and its routes, as its first sign-up loads them).
 *
 *   npx tsx bench/bundle-size.ts   (BENCH_ROUNDS=7 by default; BENCH_BASE_REF=main for the pair)
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import {
  bundleAliases,
  lambdaBuildOptions,
  runtimeSdkModules,
  runtimeSdkShims,
} from '../lib/aws/functions.ts';
import { functions } from '../lib/topology.ts';
import { assetFiles, buildAsset, inputsOf, outputBytes } from '../test/support/lambda-assets.ts';
import { lambdaEnvironment } from '../test/support/lambda-environment.ts';
import { machine } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(import.meta.dirname, 'out', 'bundles');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BASE_REF = process.env.BENCH_BASE_REF;

interface Bundle {
  readonly code: Uint8Array;
  readonly metafile: Metafile;
  readonly ms: number;
}

/** `external`: the runtime's SDK modules left to it (through their shims); `[]` bundles the SDK. */
async function bundle(entry: string, external: string[], root = ROOT): Promise<Bundle> {
  const shims = new Set(Object.values(runtimeSdkShims(root)));
  const started = performance.now();
  const result = await build({
    ...lambdaBuildOptions(root),
    entryPoints: [resolve(root, entry)],
    external,
    // A base tree is built with the swaps it had (its CDK built it so): those whose files it holds.
    // With the SDK bundled (external `[]`), its modules are not swapped for their shims either.
    alias: Object.fromEntries(
      Object.entries(bundleAliases(root)).filter(
        ([, file]) => existsSync(file) && (external.length > 0 || !shims.has(file)),
      ),
    ),
    write: false,
    metafile: true,
    outfile: 'index.mjs',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return { code: file.contents, metafile: result.metafile, ms: performance.now() - started };
}

/**
 * The runtime's SDK modules an asset requires at init, through their shims (inputs under
 * `lib/aws/runtime-sdk/` of what a cold start loads; a shim in a chunk loaded on first use is not).
 */
function initRuntimeModules(metafile: Metafile): string[] {
  return shimmedIn(inputsOf(metafile, assetFiles(metafile).init));
}

/** The runtime's SDK modules a bundle requires through their shims (inputs under `lib/aws/runtime-sdk/`). */
function shimmedModules(metafile: Metafile): string[] {
  return shimmedIn(Object.keys(metafile.inputs));
}

/** The runtime's SDK modules whose shims are among `inputs`. */
function shimmedIn(inputs: readonly string[]): string[] {
  return inputs.flatMap((path) => {
    const name = /(?:^|\/)lib\/aws\/runtime-sdk\/([a-z0-9-]+)\.cjs$/.exec(path)?.[1];
    return name === undefined ? [] : [`@aws-sdk/${name}`];
  });
}

/**
 * Bytes in the outputs `paths` by package (`zod`, `@smithy/core`) or by our own folder
 * (`functions/core/catalog`).
 */
function contributors(metafile: Metafile, paths: readonly string[], top: number): string {
  const groups = new Map<string, number>();
  const inputs = paths.flatMap((path) => Object.entries(metafile.outputs[path]?.inputs ?? {}));
  for (const [file, { bytesInOutput }] of inputs) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    const key =
      pkg ??
      file
        .split('/')
        .slice(0, file.startsWith('functions/core/') ? 3 : 2)
        .join('/');
    groups.set(key, (groups.get(key) ?? 0) + bytesInOutput);
  }
  return [...groups]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, bytes]) => `${key} ${kib(bytes)}`)
    .join(', ');
}

/**
 * One step after the init, as a cold start's first request takes it: a chunk loaded on first use
 * imported and its export `build` called — a group of routes (router.ts `lazyRoutes`) on a stand-in
 * core that answers every property (building a table touches the core only through closures); a
 * layer of an API's core (core/assembly/sign-in.ts `LazyCore`) on stand-in options and the layer
 * below (`layer`: a stand-in for the sign-in core, else what the step before built); or a group of
 * routes on the core the step before built (`routes`).
 */
interface Step {
  readonly chunk: string;
  readonly build: string;
  readonly on: 'stand-in' | 'layer' | 'routes';
}

/**
 * Imports `file` in a fresh Node process: the import's milliseconds and the RSS after it; with
 * `then`, those steps too, and `ms` covers them all: what a cold start's first request has paid by
 * the time it is routed.
 */
function importOnce(
  file: string,
  env: NodeJS.ProcessEnv,
  then: readonly Step[] = [],
): { ms: number; rss: number } {
  const args: Record<Step['on'], string> = {
    'stand-in': 's',
    layer: `{table:s,tokenSecret:'x'.repeat(32)},built??s`,
    routes: 'built',
  };
  const steps = then
    .map(
      (step) =>
        `built=(await import(${JSON.stringify(pathToFileURL(step.chunk).href)}))[${JSON.stringify(step.build)}](${args[step.on]});if(built===undefined)throw new Error('nothing built');`,
    )
    .join('');
  const script = `const s=new Proxy(function(){},{get:()=>s,apply:()=>s});let built;const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});${steps}const ms=performance.now()-t;process.stdout.write(JSON.stringify({ms,rss:process.memoryUsage().rss}));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as { ms: number; rss: number };
}

/** An output's path as the metafile names it, from its path on disk. */
function relativeOutput(metafile: Metafile, file: string): string {
  return Object.keys(metafile.outputs).find((path) => resolve(ROOT, path) === file) ?? file;
}

function p50(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? Number.NaN;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)}`;
const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);

/**
 * A first request past sign-in in each API: the layers of the core its routes are built on (module
 * and export, from the sign-in core up) and its routes — the tenant API's list of Skills (catalog),
 * on the signed-in core; the governance API's tenants, on the signed-in core and the public domain;
 * the free API's offers or sign-up, on the free entry's domain (free-api/handler.ts; its routes reach
 * the entry only through closures, so building them on the domain costs what building them on its
 * `free` does).
 */
const PAST_SIGN_IN: Record<
  string,
  { layers: readonly (readonly [string, string])[]; routes: readonly [string, string] }
> = {
  'tenant-api': {
    layers: [['functions/core/assembly/signed-in.ts', 'createSignedInCore']],
    routes: ['functions/http/routes/catalog.ts', 'catalogRoutes'],
  },
  'governance-api': {
    layers: [
      ['functions/core/assembly/signed-in.ts', 'createSignedInCore'],
      ['functions/core/assembly/api.ts', 'createApiCore'],
    ],
    routes: ['functions/http/routes/governance.ts', 'governanceDomainRoutes'],
  },
  'free-api': {
    layers: [['functions/core/assembly/free-entry.ts', 'createFreeEntryDomain']],
    routes: ['functions/http/routes/free-entry.ts', 'freeEntryRoutes'],
  },
};

mkdirSync(OUT, { recursive: true });
const env = lambdaEnvironment();
const empty = join(OUT, 'empty.mjs');
writeFileSync(empty, '');

const startedOn = machine();
const shipped = new Map<
  string,
  {
    file: string;
    /** Bytes a cold start loads: the entry and the chunks it imports statically. */
    init: number;
    /** Bytes of the chunks loaded on first use. */
    lazy: number;
    metafile: Metafile;
    initFiles: readonly string[];
    ms: number;
    sdkFile: string;
    sdkImportFile: string;
    withSdkFile: string;
    withSdk: number;
    /** The chunk of the sign-in routes, where they load on first use (the consoles' APIs). */
    signIn?: string;
    /**
     * Where an API builds its whole core on first use: that chunk, and the chunk of the routes of
     * the first request past sign-in it is measured with (the tenant API's catalog, runs included;
     * the governance API's tenants and orders).
     */
    pastSignIn?: readonly Step[];
  }
>();
for (const spec of Object.values(functions)) {
  if (spec.runtime !== 'nodejs22.x') continue;
  const dir = join(OUT, spec.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const { metafile } = await buildAsset(ROOT, spec.entry, dir);
  const ms = performance.now() - started;
  const files = assetFiles(metafile);
  const file = join(dir, 'index.mjs');
  const withSdk = await bundle(spec.entry, []);
  // The same SDK modules loaded alone, as the asset loads them at init (`require`, through their
  // shims): the runtime's share of the init; and imported (ESM), as bundles loaded them before the shims.
  const modules = initRuntimeModules(metafile);
  const withSdkFile = join(dir, 'with-sdk.mjs');
  writeFileSync(withSdkFile, withSdk.code);
  const sdkFile = join(dir, 'sdk-only.mjs');
  writeFileSync(
    sdkFile,
    [
      "import { createRequire } from 'node:module';",
      'const require = createRequire(import.meta.url);',
      ...modules.map((path) => `require(${JSON.stringify(path)});`),
    ].join('\n'),
  );
  const sdkImportFile = join(dir, 'sdk-only-imported.mjs');
  writeFileSync(sdkImportFile, modules.map((path) => `import ${JSON.stringify(path)};`).join('\n'));
  const chunkOf = (entryPoint: string) => {
    const chunk = Object.entries(metafile.outputs).find(
      ([, output]) => output.entryPoint === entryPoint,
    )?.[0];
    return chunk === undefined ? undefined : resolve(ROOT, chunk);
  };
  const signIn = chunkOf('functions/http/routes/identity.ts');
  const past = PAST_SIGN_IN[spec.name];
  const pastSignIn =
    past === undefined
      ? undefined
      : [
          ...past.layers.map(([module, build]) => ({ module, build, on: 'layer' as const })),
          { module: past.routes[0], build: past.routes[1], on: 'routes' as const },
        ].map(({ module, build, on }) => {
          const chunk = chunkOf(module);
          if (chunk === undefined) throw new Error(`${spec.name} has no chunk for ${module}`);
          return { chunk, build, on };
        });
  shipped.set(spec.name, {
    file,
    ...(signIn === undefined ? {} : { signIn }),
    ...(pastSignIn === undefined ? {} : { pastSignIn }),
    init: outputBytes(metafile, files.init),
    lazy: outputBytes(metafile, files.lazy),
    metafile,
    initFiles: files.init,
    ms,
    sdkFile,
    sdkImportFile,
    withSdkFile,
    withSdk: withSdk.code.byteLength,
  });
}

// The base commit's bundles, built from its tree (this checkout's node_modules).
const based = new Map<
  string,
  {
    file: string;
    bytes: number;
    requires: boolean;
    /** Where the base loaded routes on first use: the routes of a first request past sign-in (on its core built at init). */
    pastSignIn?: Step;
  }
>();
if (BASE_REF !== undefined) {
  // Outside the checkout: its sources are no part of this tree (typecheck, lint, tests).
  const tree = mkdtempSync(join(tmpdir(), 'execfabric-bench-base-'));
  execFileSync('sh', ['-c', `git archive --format=tar "$0" | tar -x -C "$1"`, BASE_REF, tree], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  for (const spec of Object.values(functions)) {
    if (spec.runtime !== 'nodejs22.x' || !existsSync(join(tree, spec.entry))) continue;
    // Built as its CDK built it: code split, or one file with the CloudFront client left out where it
    // went beside the bundle (lib/aws/side-modules.ts), or bundled in it before that.
    const split = readFileSync(join(tree, 'lib', 'aws', 'functions.ts'), 'utf8').includes(
      'lambdaAssetOptions',
    );
    if (split) {
      const dir = join(OUT, spec.name, 'base');
      rmSync(dir, { recursive: true, force: true });
      const { metafile } = await buildAsset(tree, spec.entry, dir);
      const requires = shimmedModules(metafile).length > 0;
      const bytes = outputBytes(metafile, assetFiles(metafile).init);
      const past = PAST_SIGN_IN[spec.name];
      const routes = Object.entries(metafile.outputs).find(
        // Paths relative to this checkout (esbuild's working directory), the tree's outside it.
        ([, output]) => past !== undefined && output.entryPoint?.endsWith(`/${past.routes[0]}`) === true,
      )?.[0];
      based.set(spec.name, {
        file: join(dir, 'index.mjs'),
        bytes,
        requires,
        ...(past === undefined || routes === undefined
          ? {}
          : { pastSignIn: { chunk: resolve(ROOT, routes), build: past.routes[1], on: 'stand-in' } }),
      });
      continue;
    }
    const sides = existsSync(join(tree, 'lib', 'aws', 'side-modules.ts'));
    const built = await bundle(
      spec.entry,
      sides ? [...runtimeSdkModules(), '@aws-sdk/client-cloudfront'] : runtimeSdkModules(),
      tree,
    );
    const file = join(OUT, spec.name, 'base.mjs');
    writeFileSync(file, built.code);
    // Whether the base requires the runtime's SDK (its shims) or imports it (before them).
    const requires = shimmedModules(built.metafile).length > 0;
    based.set(spec.name, { file, bytes: built.code.byteLength, requires });
  }
  rmSync(tree, { recursive: true, force: true });
}

// Rounds interleave the functions and the baseline, so a burst of load falls on all of them alike.
const samples = new Map<string, { ms: number[]; rss: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  const files: (readonly [string, string])[] = [['(empty module)', empty]];
  const firstRequests: (readonly [string, string, readonly Step[]])[] = [];
  for (const [name, { file, sdkFile, sdkImportFile, withSdkFile, signIn, pastSignIn }] of shipped) {
    if (signIn !== undefined) {
      firstRequests.push([
        `${name} (init, then the sign-in routes)`,
        file,
        [{ chunk: signIn, build: 'identityRoutes', on: 'stand-in' }],
      ]);
    }
    if (pastSignIn !== undefined) {
      firstRequests.push([`${name} (init, then past sign-in)`, file, pastSignIn]);
    }
    files.push(
      [name, file],
      [`${name} (SDK only)`, sdkFile],
      [`${name} (SDK only, imported)`, sdkImportFile],
      [`${name} (SDK bundled)`, withSdkFile],
    );
    const base = based.get(name);
    if (base !== undefined) files.push([`${name} (base)`, base.file]);
    if (base?.pastSignIn !== undefined) {
      firstRequests.push([`${name} (base, then past sign-in)`, base.file, [base.pastSignIn]]);
    }
  }
  const runs = [...files.map(([name, file]) => [name, file, undefined] as const), ...firstRequests];
  for (const [name, file, then] of runs) {
    const sample = importOnce(file, env, then);
    const entry = samples.get(name) ?? { ms: [], rss: [] };
    entry.ms.push(sample.ms);
    entry.rss.push(sample.rss);
    samples.set(name, entry);
  }
}

const baseline = samples.get('(empty module)') ?? { ms: [], rss: [] };
const rows: string[] = [];
const tops: string[] = [];
for (const [name, { init, lazy, metafile, initFiles, ms, withSdk }] of shipped) {
  const s = samples.get(name) ?? { ms: [], rss: [] };
  const sdk = samples.get(`${name} (SDK only)`) ?? { ms: [], rss: [] };
  const sdkImported = samples.get(`${name} (SDK only, imported)`) ?? { ms: [], rss: [] };
  const bundled = samples.get(`${name} (SDK bundled)`) ?? { ms: [], rss: [] };
  rows.push(
    `| ${name} | ${kib(init)} | ${lazy === 0 ? '' : kib(lazy)} | ${init <= 300 * 1000 ? 'yes' : 'no'} | ${p50(s.ms).toFixed(0)} | ${p50(sdk.ms).toFixed(0)} | ${p50(sdkImported.ms).toFixed(0)} | ${(p50(s.ms) - p50(sdk.ms)).toFixed(0)} | ${mib(p50(s.rss))} | ${kib(withSdk)} | ${p50(bundled.ms).toFixed(0)} | ${ms.toFixed(0)} |`,
  );
  tops.push(`- ${name}: ${contributors(metafile, initFiles, 6)}`);
}

const pairs: string[] = [];
for (const [name, { init }] of shipped) {
  const base = based.get(name);
  if (base === undefined) continue;
  const now = p50(samples.get(name)?.ms ?? []);
  const before = p50(samples.get(`${name} (base)`)?.ms ?? []);
  const sdk = p50(samples.get(`${name} (SDK only)`)?.ms ?? []);
  // Each side less the SDK loaded as that side loads it.
  const baseSdk = base.requires ? sdk : p50(samples.get(`${name} (SDK only, imported)`)?.ms ?? []);
  pairs.push(
    `| ${name} | ${kib(base.bytes)} | ${kib(init)} | ${before.toFixed(0)} | ${now.toFixed(0)} | ${(now / before).toFixed(2)} | ${(before - baseSdk).toFixed(0)} | ${(now - sdk).toFixed(0)} |`,
  );
}
/** Bytes of `chunks` and the chunks they import statically, beyond what the init loaded. */
function beyondInit(metafile: Metafile, chunks: readonly string[]): number {
  const loaded = chunks.map((chunk) => relativeOutput(metafile, chunk));
  for (let i = 0; i < loaded.length; i++) {
    for (const imported of metafile.outputs[loaded[i] ?? '']?.imports ?? []) {
      if (imported.kind === 'import-statement' && !loaded.includes(imported.path)) loaded.push(imported.path);
    }
  }
  const initFiles = assetFiles(metafile).init;
  return outputBytes(
    metafile,
    loaded.filter((chunk) => !initFiles.includes(chunk)),
  );
}

// Where routes load on first use, what the first request's routing has paid (sign-in: the consoles'
// first request; past sign-in: the whole core and a group's routes), beside the base.
const firsts: string[] = [];
for (const [name, { init, signIn, pastSignIn, metafile }] of shipped) {
  if (signIn === undefined && pastSignIn === undefined) continue;
  const base = based.get(name);
  const before = p50(samples.get(`${name} (base)`)?.ms ?? []);
  const ms = (what: string) => p50(samples.get(`${name} (${what})`)?.ms ?? []).toFixed(0);
  const past =
    pastSignIn === undefined
      ? ['', '']
      : [
          kib(
            init +
              beyondInit(
                metafile,
                pastSignIn.map((step) => step.chunk),
              ),
          ),
          ms('init, then past sign-in'),
        ];
  firsts.push(
    `| ${name} | ${base === undefined ? '' : kib(base.bytes)} | ${base === undefined ? '' : before.toFixed(0)} | ${base?.pastSignIn === undefined ? '' : ms('base, then past sign-in')} | ${kib(init)} | ${p50(samples.get(name)?.ms ?? []).toFixed(0)} | ${signIn === undefined ? '' : kib(init + beyondInit(metafile, [signIn]))} | ${signIn === undefined ? '' : ms('init, then the sign-in routes')} | ${past[0]} | ${past[1]} |`,
  );
}
const firstTable =
  firsts.length === 0
    ? []
    : [
        'Routes and cores loaded on first use: what a cold start has loaded by the time its first request is routed — a sign-in (the init, then the sign-in routes’ chunk imported and its routes built), or a request past sign-in (the init, then the layers of the core it uses imported and built, then its group’s routes built on them: the tenant API’s catalog on the signed-in core, the governance API’s tenants on the signed-in core and the public domain; the free API, where nobody signs in, its offers or sign-up on the free entry) — beside the base, which built its core at init and then the same routes.',
        '',
        '| function | base KiB (at init) | base init p50 ms | base init + the same routes p50 ms | KiB at init | init p50 ms | KiB by a first sign-in | init + sign-in routes p50 ms | KiB by a first request past sign-in | init + whole core + its routes p50 ms |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...firsts,
        '',
      ];

const pairTable =
  pairs.length === 0
    ? []
    : [
        `Before/after, in the same rounds: the base is \`${BASE_REF}\` (${execFileSync('git', ['rev-parse', '--short', BASE_REF ?? 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()}), built from its tree.`,
        '',
        '| function | base KiB (at init) | KiB (at init) | base init p50 ms | init p50 ms | init ÷ base | base init − SDK alone (as the base loads it) ms | init − SDK alone ms |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...pairs,
        '',
      ];

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const section = [
  `Bundle sizes and module init, ${new Date().toISOString()} on ${startedOn}; Node ${process.versions.node}, ${ROUNDS} rounds, load average ${load} at the end.`,
  `Baseline (fresh process importing an empty module): import p50 ${p50(baseline.ms).toFixed(1)} ms, RSS ${mib(p50(baseline.rss))} MiB.`,
  '',
  '| function | loaded at init KiB | chunks loaded on first use KiB | ≤ 300 KB (at init) | init p50 ms | baseline: its runtime SDK modules alone, required, ms | the same imported (ESM), ms | init − SDK alone ms | RSS p50 MiB | baseline: SDK bundled KiB | SDK bundled: init p50 ms | bundle ms |',
  '| --- | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  ...pairTable,
  ...firstTable,
  'Largest contributors to what loads at init (KiB in the minified output):',
  '',
  ...tops,
  '',
].join('\n');
process.stdout.write(section);
