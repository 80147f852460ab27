/**
 * The README's five-minute CLI walkthrough, run as written with bash against the embedded
 * platform. Three things differ from a person's terminal, and only these: the port is the test
 * platform's, the password the sign-in asks for comes on standard input (`--password-stdin`), and
 * `npx execfabric` is the clone's bin run from a temporary folder standing in for the clone (its
 * `../hello-project` lands in the test's own scratch folder).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { CLI_BIN } from '../support/cli.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { scratchDir } from '../support/scratch.ts';

const PASSWORD = 'cli-walkthrough-password';
let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
});

afterAll(async () => {
  await t?.stop();
});

function walkthrough(): string {
  const readme = readFileSync(join(REPOSITORY_ROOT, 'README.md'), 'utf8');
  const match = /<!-- cli-walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- cli-walkthrough:end -->/.exec(
    readme,
  );
  if (match?.[1] === undefined) throw new Error('README.md has no cli-walkthrough block');
  return match[1];
}

describe('the README CLI walkthrough', () => {
  it("is where the docs site quotes it from: every line of docs/guide/cli.md's walkthrough is one of its lines", () => {
    const page = readFileSync(join(REPOSITORY_ROOT, 'docs/guide/cli.md'), 'utf8');
    const quoted =
      /<!-- tested-by: test\/integration\/cli-walkthrough\.test\.ts[^>]*-->\n```sh\n([\s\S]*?)```/.exec(page);
    expect(quoted?.[1], 'docs/guide/cli.md has no walkthrough block').toBeDefined();
    const lines = new Set(walkthrough().split('\n'));
    for (const line of (quoted?.[1] ?? '').split('\n').filter((text) => text !== '')) {
      expect(lines.has(line), `not in the README walkthrough: ${line}`).toBe(true);
    }
  });

  it('works as written', async () => {
    const script = walkthrough()
      .replaceAll('acme.localhost:8080', `acme.localhost:${t.platform.port}`)
      .replace('--username alice', '--username alice --password-stdin');
    expect(script).toContain('npx execfabric push ../hello-project --dry-run');
    // npx finds the command only in the clone: the walkthrough never leaves it, and names the
    // project folder on each command instead.
    expect(script).not.toMatch(/^\s*cd\b/m);
    const home = scratchDir('execfabric-walkthrough-');
    const cwd = join(home, 'clone');
    mkdirSync(cwd);
    const prelude = `set -euo pipefail
npx() { if [ "$1" = execfabric ]; then shift; "${process.execPath}" "${CLI_BIN}" "$@"; else command npx "$@"; fi; }
`;
    // Asynchronously: the platform answering the CLI runs in this process.
    const child = spawn('bash', ['-c', prelude + script], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), NO_COLOR: '1' },
    });
    const result = { stdout: '', stderr: '', status: -1 };
    child.stdout.on('data', (chunk: Buffer) => {
      result.stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      result.stderr += chunk.toString('utf8');
    });
    child.stdin.end(PASSWORD);
    result.status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const transcript = `${result.stdout}\n--- stderr ---\n${result.stderr}`;
    expect(result.status, transcript).toBe(0);
    expect(result.stdout).toContain('Signed in to acme.localhost');
    expect(result.stdout).toContain('"message": "Hello, Ada!"');
    expect(result.stdout).toContain('~ script hello: upload v2');
    expect(result.stdout).toContain('nothing to push');
    expect(result.stdout).toContain('saying hello to Ada');
    expect(result.stdout.trimEnd().split('\n').slice(-3).join('\n')).toContain('"message": "Welcome, Ada!"');
  }, 300_000);
});
