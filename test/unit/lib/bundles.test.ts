/**
 * The Lambda build's package swap (BUNDLE_ALIASES, lib/aws/functions.ts): Ajv and its formats are
 * replaced by a stub that throws. Only the MCP SDK's default validator imports them, and the tenant
 * API gives its server its own; so no function reaches the stub from our code, the SDK server built
 * with our validator starts in a bundle, and one built without it fails loudly there. And the
 * CloudFront client is imported only dynamically (functions/clients/cloudfront-edge.ts), into a
 * chunk of its own (lambdaAssetOptions), so it is no part of a function's init. And no function loads
 * any other part of the SDK at init (functions/core/sdk-clients.ts fixes the SDK's own signer instead
 * of importing `@smithy/signature-v4`, which brought the Smithy core into every bundle).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bundleAliases,
  lambdaBuildOptions,
  REQUIRED_BUILTINS,
  RUNTIME_SDK_MODULES,
  requiredBuiltinShims,
  runtimeSdkShims,
  UNBUNDLED_PACKAGES,
} from '../../../lib/aws/functions.ts';
import { functions } from '../../../lib/topology.ts';
import { assetFiles, buildAsset, inputsOf, outputBytes } from '../../support/lambda-assets.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const STUB = relative(ROOT, bundleAliases(ROOT)[UNBUNDLED_PACKAGES[0]] ?? '');
const OPTIONS: BuildOptions = {
  ...lambdaBuildOptions(ROOT),
  minify: false,
  write: false,
  metafile: true,
  outfile: 'index.mjs',
  logLevel: 'silent',
  absWorkingDir: ROOT,
};
const nodeFunctions = Object.values(functions).filter((spec) => spec.runtime === 'nodejs22.x');
const scratch = mkdtempSync(join(tmpdir(), 'execfabric-bundles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The function's asset as the stack builds it (code split), unminified, in memory: its metafile, the
 * outputs a cold start loads, and their code.
 */
async function asset(
  entry: string,
): Promise<{ metafile: Metafile; init: readonly string[]; lazy: readonly string[]; code: string }> {
  const result = await buildAsset(ROOT, entry, join(scratch, 'asset'), {
    minify: false,
    write: false,
    absWorkingDir: ROOT,
  });
  const { metafile } = result;
  const { init, lazy } = assetFiles(metafile);
  const code = (result.outputFiles ?? [])
    .filter((file) => init.includes(relative(ROOT, file.path)))
    .map((file) => file.text)
    .join('\n');
  return { metafile, init, lazy, code };
}

/** Runs `source` (resolved from the repository root) bundled as a Lambda is; what it prints. */
async function runBundled(source: string): Promise<string> {
  const result = await build({ ...OPTIONS, stdin: { contents: source, resolveDir: ROOT, loader: 'ts' } });
  const file = join(scratch, `entry-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, result.outputFiles?.[0]?.contents ?? '');
  return execFileSync(process.execPath, [file], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('the Lambda build’s package swap', () => {
  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: only the MCP SDK’s Ajv provider imports the swapped packages; nothing of them is bundled',
    async (_name, entry) => {
      const { metafile } = await build({ ...OPTIONS, entryPoints: [entry] });
      const inputs = Object.entries(metafile?.inputs ?? {});
      const importers = inputs
        .filter(([, input]) => input.imports.some((i) => i.path === STUB))
        .map(([path]) => path);
      for (const importer of importers)
        expect(importer).toBe('node_modules/@modelcontextprotocol/sdk/dist/esm/validation/ajv-provider.js');
      for (const name of UNBUNDLED_PACKAGES)
        expect(inputs.filter(([path]) => path.startsWith(`node_modules/${name}/`))).toEqual([]);
    },
  );

  it('bundles the tenant API’s MCP server without Ajv', async () => {
    const { metafile } = await build({ ...OPTIONS, entryPoints: [functions['tenant-api'].entry] });
    const inputs = Object.keys(metafile?.inputs ?? {});
    expect(inputs).toContain('node_modules/@modelcontextprotocol/sdk/dist/esm/server/index.js');
    expect(inputs).toContain(STUB);
    expect(inputs.filter((path) => /node_modules\/(ajv|ajv-formats|fast-uri)\//.test(path))).toEqual([]);
  });

  it('loads the tenant API’s MCP server and croner in chunks their first use imports, not at a cold start', async () => {
    const { metafile, init } = await asset(functions['tenant-api'].entry);
    const lazy = [
      'node_modules/@modelcontextprotocol/sdk/dist/esm/server/index.js',
      'functions/core/schedules/occurrences.ts',
    ];
    const loaded = inputsOf(metafile, init);
    expect(lazy.filter((path) => loaded.includes(path))).toEqual([]);
    expect(inputsOf(metafile, assetFiles(metafile).lazy)).toEqual(expect.arrayContaining(lazy));
  });

  it('starts an SDK server given our validator, and fails loudly without it', async () => {
    const server = (options: string) => `
      import { Server } from '@modelcontextprotocol/sdk/server/index.js';
      import { refusingSchemaValidator } from './functions/http/mcp-validation.ts';
      void refusingSchemaValidator;
      try {
        new Server({ name: 't', version: '1' }, ${options});
        console.log('started');
      } catch (error) {
        console.log('refused: ' + error.message);
      }`;
    expect(
      await runBundled(server('{ capabilities: {}, jsonSchemaValidator: refusingSchemaValidator }')),
    ).toBe('started\n');
    expect(await runBundled(server('{ capabilities: {} }'))).toMatch(/^refused: This package is not bundled/);
  });

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: our code imports the CloudFront client only dynamically (on first use, not at init)',
    async (_name, entry) => {
      const { metafile } = await build({ ...OPTIONS, entryPoints: [entry] });
      const kinds = Object.entries(metafile?.inputs ?? {})
        .filter(([path]) => !path.startsWith('node_modules/'))
        .flatMap(([, input]) => input.imports)
        .filter((i) => (i.original ?? i.path) === '@aws-sdk/client-cloudfront')
        .map((i) => i.kind);
      for (const kind of kinds) expect(kind).toBe('dynamic-import');
      if (entry.includes('governance-api') || entry.includes('lifecycle-scan')) expect(kinds).not.toEqual([]);
    },
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: the schema validator and RE2 are loaded by the first compile only (not at init)',
    async (_name, entry) => {
      const { metafile } = await build({ ...OPTIONS, entryPoints: [entry] });
      const inputs = Object.entries(metafile?.inputs ?? {});
      const engine = 'functions/core/catalog/schema-engine.ts';
      const patterns = 'functions/core/catalog/patterns.ts'; // RE2, imported by the engine
      // The engine is reached by dynamic import only; nothing else of ours imports what it loads.
      const kinds = inputs.flatMap(([, input]) =>
        input.imports.filter((i) => i.path === engine).map((i) => i.kind),
      );
      for (const kind of kinds) expect(kind).toBe('dynamic-import');
      const eager = inputs
        .filter(([path]) => !path.startsWith('node_modules/') && path !== engine && path !== patterns)
        .filter(([, input]) =>
          input.imports.some(
            (i) =>
              i.kind !== 'dynamic-import' &&
              (/^node_modules\/(@hyperjump|re2js)\//.test(i.path) ||
                i.path === 'functions/core/catalog/patterns.ts'),
          ),
        )
        .map(([path]) => path);
      expect(eager).toEqual([]);
    },
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: loads no bundled Smithy or AWS SDK package at init (the CloudFront client is a chunk of its own)',
    async (name, entry) => {
      const { metafile, init } = await asset(entry);
      const sdk = (path: string) => /^node_modules\/(@smithy|@aws-sdk)\//.test(path);
      expect(inputsOf(metafile, init).filter(sdk)).toEqual([]);
      // Only the functions that provision hosts bundle any: the CloudFront client, on first use.
      const lazy = assetFiles(metafile).lazy;
      expect(
        inputsOf(metafile, lazy).some((path) => path.startsWith('node_modules/@aws-sdk/client-cloudfront/')),
      ).toBe(name === 'governance-api' || name === 'lifecycle-scan');
    },
  );
  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: validates with zod/mini and its English messages only at init; classic zod only in an API’s chunks',
    async (name, entry) => {
      const { metafile, init, lazy } = await asset(entry);
      const zod = inputsOf(metafile, init).filter((path) => path.startsWith('node_modules/zod/'));
      // Classic zod (its methods on every schema, its JSON Schema processors) only where the routes'
      // contract needs it, and loaded with the first group of routes (router.ts `lazyRoutes`);
      // functions/core/zod-mini.ts at init, the free entry's routes and the routes every API serves
      // (health, the OpenAPI document) included.
      const classic = (paths: readonly string[]) =>
        inputsOf(metafile, paths).some((path) => path.startsWith('node_modules/zod/v4/classic/'));
      expect(classic(init)).toBe(false);
      // In a chunk: the tenant and governance APIs' routes, and every API's OpenAPI renderer.
      expect(classic(lazy)).toBe(name.endsWith('-api'));
      // One locale, not zod's 64.
      expect(zod.filter((path) => path.startsWith('node_modules/zod/v4/locales/'))).toEqual([
        'node_modules/zod/v4/locales/en.js',
      ]);
    },
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: loads at most 300 KB at init, minified as the stack builds it (issue 13)',
    async (_name, entry) => {
      // Minified, as shipped (`asset` builds unminified, for reading).
      const { metafile } = await buildAsset(ROOT, entry, join(scratch, 'minified'), { write: false });
      expect(outputBytes(metafile, assetFiles(metafile).init)).toBeLessThanOrEqual(300_000);
    },
  );

  /**
   * What each API builds (core/assembly/): modules it must load at init, modules it must load only on
   * first use (in a chunk: the tenant and governance APIs build their sign-in core at a cold start and
   * the rest of their core with the first request past sign-in, core/assembly/sign-in.ts; the free
   * API its hosts, and the free entry with the first request for its routes, free-api/handler.ts), and
   * modules of the parts it does not serve, which it must not load at init (a package is named by its
   * folder).
   */
  const API_CORES: readonly (readonly [
    string,
    string,
    readonly string[],
    readonly string[],
    readonly string[],
  ])[] = [
    [
      'tenant-api: sign-in at init; the run core, schedules, MCP, templates and handoffs on first use; no governance or sign-up; no MCP SDK or croner until used',
      'functions/tenant-api/index.ts',
      [
        'functions/core/assembly/sign-in.ts',
        'functions/core/identity/auth.ts',
        'functions/core/tenancy/hosts.ts',
        'functions/core/security/events.ts',
      ],
      [
        'functions/core/assembly/tenant.ts',
        'functions/core/assembly/runs.ts',
        'functions/core/executions/executions.ts',
        'functions/core/catalog/skills.ts',
        'functions/core/schedules/schedules.ts',
        'functions/core/mcp/service.ts',
        'functions/core/templates/templates.ts',
        'functions/core/free/handoffs.ts',
      ],
      [
        // The SDK's server, transport and protocol schemas: a chunk the first MCP call loads.
        'node_modules/@modelcontextprotocol/',
        'functions/http/mcp.ts',
        // When schedules fire: a chunk the first schedule operation that computes a time loads.
        'node_modules/croner/',
        'functions/core/schedules/occurrences.ts',
        'functions/core/assembly/public-domain.ts',
        'functions/core/governance/lifecycle.ts',
        'functions/core/governance/dns.ts',
        'functions/core/governance/tenants.ts',
        'functions/core/tenancy/tenants.ts',
        'functions/core/free/signups.ts',
        'functions/core/free/spaces.ts',
        'functions/http/routes/governance.ts',
        'functions/http/routes/console.ts',
        // Routes: chunks the first request under their paths loads (the next test).
        'functions/http/mcp-message.ts',
      ],
    ],
    [
      'governance-api: sign-in at init; the run core and the public domain on first use; no tenant schedules or MCP',
      'functions/governance-api/index.ts',
      ['functions/core/assembly/sign-in.ts', 'functions/core/identity/auth.ts'],
      [
        'functions/core/assembly/api.ts',
        'functions/core/executions/executions.ts',
        'functions/core/governance/orders.ts',
      ],
      [
        'node_modules/croner/',
        'node_modules/@modelcontextprotocol/',
        'functions/core/schedules/schedules.ts',
        'functions/core/mcp/',
      ],
    ],
    [
      // What sign-up runs (a new space's templates installed as its Skills and scripts), on first use.
      'free-api: hosts and the sign-up limits at init; the catalog core and sign-up on first use; no runs, approvals, agents, governance or personal-space administration',
      'functions/free-api/index.ts',
      ['functions/core/tenancy/hosts.ts', 'functions/core/free/signup-limits.ts'],
      [
        'functions/core/assembly/free-entry.ts',
        'functions/core/assembly/catalog.ts',
        'functions/core/catalog/skills.ts',
        'functions/core/templates/templates.ts',
        'functions/core/free/signups.ts',
      ],
      [
        'functions/core/assembly/runs.ts',
        'functions/core/executions/executions.ts',
        'functions/core/executions/approvals.ts',
        'functions/core/agents/agents.ts',
        'functions/core/executors/http.ts',
        'functions/core/governance/orders.ts',
        'functions/core/governance/lifecycle.ts',
        'functions/core/free/spaces.ts',
        'functions/http/routes/governance.ts',
      ],
    ],
  ];

  it.each(API_CORES)('%s', async (_what, entry, needed, onFirstUse, absent) => {
    const { metafile, init, lazy } = await asset(entry);
    const loaded = inputsOf(metafile, init);
    for (const path of needed) expect(loaded).toContain(path);
    for (const path of onFirstUse) {
      expect(loaded).not.toContain(path);
      expect(inputsOf(metafile, lazy)).toContain(path);
    }
    // A folder matches every file below it, wherever the package resolves from.
    const unwanted = (path: string) =>
      absent.some((part) => path === part || (part.endsWith('/') && path.includes(part)));
    expect(loaded.filter(unwanted)).toEqual([]);
  });

  it.each([
    [
      'tenant-api',
      'functions/tenant-api/index.ts',
      ['catalog.ts', 'identity.ts', 'mcp.ts', 'schedules.ts', 'data.ts'],
    ],
    [
      'governance-api',
      'functions/governance-api/index.ts',
      ['governance.ts', 'identity.ts', 'free.ts', 'console.ts'],
    ],
    ['free-api', 'functions/free-api/index.ts', ['free-entry.ts']],
  ] as const)(
    '%s: builds no module of routes at init; each is in a chunk the first request under its paths loads',
    async (_name, entry, modules) => {
      const { metafile, init, lazy } = await asset(entry);
      const routes = (paths: readonly string[]) =>
        inputsOf(metafile, paths).filter(
          (path) => path.startsWith('functions/http/routes/') && path !== 'functions/http/routes/prefixes.ts',
        );
      expect(routes(init)).toEqual([]);
      for (const module of modules) expect(routes(lazy)).toContain(`functions/http/routes/${module}`);
      // Apart: a request loads its group's chunk, not every group's.
      const chunkOf = (module: string) =>
        lazy.filter((path) =>
          Object.keys(metafile.outputs[path]?.inputs ?? {}).includes(`functions/http/routes/${module}`),
        );
      for (const module of modules) expect(chunkOf(module)).toHaveLength(1);
      expect(new Set(modules.map((module) => chunkOf(module)[0])).size).toBe(modules.length);
    },
  );

  const RUN_CORE = [
    'functions/core/assembly/runs.ts',
    'functions/core/assembly/catalog.ts',
    'functions/core/executions/executions.ts',
    'functions/core/catalog/skills.ts',
  ];
  const TENANT_ONLY = [
    'functions/core/assembly/tenant.ts',
    'functions/core/schedules/schedules.ts',
    'functions/core/mcp/service.ts',
    'functions/core/templates/templates.ts',
  ];
  /**
   * What a cold start's first request loads (core/assembly/sign-in.ts `LazyCore`): its group's
   * routes, and the chunks of the layer of the core they are built on (none for sign-in), with every
   * chunk those import, must hold none of `absent` — which the function still has, in chunks a later
   * request loads.
   */
  it.each([
    ['tenant-api', 'a sign-in', 'functions/tenant-api/index.ts', 'identity.ts', [], RUN_CORE],
    [
      'tenant-api',
      'a list of Skills',
      'functions/tenant-api/index.ts',
      'catalog.ts',
      ['functions/core/assembly/signed-in.ts'],
      TENANT_ONLY,
    ],
    ['governance-api', 'a sign-in', 'functions/governance-api/index.ts', 'identity.ts', [], RUN_CORE],
  ] as const)(
    '%s: a cold start that serves %s loads only the layers of the core it uses',
    async (_name, _what, entry, routes, layers, absent) => {
      const { metafile, init, lazy } = await asset(entry);
      const chunkOf = (input: string) =>
        lazy.find((path) => metafile.outputs[path]?.entryPoint === input) ?? `no chunk for ${input}`;
      // The chunks and every chunk they import statically, as the first request loads them.
      const loaded = [...init, chunkOf(`functions/http/routes/${routes}`), ...layers.map(chunkOf)];
      for (let i = 0; i < loaded.length; i++) {
        for (const imported of metafile.outputs[loaded[i] ?? '']?.imports ?? []) {
          if (imported.kind === 'import-statement' && !imported.external && !loaded.includes(imported.path))
            loaded.push(imported.path);
        }
      }
      expect(loaded.filter((path) => metafile.outputs[path] === undefined)).toEqual([]);
      expect(inputsOf(metafile, loaded).filter((path) => absent.includes(path))).toEqual([]);
      // They are loaded by a later request, with the layer that holds them.
      for (const path of absent) expect(inputsOf(metafile, lazy)).toContain(path);
    },
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: zod-openapi, where bundled, is in a chunk the first request for the OpenAPI document loads',
    async (name, entry) => {
      const { metafile, init } = await asset(entry);
      const renderer = (paths: readonly string[]) =>
        inputsOf(metafile, paths).filter((path) => path.startsWith('node_modules/zod-openapi/'));
      expect(renderer(init)).toEqual([]);
      const api = name === 'tenant-api' || name === 'governance-api' || name === 'free-api';
      expect(renderer(assetFiles(metafile).lazy).length > 0).toBe(api);
    },
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: the HTTP credential stores are chunks loaded on first use',
    async (_name, entry) => {
      const { metafile, init } = await asset(entry);
      const stores = [
        'functions/core/secrets/secrets-manager.ts',
        'functions/core/secrets/encrypted-file-store.ts',
      ];
      expect(inputsOf(metafile, init).filter((path) => stores.includes(path))).toEqual([]);
    },
  );

  it('swaps every runtime SDK module for a shim that requires that module, and nothing else', () => {
    const shims = runtimeSdkShims(ROOT);
    expect(Object.keys(shims).sort()).toEqual([...RUNTIME_SDK_MODULES].sort());
    for (const [name, file] of Object.entries(shims)) {
      const code = readFileSync(file, 'utf8');
      expect(code).toContain(`const id = '${name}';\nmodule.exports = require(id);`);
      expect(code.match(/require\(/g)).toHaveLength(1);
      expect(bundleAliases(ROOT)[name]).toBe(file);
    }
  });

  it('swaps node:http, under either name, for a shim that requires Node’s own module', () => {
    const shims = requiredBuiltinShims(ROOT);
    expect(Object.keys(shims).sort()).toEqual(['http', 'node:http']);
    expect(shims.http).toBe(shims['node:http']);
    for (const [name, file] of Object.entries(shims)) expect(bundleAliases(ROOT)[name]).toBe(file);
    const code = readFileSync(shims.http ?? '', 'utf8');
    expect(code).toContain("const id = 'node:http';\nmodule.exports = require(id);");
    expect(code.match(/require\(/g)).toHaveLength(1);
    // Loaded by Node's CommonJS loader, it is Node's module itself.
    const same = execFileSync(
      process.execPath,
      ['-e', `console.log(require(${JSON.stringify(shims.http)}) === require('node:http'))`],
      { encoding: 'utf8' },
    );
    expect(same.trim()).toBe('true');
  });

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: imports no SDK module nor node:http at init (ESM); they come through their shims, required at run time',
    async (name, entry) => {
      const { metafile, init, code } = await asset(entry);
      const imports = init.flatMap((path) => metafile.outputs[path]?.imports ?? []).filter((i) => i.external);
      // node:http's ESM facade would load undici at init (REQUIRED_BUILTINS): required, under either name.
      const builtins = REQUIRED_BUILTINS.flatMap((name) => [name, `node:${name}`]);
      expect(imports.filter((i) => builtins.includes(i.path)).map((i) => i.path)).toEqual([]);
      expect(imports.filter((i) => i.path.startsWith('@aws-sdk/')).map((i) => i.path)).toEqual([]);
      const shimFiles = new Set(Object.values(runtimeSdkShims(ROOT)).map((file) => relative(ROOT, file)));
      const inputs = inputsOf(metafile, init);
      const shims = inputs.filter((path) => shimFiles.has(path));
      // Every function reads the table at least.
      expect(shims).toContain('lib/aws/runtime-sdk/lib-dynamodb.cjs');
      // The outbound HTTP client loads at init only where every invocation uses it; elsewhere (the
      // governance API's trial runs) on first use.
      const outbound = inputs.includes('functions/core/http-resources/outbound.ts');
      expect(outbound).toBe(name === 'http-executor');
      // Its node:http: the shim's `require`, left to run time.
      if (outbound) expect(code).toMatch(/var id\d* = "node:http";\n\s*\w+\.exports = __require\(id\d*\);/);
      for (const shim of shims) {
        const name = `@aws-sdk/${shim.slice(shim.lastIndexOf('/') + 1, -'.cjs'.length)}`;
        // The shim's `const id = '…'`, renamed by esbuild where several meet (`id2`).
        expect(code).toMatch(
          new RegExp(`var id\\d* = ${JSON.stringify(name)};\\n\\s*\\w+\\.exports = __require\\(id\\d*\\);`),
        );
      }
    },
  );
});
