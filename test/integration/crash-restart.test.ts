/**
 * The whole platform killed (issue 12): `npm start`'s process is killed with SIGKILL — the process
 * group at once, no chance to drain — with runs in every state, then started again on the same data
 * folder. Finished runs are unchanged, the running ones are closed as WorkerLost with the cause and
 * not run again, queued work runs to its end exactly once, a run waiting for approval can still be
 * approved, no job process outlives the platform, and the audit chain still verifies.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { call, type TestResponse } from '../support/http.ts';
import { HOSTS } from '../support/platform.ts';

const PASSWORD = 'crash-restart-password';
const ACME = HOSTS.acme;

/** Counts its own executions in the `runs` collection, sleeps as told, fails when told. */
const COUNTER = `import time

def main(inputs, ctx):
    runs = ctx.data.collection("runs")
    record = runs.get(ctx.execution_id)
    count = (record.value["count"] if record else 0) + 1
    runs.put(ctx.execution_id, {"count": count}, expected_version=record.version if record else 0)
    time.sleep(float(inputs.get("sleep", 0)))
    if inputs.get("fail"):
        raise ValueError("told to fail")
    return {"count": count}
`;

const children: ChildProcess[] = [];
const folders: string[] = [];

afterAll(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
}

/**
 * Starts `lib/local/main.ts` as `npm start` does (without rebuilding the sites), in its own process
 * group, and waits for its banner. `wrap` runs it through another command (a namespace).
 */
async function startPlatform(
  dataDir: string,
  options: { wrap?: readonly string[]; env?: Record<string, string> } = {},
): Promise<Started> {
  const command = [...(options.wrap ?? []), process.execPath, '--import', 'tsx', 'lib/local/main.ts'];
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: REPOSITORY_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      EXECFABRIC_DATA_DIR: dataDir,
      EXECFABRIC_DEMO_PASSWORD: PASSWORD,
      ...options.env,
    },
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const deadline = Date.now() + 90_000;
  while (!output.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const port = /http:\/\/acme\.localhost:(\d+)/.exec(output)?.[1];
  if (port === undefined) throw new Error(`the platform did not start:\n${output}`);
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

/** Kills the process group with SIGKILL and waits for its leader to be gone. */
async function killGroup(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-(child.pid ?? 0), 'SIGKILL');
  await exited;
}

/** Every process below `pid` (children, their children…), from /proc via ps. */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const tree = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p === undefined || pp === undefined) continue;
    tree.set(pp, [...(tree.get(pp) ?? []), p]);
  }
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const next of tree.get(stack.pop() ?? -1) ?? []) {
      found.push(next);
      stack.push(next);
    }
  }
  return found;
}

/** Of `pids`, those still alive (zombies waiting to be reaped do not count), with their command. */
function alive(pids: readonly number[]): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => pids.includes(Number(line.split(/\s+/)[0])) && !/^\d+\s+Z/.test(line));
}

/** The real uid of a process (-1 when it is gone). */
function jobUid(pid: number): number {
  try {
    return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
  } catch {
    return -1;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'rejected'];

class Client {
  readonly #url: string;
  readonly #tokens = new Map<string, string>();
  constructor(url: string) {
    this.#url = url;
  }
  async as(username: string, method: string, path: string, body?: unknown): Promise<TestResponse> {
    let token = this.#tokens.get(username);
    if (token === undefined) {
      const login = await call(this.#url, {
        host: ACME,
        method: 'POST',
        path: '/api/auth/login',
        body: { username, password: PASSWORD },
      });
      expect(login.status, login.text).toBe(200);
      token = String(login.body.token);
      this.#tokens.set(username, token);
    }
    return call(this.#url, { host: ACME, method, path, token, ...(body === undefined ? {} : { body }) });
  }
  async run(id: string): Promise<Record<string, unknown>> {
    const response = await this.as('alice', 'GET', `/api/executions/${id}`);
    expect(response.status, response.text).toBe(200);
    return response.body;
  }
  async status(id: string): Promise<string> {
    return String((await this.run(id)).status);
  }
  async reaches(id: string, statuses: readonly string[], ms = 90_000): Promise<Record<string, unknown>> {
    return until(
      `run ${id} reaches ${statuses.join('|')}`,
      async () => {
        const run = await this.run(id);
        return statuses.includes(String(run.status)) ? run : undefined;
      },
      ms,
    );
  }
  async start(skill: string, input: Record<string, unknown> = {}): Promise<string> {
    const started = await this.as('bob', 'POST', `/api/skills/${skill}/executions`, { input });
    expect(started.status, started.text).toBe(202);
    return String(started.body.id);
  }
  async count(id: string): Promise<number> {
    const record = await this.as('alice', 'GET', `/api/data/collections/runs/records/${id}`);
    if (record.status === 404) return 0;
    expect(record.status, record.text).toBe(200);
    return Number(record.body.value.count);
  }
}

describe('the platform killed with SIGKILL and started again', () => {
  it('keeps finished runs, closes the running ones, finishes queued work and keeps approvals', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-crash-'));
    folders.push(dataDir);
    const first = await startPlatform(dataDir);
    let api = new Client(first.url);

    const collection = await api.as('alice', 'POST', '/api/data/collections', { name: 'runs', schema: {} });
    expect(collection.status, collection.text).toBe(201);
    const script = await api.as('alice', 'POST', '/api/assets/scripts', {
      name: 'counter.py',
      source: COUNTER,
    });
    expect(script.status, script.text).toBe(201);
    const skill = async (name: string, extra: Record<string, unknown> = {}) => {
      const created = await api.as('alice', 'POST', '/api/skills', {
        name,
        inputSchema: { type: 'object' },
        outputSchema: true,
        risk: 'low',
        collections: ['runs'],
        limits: { timeoutSeconds: 120, memoryMb: 256 },
        asset: { kind: 'python-script', id: script.body.id, version: 'active' },
        ...extra,
      });
      expect(created.status, created.text).toBe(201);
      return String(created.body.id);
    };
    const counter = await skill('Counter');
    const careful = await skill('Careful counter', { risk: 'medium', approval: 'one' });

    // Finished runs: one succeeded, one failed, one cancelled while it waited for approval.
    const succeeded = await api.start(counter);
    const failed = await api.start(counter, { fail: true });
    const cancelled = await api.start(careful);
    expect(await api.status(cancelled)).toBe('pending_approval');
    const cancel = await api.as('bob', 'POST', `/api/executions/${cancelled}/cancel`, {});
    expect(cancel.status, cancel.text).toBe(200);
    await api.reaches(succeeded, ['succeeded']);
    await api.reaches(failed, ['failed']);
    await api.reaches(cancelled, ['cancelled']);
    // One waiting for approval.
    const pending = await api.start(careful);
    expect(await api.status(pending)).toBe('pending_approval');
    // Two sleeping (the tenant's plan lets two run at once), and two held behind them.
    const sleeping = [await api.start(counter, { sleep: 300 }), await api.start(counter, { sleep: 300 })];
    for (const id of sleeping) {
      await until(`${id} counted its start`, async () => ((await api.count(id)) === 1 ? true : undefined));
      expect(await api.status(id)).toBe('running');
    }
    const queued = [await api.start(counter), await api.start(counter)];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const id of queued) expect(['requested', 'queued']).toContain(await api.status(id));

    const finishedBefore = new Map<string, Record<string, unknown>>();
    for (const id of [succeeded, failed, cancelled]) finishedBefore.set(id, await api.run(id));
    const pendingBefore = await api.run(pending);
    const auditBefore = await api.as('alice', 'GET', '/api/audit/verify');
    expect(auditBefore.body).toMatchObject({ valid: true });

    // Everything the platform started, the jobs' processes included, then SIGKILL to the group.
    const tree = descendants(first.child.pid ?? -1);
    // The sleeping jobs are in it (the sandbox gives each job its own uid, far above any user's).
    expect(tree.filter((pid) => jobUid(pid) >= 2_000_000_000).length).toBeGreaterThanOrEqual(2);
    await killGroup(first.child);
    await until('no process of the killed platform is left', async () =>
      alive(tree).length === 0 ? true : undefined,
    ).catch(() => {
      throw new Error(`processes outlived the platform:\n${alive(tree).join('\n')}`);
    });

    const second = await startPlatform(dataDir);
    api = new Client(second.url);
    try {
      expect(second.output()).toContain('Using the data from earlier starts');
      // Finished runs are exactly as they were.
      for (const [id, before] of finishedBefore) expect(await api.run(id)).toEqual(before);
      // The running ones are closed with the cause, and were not run again.
      for (const id of sleeping) {
        const run = await api.run(id);
        expect(run).toMatchObject({
          status: 'failed',
          error: {
            type: 'WorkerLost',
            message: 'The platform stopped while the run was running; it was not run again',
          },
        });
        expect(await api.count(id)).toBe(1);
      }
      // Queued work runs to its end, once.
      for (const id of queued) {
        expect(await api.reaches(id, TERMINAL)).toMatchObject({ status: 'succeeded', output: { count: 1 } });
        expect(await api.count(id)).toBe(1);
      }
      // The run waiting for approval still waits, unchanged, and runs once approved.
      expect(await api.run(pending)).toEqual(pendingBefore);
      const inbox = await api.as('alice', 'GET', '/api/approvals');
      expect(inbox.body.items.map((item: { id: string }) => item.id)).toContain(pending);
      const approved = await api.as('alice', 'POST', `/api/executions/${pending}/approve`, {});
      expect(approved.status, approved.text).toBe(200);
      expect(await api.reaches(pending, TERMINAL)).toMatchObject({
        status: 'succeeded',
        output: { count: 1 },
      });
      // A new run works as before.
      const after = await api.start(counter);
      expect(await api.reaches(after, TERMINAL)).toMatchObject({ status: 'succeeded' });
      // The audit chain still verifies, with the entries written before the kill.
      const verified = await api.as('alice', 'GET', '/api/audit/verify');
      expect(verified.status, verified.text).toBe(200);
      expect(verified.body, verified.text).toMatchObject({ valid: true, problems: [] });
      const trail = await api.as('alice', 'GET', `/api/audit?target=execution:${sleeping[0]}`);
      const actions = trail.body.items.map((entry: { action: string }) => entry.action);
      expect(actions).toContain('execution.running');
      expect(actions).toContain('execution.failed');
    } finally {
      const tree2 = descendants(second.child.pid ?? -1);
      second.child.kill('SIGINT');
      await new Promise((resolve) => second.child.once('exit', resolve));
      await until('the second platform stopped cleanly', async () =>
        alive(tree2).length === 0 ? true : undefined,
      );
    }
  }, 400_000);
});
