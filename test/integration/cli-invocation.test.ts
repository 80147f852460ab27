/**
 * The CLI's hints name the command as the user typed it: `npx execfabric …` when run through npx in
 * a clone (npm itself runs the clone's bin and sets what it sets), plain `execfabric …` when the
 * bin is run directly, as an installed command is. Real processes, no platform needed: the hints
 * come from a missing sign-in, the help and `init`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { scratchDir } from '../support/scratch.ts';

const HOST = 'http://acme.localhost:9';

/** `npx execfabric …` in the clone, as the README has a user type it. */
function npx(args: readonly string[], configHome: string): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npx', ['execfabric', ...args], {
      cwd: REPOSITORY_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        XDG_CONFIG_HOME: configHome,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the command the hints name', () => {
  it('is `npx execfabric` when the user ran it through npx', async () => {
    const configHome = scratchDir('execfabric-npx-');
    const refused = await npx(['skills', '--host', HOST], configHome);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`Run \`npx execfabric login --host ${HOST}\``);

    const help = await npx(['--help'], configHome);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx execfabric \[options\] \[command\]/);
    expect(help.stdout).toContain('the agent token of `npx execfabric agent`');

    const project = join(scratchDir('execfabric-npx-project-'), 'mine');
    const init = await npx(['init', project], configHome);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/Next: npx execfabric push \S+ --dry-run/);
  }, 60_000);

  it('is `execfabric` when its bin was run directly (installed, or from a script)', async () => {
    const configHome = scratchDir('execfabric-bin-');
    const env = { XDG_CONFIG_HOME: configHome };
    const refused = await runCli(['skills', '--host', HOST], { env });
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`Run \`execfabric login --host ${HOST}\``);
    expect(refused.stderr).not.toContain('npx');

    const help = await runCli(['--help'], { env });
    expect(help.stdout).toMatch(/^Usage: execfabric \[options\] \[command\]/);

    const cwd = scratchDir('execfabric-bin-project-');
    const init = await runCli(['init'], { env, cwd });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Next: execfabric push --dry-run');
  }, 60_000);
});

/**
 * The lines of a help text that are out of line: commander starts every item's description (and
 * every wrapped line of it), in every section, at one column.
 */
function misaligned(help: string): string[] {
  const wrong: string[] = [];
  let column: number | undefined;
  for (const line of help.split('\n')) {
    if (!line.startsWith(' ')) continue;
    const item = /^ {2}\S.*? {2,}(?=\S)/.exec(line);
    const at = item === null ? line.length - line.trimStart().length : item[0].length;
    column ??= at;
    if (at !== column) wrong.push(line);
  }
  return wrong;
}

describe('the help', () => {
  it('lines up every section of every command’s help, as commander lays out its own', async () => {
    const env = { XDG_CONFIG_HOME: scratchDir('execfabric-help-') };
    const root = await runCli(['--help'], { env });
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toContain('Environment:');
    expect(root.stdout).toContain('Exit codes:');
    expect(misaligned(root.stdout)).toEqual([]);
    const commands = [...root.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1] ?? '');
    expect(commands).toEqual(expect.arrayContaining(['push', 'run', 'logs', 'agent']));
    for (const command of commands) {
      const help = await runCli([command, '--help'], { env });
      expect(help.code, `${command}: ${help.stderr}`).toBe(0);
      expect(misaligned(help.stdout), command).toEqual([]);
    }
  }, 120_000);
});

describe('a reader that stops early', () => {
  it('ends the command quietly (`execfabric --help | head -1`), not with an unhandled EPIPE', async () => {
    const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'bin', 'execfabric.mjs'), '--help'], {
      cwd: REPOSITORY_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: scratchDir('execfabric-cli-epipe-'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before the command writes anything.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
