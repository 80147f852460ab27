/**
 * `npm start -- --help` as a new user types it: the settings are printed and nothing starts; any
 * other argument is refused before anything starts (it used to be ignored, and the platform came up
 * on port 8080 whatever was asked for).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-start-arguments-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function start(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'lib/local/main.ts', ...args], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, PORT: '0', EXECFABRIC_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
}

describe('npm start arguments', () => {
  it('prints the settings on --help and starts nothing', () => {
    const run = start('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('PORT=8081 npm start');
    expect(run.stdout).toContain('EXECFABRIC_DATA_DIR');
    expect(run.stdout).not.toContain('ExecFabric is running');
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses any other argument, saying how to pick a port', () => {
    const run = start('--port', '8081');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('npm start takes no arguments, got: --port 8081');
    expect(run.stderr).toContain('PORT=8081 npm start');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
