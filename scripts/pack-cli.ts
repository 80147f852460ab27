/**
 * `npm run pack:cli [-- --out DIR]`: the `execfabric` CLI as a package of its own, installable with
 * `npm install -g <tarball>` on a machine with nothing but Node 22+ (and Python 3.11+ for
 * `execfabric agent`). The CLI and every package it uses are bundled into one ESM file, so the
 * package has no dependencies to download; it carries the shim (bin/execfabric.mjs), the local
 * agent's Python host and the Python runtime layer it wraps. The repository's own package.json
 * stays what it is (a platform, private); this builds a separate one. Prints the tarball's path.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = resolve(outIndex > 0 ? (process.argv[outIndex + 1] ?? 'dist') : join(root, 'dist'));
const stage = join(out, 'cli-package');

const platform = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  engines: Record<string, string>;
};

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'bin'), { recursive: true });
await build({
  entryPoints: [join(root, 'bin', 'execfabric.ts')],
  outfile: join(stage, 'dist', 'cli', 'execfabric.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // CommonJS packages inside an ESM bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __cliRequire } from 'node:module';\nconst require = __cliRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'bin', 'execfabric.mjs'), join(stage, 'bin', 'execfabric.mjs'));
// The local agent's Python host (execfabric agent) and the runtime layer it wraps.
for (const file of readdirSync(join(root, 'lib', 'cli')).filter((name) => name.endsWith('.py'))) {
  cpSync(join(root, 'lib', 'cli', file), join(stage, 'lib', 'cli', file));
}
cpSync(join(root, 'layers', 'python-runtime', 'python'), join(stage, 'layers', 'python-runtime', 'python'), {
  recursive: true,
  filter: (source) => !source.includes('__pycache__'),
});
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify(
    {
      name: 'execfabric',
      version: platform.version,
      description: 'The ExecFabric CLI: sign in, sync scripts and Skills, run them, and a local agent',
      type: 'module',
      bin: { execfabric: 'bin/execfabric.mjs' },
      engines: { node: platform.engines.node },
      license: 'UNLICENSED',
    },
    null,
    2,
  )}\n`,
);
const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], {
  cwd: stage,
  encoding: 'utf8',
}).trim();
process.stdout.write(`${join(out, packed.split('\n').pop() ?? '')}\n`);
