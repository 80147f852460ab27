/**
 * The execution pipeline under load (issue 13, Deliver 4): no-op runs back to back from 1, 4 and 16
 * concurrent clients for a fixed time each, every client learning its run's end either by polling
 * (`GET /api/executions/{id}`) or from a `Prefer: wait` answer. Per row: runs/s, POST → terminal as the
 * client saw it (p50/p99), createdAt → finishedAt as the platform recorded it, and the baseline in the
 * same process, the job inside the runner (`metrics.durationMs`). Per row also what a run cost: CPU
 * of the platform's process, of its main thread alone (where the platform's own work and its SDK clients
 * run; the rest is the services' thread, libuv's pool and GC helpers), and of its children (Python
 * hosts, zygotes, jobs; Linux /proc; in a second table split by those three roles), and the
 * SDK requests the platform's clients sent (every one, the pollers' receives and deletes included),
 * and how long after the run's recorded end the client had its answer (end → answer: the settle
 * loop's or the client's polling delay, and the answer's way back).
 * Last, the floor: one SDK request (a consistent GetItem) sent back to back, CPU per request (the
 * process's and its main thread's).
 *
 *   npx tsx bench/pipeline-load.ts [seconds per row = 8] [plans = standard,enterprise] [clients = 1,4,16]
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/pipeline-load.ts 12 enterprise 4
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { call } from '../test/support/http.ts';
import { benchUser, machine, percentile, startBenchPlatform } from './support.ts';

const SECONDS = Number(process.argv[2] ?? '8');
const PLANS = (process.argv[3] ?? 'standard,enterprise').split(',');
const CLIENTS = (process.argv[4] ?? '1,4,16').split(',').map(Number);
const PASSWORD = 'bench-password-123';
const HOST = 'acme.localhost';
/** A lone client polls every 5 ms; several poll every 50 ms, so their polling does not starve the machine. */
const pollEvery = (clients: number) => (clients === 1 ? 5 : 50);

/** User + system CPU seconds (own, and reaped children's) of a process, from /proc (Linux). */
function processCpu(pid: number | 'self'): { own: number; reaped: number; parent: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const at = (index: number) => Number(fields[index - 3] ?? 0) / 100; // clock ticks (USER_HZ 100)
    return { own: at(14) + at(15), reaped: at(16) + at(17), parent: Number(fields[1]) };
  } catch {
    return null;
  }
}

/** CPU seconds of this thread (user + system). */
function threadSeconds(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1e6;
}

/** A process's command line, or '' once it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Whether a process is process 1 of a pid namespace below this one (`NSpid:` ends in 1). */
function firstOfItsPidNamespace(pid: number): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('NSpid:'));
    const pids = line?.split(/\s+/).slice(1) ?? [];
    return pids.length > 1 && pids.at(-1) === '1';
  } catch {
    return false;
  }
}

/**
 * CPU seconds of this process, of its main thread (this one), and of its descendants (live ones' own
 * and reaped time, and ours reaped), and those split by the Python runtime's roles: the worker hosts
 * (`python_host.py`, one invocation at a time), their zygotes (each pre-forks its pool of job children
 * and reaps them, being their subreaper; where it is process 1 of a pid namespace of its own, it and
 * the waiter its host started) and the job children (live ones' own time and what the zygotes
 * reaped). What ended during the row (a host let go when the work dropped) is in the total only.
 */
function cpuSeconds(): {
  self: number;
  thread: number;
  children: number;
  hosts: number;
  zygotes: number;
  jobs: number;
} {
  const thread = threadSeconds();
  const self = processCpu('self');
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processCpu(Number(entry));
    if (stat !== null) children.set(stat.parent, [...(children.get(stat.parent) ?? []), Number(entry)]);
  }
  let descendants = self?.reaped ?? 0;
  let hosts = 0;
  let zygotes = 0;
  let jobs = 0;
  const queue = (children.get(process.pid) ?? []).map((pid) => ({ pid, parentRole: 'platform' }));
  while (queue.length > 0) {
    const { pid, parentRole } = queue.pop() as { pid: number; parentRole: string };
    const stat = processCpu(pid);
    if (stat === null) continue;
    descendants += stat.own + stat.reaped;
    const command = commandLine(pid);
    const role = command.includes('python_host.py')
      ? 'host'
      : command.includes('zygote_main.py')
        ? parentRole === 'host' || (parentRole === 'zygote' && firstOfItsPidNamespace(pid))
          ? 'zygote'
          : 'job'
        : 'other';
    if (role === 'host') hosts += stat.own;
    if (role === 'zygote') {
      zygotes += stat.own;
      jobs += stat.reaped;
    }
    if (role === 'job') jobs += stat.own + stat.reaped;
    queue.push(...(children.get(pid) ?? []).map((child) => ({ pid: child, parentRole: role })));
  }
  return { self: self?.own ?? 0, thread, children: descendants, hosts, zygotes, jobs };
}

interface Row {
  plan: string;
  clients: number;
  mode: 'poll' | 'wait';
  runs: number;
  perSecond: number;
  clientP50: number;
  clientP99: number;
  serverP50: number;
  serverP99: number;
  jobP50: number;
  answerP50: number;
  answerP99: number;
  cpuSelfMs: number;
  cpuThreadMs: number;
  cpuChildrenMs: number;
  cpuHostsMs: number;
  cpuZygotesMs: number;
  cpuJobsMs: number;
  requests: number;
  load: string;
}

const rows: Row[] = [];
let floorMs = Number.NaN;
let floorThreadMs = Number.NaN;
const started = machine();

for (const plan of PLANS) {
  const platform = await startBenchPlatform(PASSWORD);
  try {
    if (plan !== 'standard') {
      // Before acme's first request: its host binding (with the tenant's plan) is cached for 30 s.
      const admin = await benchUser(platform, 'admin.localhost', 'admin', PASSWORD);
      await admin.api('PATCH', '/api/tenants/acme', { plan });
    }
    const user = await benchUser(platform, HOST, 'alice', PASSWORD);
    const skillId = await user.skill('noop.py', 'def main(inputs, ctx):\n    return {}\n');
    const runOnce = async (mode: 'poll' | 'wait', pollMs: number) => {
      const began = performance.now();
      const posted = await call(platform.url, {
        host: HOST,
        token: user.token,
        method: 'POST',
        path: `/api/skills/${skillId}/executions`,
        body: { input: {} },
        ...(mode === 'wait' ? { headers: { prefer: 'wait=20' } } : {}),
      });
      if (posted.status !== (mode === 'wait' ? 200 : 202)) throw new Error(`POST: ${posted.text}`);
      let run = posted.body;
      while (run.status !== 'succeeded') {
        if (!['requested', 'queued', 'running'].includes(run.status)) throw new Error(JSON.stringify(run));
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        run = await user.api('GET', `/api/executions/${posted.body.id}`);
      }
      return {
        client: performance.now() - began,
        server: Date.parse(run.finishedAt) - Date.parse(run.createdAt),
        job: Number(run.metrics?.durationMs ?? Number.NaN),
        answer: Date.now() - Date.parse(run.finishedAt),
      };
    };
    for (let warm = 0; warm < 10; warm++) await runOnce('wait', 5);

    for (const clients of CLIENTS) {
      for (const mode of ['poll', 'wait'] as const) {
        let requests = 0;
        const stopObserving = platform.observeRequests(() => {
          requests++;
        });
        const before = cpuSeconds();
        const began = performance.now();
        const deadline = began + SECONDS * 1000;
        const samples: { client: number; server: number; job: number; answer: number }[] = [];
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (performance.now() < deadline) samples.push(await runOnce(mode, pollEvery(clients)));
          }),
        );
        const elapsed = (performance.now() - began) / 1000;
        const after = cpuSeconds();
        stopObserving();
        const pick = (key: 'client' | 'server' | 'job' | 'answer') => samples.map((sample) => sample[key]);
        rows.push({
          plan,
          clients,
          mode,
          runs: samples.length,
          perSecond: samples.length / elapsed,
          clientP50: percentile(pick('client'), 50),
          clientP99: percentile(pick('client'), 99),
          serverP50: percentile(pick('server'), 50),
          serverP99: percentile(pick('server'), 99),
          jobP50: percentile(pick('job'), 50),
          answerP50: percentile(pick('answer'), 50),
          answerP99: percentile(pick('answer'), 99),
          cpuSelfMs: ((after.self - before.self) / samples.length) * 1000,
          cpuThreadMs: ((after.thread - before.thread) / samples.length) * 1000,
          cpuChildrenMs: ((after.children - before.children) / samples.length) * 1000,
          cpuHostsMs: ((after.hosts - before.hosts) / samples.length) * 1000,
          cpuZygotesMs: ((after.zygotes - before.zygotes) / samples.length) * 1000,
          cpuJobsMs: ((after.jobs - before.jobs) / samples.length) * 1000,
          requests: requests / samples.length,
          load: loadavg()[0]?.toFixed(1) ?? '?',
        });
        // Let the copies and leftovers of this row settle before the next one.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }

    if (Number.isNaN(floorMs)) {
      // The floor: one signed SDK request through the guard to dynalite and back, alone.
      const { dynamodb, claimsTableName } = platform.services;
      const get = () =>
        dynamodb.send(
          new GetItemCommand({
            TableName: claimsTableName,
            Key: { jobId: { S: 'slots#acme' } },
            ConsistentRead: true,
          }),
        );
      for (let warm = 0; warm < 200; warm++) await get();
      const before = cpuSeconds();
      for (let index = 0; index < 1000; index++) await get();
      const after = cpuSeconds();
      floorMs = after.self - before.self; // seconds per 1000 = ms per request
      floorThreadMs = after.thread - before.thread;
    }
  } finally {
    await platform.stop();
  }
}

const format = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(value >= 100 ? 0 : 1));
const lines = [
  `Pipeline under load, ${new Date().toISOString()}, ${started}; ${SECONDS} s per row; load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} at the end`,
  '',
  '| plan | clients | learns the end by | runs | runs/s | client p50 ms | client p99 | platform p50 ms | platform p99 | job p50 ms (baseline) | end → answer p50 ms | end → answer p99 | CPU ms/run: platform process | of it, main thread | its children (Python) | SDK requests/run | load (1 min) |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (row) =>
      `| ${row.plan} | ${row.clients} | ${row.mode === 'wait' ? '`Prefer: wait`' : `polling every ${pollEvery(row.clients)} ms`} | ${row.runs} | ${row.perSecond.toFixed(1)} | ${format(row.clientP50)} | ${format(row.clientP99)} | ${format(row.serverP50)} | ${format(row.serverP99)} | ${format(row.jobP50)} | ${format(row.answerP50)} | ${format(row.answerP99)} | ${format(row.cpuSelfMs)} | ${format(row.cpuThreadMs)} | ${format(row.cpuChildrenMs)} | ${row.requests.toFixed(1)} | ${row.load} |`,
  ),
  '',
  "The children's CPU per run by role: the worker hosts (the job's message checked, claimed, handed to the sandbox, its report signed and sent), their zygotes (forking and reaping the job children) and the job children themselves (set-up in the pool, the job, exit); the job's own time inside its child, the baseline, first.",
  '',
  '| plan | clients | learns the end by | job p50 ms (baseline) | Python CPU ms/run | worker hosts | zygotes | job children |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (row) =>
      `| ${row.plan} | ${row.clients} | ${row.mode === 'wait' ? '`Prefer: wait`' : `polling every ${pollEvery(row.clients)} ms`} | ${format(row.jobP50)} | ${format(row.cpuChildrenMs)} | ${format(row.cpuHostsMs)} | ${format(row.cpuZygotesMs)} | ${format(row.cpuJobsMs)} |`,
  ),
  '',
  `Floor: one consistent GetItem through the SDK client, the SigV4 guard and dynalite, sent back to back: **${floorMs.toFixed(2)} ms** of the process's CPU per request, **${floorThreadMs.toFixed(2)} ms** of its main thread's.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
