/**
 * The whole platform killed (issue 12): `npm start`'s process is killed with SIGKILL — the process
 * group at once, no chance to drain — with runs in every state, then started again on the same data
 * folder. Finished runs are unchanged, the running ones are closed as WorkerLost with the cause and
 * not run again, queued work runs to its end exactly once, a run waiting for approval can still be
 * approved, no job process outlives the platform, and the audit chain still verifies.
 *
 * And the data folder's disk full (a small tmpfs in the platform's own mount namespace): writes answer
 * 503 problem+json and keep nothing, reads go on, writes resume once space is freed — no restart —
 * and the folder opens again afterwards with every acknowledged write (docs/decisions/local-storage-full.md).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { STORAGE_RESERVE_ENV } from '../../lib/local/storage-guard.ts';
import { call, type TestResponse } from '../support/http.ts';
import { expectProblem, HOSTS } from '../support/platform.ts';

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
      // `running` once the worker's first heartbeat sent `started` (about a second into the job).
      await until(`${id} is running`, async () => ((await api.status(id)) === 'running' ? true : undefined));
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

/**
 * A small tmpfs for the data folder, mounted in a mount namespace of the platform's own
 * (`unshare -m`: nothing is mounted on the host, and the mount goes when the platform does). That
 * needs the privilege to mount (root, or CAP_SYS_ADMIN). An unprivileged `unshare -Urm` would mount it
 * too, but the job sandbox cannot run in a user namespace that maps a single uid (jobs each need their
 * own), so the platform could not even seed its demo script there: the test then skips, saying why.
 */
function tmpfsWrapper(size: string): { wrap: string[] } | { unavailable: string } {
  const probe = mkdtempSync(join(tmpdir(), 'execfabric-tmpfs-probe-'));
  const mount = `mount -t tmpfs -o size=${size} tmpfs "$0"`;
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', mount, probe], { stdio: 'pipe' });
    return { wrap: ['unshare', '-m', 'sh', '-c', `${mount} && exec "$@"`] };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    return {
      unavailable:
        `mounting a small tmpfs needs a private mount namespace with the right to mount (unshare -m: ${stderr}); ` +
        'an unprivileged user namespace (unshare -Urm) maps one uid, where the job sandbox cannot run',
    };
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const DISK = tmpfsWrapper('48m');
/** statfs(2)'s f_type of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * Fills the platform's data disk, checks what a write and a read answer, frees the space and checks
 * that writes work again without a restart, and that a copy of the folder as it then is starts.
 * `reserveMb` null keeps the default reserve; '0' turns it off, leaving only the last resort: the
 * store's own error on a write the disk cannot hold.
 */
async function fillTheDisk(reserveMb: string | null): Promise<void> {
  const strict = reserveMb === null;
  const dataDir = mkdtempSync(join(tmpdir(), 'execfabric-full-'));
  folders.push(dataDir);
  const wrap = 'wrap' in DISK ? DISK.wrap : [];
  // `sh -c '… "$0" … exec "$@"' <folder> node …`: the folder is $0, the platform the rest.
  const started = await startPlatform(dataDir, {
    wrap: [...wrap, dataDir],
    env: reserveMb === null ? {} : { [STORAGE_RESERVE_ENV]: reserveMb },
  });
  try {
    const api = new Client(started.url);
    // The platform's view of the folder (its own mount namespace), from outside.
    const inside = `/proc/${started.child.pid}/root${dataDir}`;
    const disk = statfsSync(inside);
    expect(disk.type).toBe(TMPFS_MAGIC);
    expect(disk.blocks * disk.bsize).toBe(48 * 1024 * 1024);
    const before = await api.as('alice', 'POST', '/api/parameters', { key: 'before', value: 'kept' });
    expect(before.status, before.text).toBe(201);
    // Signing in writes (a session), so both users sign in before the disk fills.
    expect((await api.as('bob', 'GET', '/api/me')).status).toBe(200);
    const skills = await api.as('alice', 'GET', '/api/skills');
    const greet = skills.body.items.find((item: { name: string }) => item.name === 'Greet').id;
    const runsBefore = (await api.as('alice', 'GET', '/api/executions')).body.items.length;

    // Fill the disk to the last byte.
    const ballast = join(inside, 'ballast');
    const fd = openSync(ballast, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (let size = chunk.length; size > 0; ) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          size = size === 1 ? 0 : Math.floor(size / 2);
        }
      }
    } finally {
      closeSync(fd);
    }
    expect(statfsSync(inside).bavail).toBe(0);

    // Writes are refused as a temporary fault, as problem+json. Without the reserve, a small write
    // can still land in a page the store's log had already allocated: then it is simply kept
    // (never a crash, never a 5xx other than 503).
    const during = await api.as('alice', 'POST', '/api/parameters', { key: 'during', value: 'lost' });
    if (strict || during.status !== 201) {
      expectProblem(during, 503, 'a write on a full disk');
      expect(during.body.type).toBe('urn:execfabric:problem:service-unavailable');
      expect(during.headers['retry-after']).toBe('1');
    }
    const run = await api.as('bob', 'POST', `/api/skills/${greet}/executions`, { input: { name: 'x' } });
    if (strict || run.status !== 202) expectProblem(run, 503, 'a run started on a full disk');
    // Reads still work.
    const listed = await api.as('alice', 'GET', '/api/parameters');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((item: { key: string }) => item.key)).toContain('before');
    const runs = await api.as('alice', 'GET', '/api/executions');
    expect(runs.status, runs.text).toBe(200);
    if (strict) {
      // Nothing of the refused writes was kept.
      expect(listed.body.items.map((item: { key: string }) => item.key)).not.toContain('during');
      expect(runs.body.items.length).toBe(runsBefore);
    }

    // Space freed: writes work again, without a restart.
    rmSync(ballast);
    const after = await until('a write succeeds again', async () => {
      const response = await api.as('alice', 'POST', '/api/parameters', { key: 'after', value: 'ok' });
      return response.status === 201 ? response : undefined;
    });
    expect(after.status).toBe(201);
    const keys = (await api.as('alice', 'GET', '/api/parameters')).body.items.map(
      (item: { key: string }) => item.key,
    );
    expect(keys).toEqual(expect.arrayContaining(['before', 'after']));
    if (strict) {
      expect(keys).not.toContain('during');
      expect((await api.as('alice', 'GET', '/api/executions')).body.items.length).toBe(runsBefore);
    }
    const id = await api.start(greet, { name: 'again' });
    expect(await api.reaches(id, TERMINAL)).toMatchObject({ status: 'succeeded' });
    const verified = await api.as('alice', 'GET', '/api/audit/verify');
    expect(verified.body, verified.text).toMatchObject({ valid: true, problems: [] });

    // The folder as it is now (as a crash would leave it) opens again, with every acknowledged write.
    const copy = mkdtempSync(join(tmpdir(), 'execfabric-full-copy-'));
    folders.push(copy);
    cpSync(inside, copy, { recursive: true });
    rmSync(join(copy, 'platform.lock'));
    const reopened = await startPlatform(copy);
    try {
      const again = new Client(reopened.url);
      const kept = (await again.as('alice', 'GET', '/api/parameters')).body.items.map(
        (item: { key: string }) => item.key,
      );
      expect(kept).toEqual(expect.arrayContaining(['before', 'after']));
      expect(await again.run(id)).toMatchObject({ status: 'succeeded' });
    } finally {
      await killGroup(reopened.child);
    }
  } catch (error) {
    throw new Error(`${(error as Error).message}\nplatform output:\n${started.output().slice(-4000)}`, {
      cause: error,
    });
  } finally {
    started.child.kill('SIGINT');
    await new Promise((resolve) => started.child.once('exit', resolve));
  }
}

describe.skipIf('unavailable' in DISK)(
  `the data folder's disk full${'unavailable' in DISK ? ` — skipped: ${DISK.unavailable}` : ''}`,
  () => {
    it('refuses writes with 503 and keeps nothing of them, serves reads, and takes writes again once space is freed', async () => {
      await fillTheDisk(null);
    }, 300_000);

    it('without a reserve, survives writes the store cannot finish (503, not a crash) and recovers too', async () => {
      await fillTheDisk('0');
    }, 300_000);
  },
);
