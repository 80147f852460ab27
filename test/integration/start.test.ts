/**
 * `npm start` as a user runs it: the banner names the URLs (the docs site's too) and the demo users, the hosts answer,
 * and Ctrl-C (SIGINT) stops everything cleanly — exit code 0, no process left behind.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-start-'));
let child: ChildProcessWithoutNullStreams | undefined;

afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p === undefined || pp === undefined) continue;
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const next of children.get(stack.pop() ?? -1) ?? []) {
      found.push(next);
      stack.push(next);
    }
  }
  return found;
}

describe('npm start', () => {
  it('prints the banner, serves the hosts and stops cleanly on Ctrl-C', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'lib/local/main.ts'], {
      cwd: REPOSITORY_ROOT,
      env: {
        ...process.env,
        PORT: '0',
        EXECFABRIC_DATA_DIR: dataDir,
        EXECFABRIC_DEMO_PASSWORD: 'start-test-password',
      },
    });
    child = proc;
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const deadline = Date.now() + 60_000;
    while (!output.includes('Press Ctrl-C') && Date.now() < deadline && proc.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain('Press Ctrl-C');
    expect(output).toContain('start-test-password');
    const port = /http:\/\/acme\.localhost:(\d+)/.exec(output)?.[1];
    expect(port).toBeDefined();
    const url = `http://127.0.0.1:${port}`;
    const health = await call(url, { host: 'acme.localhost', path: '/api/health' });
    expect(health.body.tenant.id).toBe('acme');
    // The docs site's URL is in the banner, and that host serves it (a page, or the placeholder
    // before `npm run build:sites` — `npm start` runs it first).
    expect(output).toMatch(new RegExp(`documentation\\s+http://docs\\.localhost:${port}`));
    const docs = await call(url, { host: 'docs.localhost', path: '/' });
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('ExecFabric');
    // Make the Python worker start too, so stopping has processes to clean up.
    const login = await call(url, {
      host: 'acme.localhost',
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'alice', password: 'start-test-password' },
    });
    expect(login.status).toBe(200);
    expect(descendants(proc.pid ?? -1).length).toBeGreaterThan(0);
    const pid = proc.pid ?? -1;
    const tree = descendants(pid);

    proc.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (exit) => resolve(exit)));
    expect(code).toBe(0);
    // Processes that still exist (not zombies waiting to be reaped) a moment after the exit.
    const survivors = async (): Promise<string[]> => {
      const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
      return out
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => tree.includes(Number(line.split(/\s+/)[0])) && !/^\d+\s+Z/.test(line));
    };
    let left = await survivors();
    for (let wait = 0; wait < 20 && left.length > 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await survivors();
    }
    expect(left).toEqual([]);
  }, 120_000);
});
