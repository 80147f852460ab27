/**
 * `execfabric dev`: the whole platform on this machine (`npm start` of an ExecFabric clone: builds
 * the sites, starts the embedded services and prints the URLs and demo users). The platform's code
 * lives in the clone, not in the CLI package, so this runs from a clone's folder, or from the
 * clone the CLI itself runs from.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { hint } from '../invocation.ts';

function isClone(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest) || !existsSync(join(dir, 'lib', 'local', 'main.ts'))) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'execfabric';
  } catch {
    return false;
  }
}

function cloneAbove(start: string): string | null {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isClone(dir)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

export function findClone(cwd = process.cwd()): string | null {
  return cloneAbove(cwd) ?? cloneAbove(dirname(fileURLToPath(import.meta.url)));
}

export interface DevOptions {
  readonly port?: number;
  readonly dataDir?: string;
  readonly build: boolean;
}

export async function dev(context: CliContext, options: DevOptions): Promise<number> {
  const root = findClone();
  if (root === null) {
    throw new UsageError(
      `\`${hint('dev', context.env)}\` runs the platform from a clone of the ExecFabric repository`,
      ['Run it inside a clone (after `npm install` there); the installed CLI carries no platform.'],
    );
  }
  const env: NodeJS.ProcessEnv = { ...context.env };
  if (options.port !== undefined) env.PORT = String(options.port);
  if (options.dataDir !== undefined) env.EXECFABRIC_DATA_DIR = resolve(options.dataDir);
  if (!options.build) env.EXECFABRIC_BUILD_SITES = '0';
  const args = ['start'];
  context.output.info(
    `Starting the platform from ${root} (npm ${args.join(' ')}${options.build ? '' : ', sites as built'})…`,
  );
  const child = spawn('npm', args, { cwd: root, env, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onTerm = forward('SIGTERM');
  process.on('SIGTERM', onTerm);
  // Ctrl-C reaches the platform through the terminal's process group; this process only waits.
  const onInt = () => undefined;
  process.on('SIGINT', onInt);
  try {
    return await new Promise<number>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128 + 2)));
    });
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
