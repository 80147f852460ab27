/**
 * The CLI as a user installs it: `npm run pack:cli` builds a self-contained package, `npm install
 * -g` puts it in a fresh prefix (offline: it has no dependencies to download), and the installed
 * command signs in to the embedded platform and lists its Skills. `dev` outside a clone says where
 * it must run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { cliSession } from '../support/cli.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scratchDir, type TempDir, tempDir } from '../support/scratch.ts';

const PASSWORD = 'cli-package-test-password';
let t: TestPlatform;
let installed: string;
let prefix: string;
/** The packed tarball and the prefix it is installed in, removed in afterAll. */
let out: TempDir | undefined;

beforeAll(async () => {
  out = tempDir('execfabric-pack-');
  const tarball = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/pack-cli.ts', '--out', out.path],
    {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
    },
  ).trim();
  prefix = join(out.path, 'prefix');
  execFileSync(
    'npm',
    ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball],
    {
      encoding: 'utf8',
      stdio: 'pipe',
    },
  );
  installed = join(prefix, 'bin', 'execfabric');
  t = await startTestPlatform(PASSWORD);
}, 180_000);

afterAll(async () => {
  try {
    await t?.stop();
  } finally {
    out?.remove();
  }
});

describe('the installed execfabric package', () => {
  it('is self-contained: the bundle, the shim, no TypeScript sources and no dependencies', () => {
    const root = realpathSync(join(prefix, 'lib', 'node_modules', 'execfabric'));
    expect(existsSync(join(root, 'dist', 'cli', 'execfabric.mjs'))).toBe(true);
    expect(existsSync(join(root, 'bin', 'execfabric.ts'))).toBe(false);
    expect(existsSync(join(root, 'node_modules'))).toBe(false);
    expect(readdirSync(join(root, 'layers', 'python-runtime', 'python'))).toContain('execfabric_runtime');
    expect(existsSync(join(root, 'lib', 'cli', 'agent_host.py'))).toBe(true);
  });

  it('runs from its own folder and talks to the platform', async () => {
    const session = cliSession();
    const cwd = scratchDir('execfabric-elsewhere-');
    const version = await session.run(['--version'], { bin: installed, cwd });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const acme = `http://acme.localhost:${t.platform.port}`;
    const login = await session.run(['login', '--host', acme, '-u', 'bob', '--password-stdin'], {
      bin: installed,
      cwd,
      input: PASSWORD,
    });
    expect(login.code, login.stderr).toBe(0);
    const skills = await session.run(['skills', '--json'], { bin: installed, cwd });
    expect(skills.code, skills.stderr).toBe(0);
    expect(JSON.parse(skills.stdout)).toEqual([expect.objectContaining({ name: 'Greet' })]);

    const dev = await session.run(['dev'], { bin: installed, cwd });
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain('runs the platform from a clone of the ExecFabric repository');
  });
});
