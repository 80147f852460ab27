/**
 * `execfabric dev` from a clone: starts the platform (`npm start` of the clone, here without
 * rebuilding the sites) on the port and data folder given, which then answers on its hosts; SIGTERM
 * to the command stops the platform and the command exits.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { CLI_BIN } from '../support/cli.ts';
import { call } from '../support/http.ts';
import { scratchDir } from '../support/scratch.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

describe('execfabric dev', () => {
  it('runs the platform of the clone on the given port and data folder, and stops on SIGTERM', async () => {
    const port = await freePort();
    // Removed last, once the command and the platform it started are gone (hooks run in reverse).
    const data = scratchDir('execfabric-dev-');
    // In a process group of its own, so a failed test can stop npm and the platform with it.
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'dev', '--no-build', '--port', String(port), '--data-dir', data],
      {
        cwd: REPOSITORY_ROOT,
        // A small API rate, to see the setting reach the edge (the default is 3,000 a minute).
        env: {
          ...process.env,
          EXECFABRIC_DEMO_PASSWORD: 'dev-command-password',
          EXECFABRIC_API_RATE: '3',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const closed = once(child, 'close');
    onTestFinished(async () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // ESRCH: all gone already
      }
      // 'close' comes when no process of the group holds the command's output open any more.
      await closed;
    });
    let output = '';
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start in time:\n${output}`)), 90_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('ExecFabric is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
    });
    const exited = closed.then(([code]) => code);
    await started;
    expect(output).toContain(`http://acme.localhost:${port}`);
    expect(output).toContain(data);
    // The first lines a new user reads are the platform's: no warning of a module it does not use.
    expect(output).not.toContain('ExperimentalWarning');
    const health = await call(`http://127.0.0.1:${port}`, { host: 'acme.localhost', path: '/api/health' });
    expect(health.body).toMatchObject({ status: 'ok', domain: 'tenant' });
    // EXECFABRIC_API_RATE=3: seven requests of acme's host in all cannot fit in the minute windows
    // they fall in (at most two, three each), so some are refused; another host is served.
    const more = [];
    for (let n = 0; n < 6; n++) {
      more.push(await call(`http://127.0.0.1:${port}`, { host: 'acme.localhost', path: '/api/health' }));
    }
    const refused = more.filter((answer) => answer.status === 429);
    expect(refused.length, more.map((answer) => answer.status).join(',')).toBeGreaterThan(0);
    expect(refused[0]?.body).toMatchObject({ type: 'urn:execfabric:problem:rate-limited' });
    expect(
      (await call(`http://127.0.0.1:${port}`, { host: 'globex.localhost', path: '/api/health' })).status,
    ).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
