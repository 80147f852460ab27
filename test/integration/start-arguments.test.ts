/**
 * `npm start -- --help` as a new user types it: the settings are printed and nothing starts; any
 * other argument is refused before anything starts (it used to be ignored, and the platform came up
 * on port 8080 whatever was asked for). Through the real `npm start`, neither builds the sites
 * first (an npm `prestart` did, for a minute, before the help could answer).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { sites } from '../../lib/topology.ts';

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

  it('refuses an API rate that is not a whole number of requests, before anything starts', () => {
    // '' (a blank line in an env file) and ' ' read as 0 by Number(), which would turn the count off.
    for (const rate of ['-1', 'lots', '1.5', '', ' ', '1e3', '0x10']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
        cwd: REPOSITORY_ROOT,
        env: { ...process.env, PORT: '0', EXECFABRIC_DATA_DIR: dataDir, EXECFABRIC_API_RATE: rate },
        encoding: 'utf8',
        timeout: 30_000,
        killSignal: 'SIGKILL',
      });
      expect(run.status, rate).toBe(2);
      expect(run.stderr).toContain(`EXECFABRIC_API_RATE must be a whole number of requests a minute`);
    }
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a folder another live process holds, and a port taken, in a line and before building anything', async () => {
    // A live process (this test's) holds a folder.
    const held = mkdtempSync(join(tmpdir(), 'execfabric-start-held-'));
    try {
      writeFileSync(join(held, 'platform.lock'), String(process.pid));
      const before = builtSites();
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
        cwd: REPOSITORY_ROOT,
        env: { ...process.env, PORT: '0', EXECFABRIC_DATA_DIR: held, EXECFABRIC_BUILD_SITES: '1' },
        encoding: 'utf8',
        timeout: 30_000,
        killSignal: 'SIGKILL',
      });
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(
        `Another ExecFabric process (pid ${process.pid}) is using ${held}; stop it or set EXECFABRIC_DATA_DIR`,
      );
      expect(builtSites()).toEqual(before);
    } finally {
      rmSync(held, { recursive: true, force: true });
    }

    // Another program listens on the port.
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    try {
      const port = (taken.address() as AddressInfo).port;
      const before = builtSites();
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
        cwd: REPOSITORY_ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          EXECFABRIC_DATA_DIR: dataDir,
          EXECFABRIC_BUILD_SITES: '1',
        },
        encoding: 'utf8',
        timeout: 30_000,
        killSignal: 'SIGKILL',
      });
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(
        `Port ${port} cannot be used (EADDRINUSE): another program is listening on it. Pick another: PORT=${port + 1} npm start`,
      );
      expect(builtSites()).toEqual(before);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('refuses any other argument, saying how to pick a port', () => {
    const run = start('--port', '8081');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('npm start takes no arguments, got: --port 8081');
    expect(run.stderr).toContain('PORT=8081 npm start');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

/** `npm start -- …args` as typed, npm and all. */
function npmStart(...args: string[]) {
  return spawnSync('npm', ['start', '--', ...args], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, PORT: '0', EXECFABRIC_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
}

/**
 * Each built site's folder and page, by identity: a build writes a fresh folder and swaps it in, so
 * a build in between changes them (the vitest global setup has built the sites before this runs).
 */
function builtSites(): string[] {
  return Object.values(sites).map((site) => {
    const folder = statSync(join(REPOSITORY_ROOT, site.dir));
    const page = statSync(join(REPOSITORY_ROOT, site.dir, 'index.html'));
    return `${site.dir} ${folder.ino} ${page.ino} ${page.mtimeMs}`;
  });
}

describe('npm start, through npm', () => {
  it('answers --help and refuses a bad argument without building the sites', () => {
    const before = builtSites();
    const help = npmStart('--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('PORT=8081 npm start');
    expect(help.stdout).toContain('EXECFABRIC_BUILD_SITES');
    expect(help.stdout).not.toContain('build:sites');

    const refused = npmStart('--port', '8081');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('npm start takes no arguments, got: --port 8081');
    expect(refused.stdout).not.toContain('build:sites');

    expect(builtSites()).toEqual(before);
    expect(readdirSync(dataDir)).toEqual([]);
  }, 120_000);
});
