/**
 * Fairness between tenants on the local platform (issue 12): tenant A (acme, standard plan: 2 runs at
 * once) floods FLOOD runs of a 2-second script; meanwhile tenant B (globex) starts no-op runs one at
 * a time. B's POST → terminal (seen by the client) and start delay (createdAt → startedAt, recorded by
 * the platform) under the flood, against the same runs with no flood, earlier in the same process.
 *
 *   npx tsx bench/fairness.ts [flood=200] [quick=40]
 */
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { planLimits } from '../functions/core/tenancy/plans.ts';
import { benchUser, machine, percentile, recordSection, startBenchPlatform } from './support.ts';

const FLOOD = Number(process.argv[2] ?? '200');
const QUICK = Number(process.argv[3] ?? '40');
const PASSWORD = 'bench-fairness-password';
const A = 'acme.localhost';
const B = 'globex.localhost';
const SLOW = 'import time\n\ndef main(inputs, ctx):\n    time.sleep(2)\n    return {"slept": 2}\n';
const NOOP = 'def main(inputs, ctx):\n    return {}\n';
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'rejected']);

const machineLine = machine();
const began = new Date();
const platform = await startBenchPlatform(PASSWORD);

interface Run {
  readonly status: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly queuedAt?: string;
  readonly finishedAt?: string;
  readonly metrics?: { readonly durationMs?: number };
}

try {
  const [a, b] = [
    await benchUser(platform, A, 'alice', PASSWORD),
    await benchUser(platform, B, 'gina', PASSWORD),
  ];
  const limits = { limits: { timeoutSeconds: 30 } };
  const slow = await a.skill('flood', SLOW, limits);
  const noop = await b.skill('quick', NOOP, limits);

  /** One of B's runs, POST to terminal, polling every 20 ms. */
  async function quickRun(): Promise<{ clientMs: number; startDelayMs: number; queuedMs: number }> {
    const started = performance.now();
    const posted = await b.api('POST', `/api/skills/${noop}/executions`, { input: {} });
    for (;;) {
      const run = (await b.api('GET', `/api/executions/${posted.id}`)) as Run;
      if (TERMINAL.has(run.status)) {
        if (run.status !== 'succeeded') throw new Error(`quick run ended ${run.status}`);
        return {
          clientMs: performance.now() - started,
          startDelayMs: Date.parse(run.startedAt ?? '') - Date.parse(run.createdAt),
          queuedMs: Date.parse(run.startedAt ?? '') - Date.parse(run.queuedAt ?? run.createdAt),
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const pause = () => new Promise((resolve) => setTimeout(resolve, 250));

  /** CPU time of this process (the platform runs in it, the Python jobs do not) per wall-clock second. */
  const cpuMeter = () => {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    return () => {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000 / (performance.now() - wall);
    };
  };

  for (let warm = 0; warm < 5; warm++) await quickRun();
  const aloneCpu = cpuMeter();
  const alone: { clientMs: number; startDelayMs: number; queuedMs: number }[] = [];
  for (let index = 0; index < QUICK; index++) {
    alone.push(await quickRun());
    await pause();
  }
  const aloneLoad = aloneCpu();

  // The flood: every run posted up front, as a script or a retry storm would.
  const floodStarted = performance.now();
  const flood: string[] = [];
  for (let index = 0; index < FLOOD; index++) {
    const posted = await a.api('POST', `/api/skills/${slow}/executions`, { input: { index } });
    flood.push(String(posted.id));
  }
  const posting = (performance.now() - floodStarted) / 1000;
  // Finished flood runs, read once each; the others are read again every few seconds, one at a time
  // (reading all 200 at once would be a load of its own on a 2-core machine).
  const ended = new Map<string, Run>();
  const floodState = async () => {
    for (const id of flood) {
      if (ended.has(id)) continue;
      const run = (await a.api('GET', `/api/executions/${id}`)) as Run;
      if (TERMINAL.has(run.status)) ended.set(id, run);
    }
    return ended.size;
  };
  const underFlood: { clientMs: number; startDelayMs: number; queuedMs: number }[] = [];
  const floodCpu = cpuMeter();
  for (let index = 0; index < QUICK; index++) {
    underFlood.push(await quickRun());
    await pause();
  }
  const floodLoad = floodCpu();
  const doneAfterQuick = await floodState();
  if (doneAfterQuick >= FLOOD) throw new Error('the flood ended before the quick runs did: make it larger');

  while ((await floodState()) < FLOOD) await new Promise((resolve) => setTimeout(resolve, 5_000));
  const floodSeconds = (performance.now() - floodStarted) / 1000;
  const runs = [...ended.values()];
  const failed = runs.filter((run) => run.status !== 'succeeded').length;
  // Each job's own time: its start as recorded, for as long as the runner says it ran (the recorded
  // finish also counts the report's trip through the results queue, which grows with the load).
  const intervals = runs.map((run) => {
    const start = Date.parse(run.startedAt ?? '');
    return [start, start + Number(run.metrics?.durationMs ?? 0)];
  });
  let mostAtOnce = 0;
  for (const [start] of intervals) {
    const overlapping = intervals.filter(
      ([from, to]) => (from ?? 0) <= (start ?? 0) && (start ?? 0) < (to ?? 0),
    );
    mostAtOnce = Math.max(mostAtOnce, overlapping.length);
  }

  const row = (label: string, values: readonly number[]) =>
    `| ${label} | ${values.length} | ${percentile(values, 50).toFixed(0)} | ${percentile(values, 99).toFixed(0)} |`;
  const ratio = (under: readonly number[], base: readonly number[], p: number) =>
    (percentile(under, p) / percentile(base, p)).toFixed(1);
  const client = (samples: typeof alone) => samples.map((sample) => sample.clientMs);
  const delay = (samples: typeof alone) => samples.map((sample) => sample.startDelayMs);
  const onQueue = (samples: typeof alone) => samples.map((sample) => sample.queuedMs);
  const node = process.version;
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const section = [
    '## Fairness: one tenant floods, another runs quick jobs',
    '',
    `Recorded ${began.toISOString()} by \`npx tsx bench/fairness.ts ${FLOOD} ${QUICK}\` on ${machineLine}; nproc ${nproc}, Linux ${release()}, Node ${node}; local platform in memory.`,
    '',
    `Tenant A (acme, plan \`standard\`: ${planLimits('standard').concurrentRuns} runs at once) posts ${FLOOD} runs of a script that sleeps 2 s, all at once (${posting.toFixed(1)} s to post them); tenant B (globex) then runs ${QUICK} no-op runs one after another (250 ms apart, polling every 20 ms). The baseline is the same ${QUICK} runs of B with no flood, earlier in the same process. All of B's runs under the flood ended while A still had ${FLOOD - doneAfterQuick} of ${FLOOD} runs unfinished.`,
    '',
    "| tenant B's no-op run | runs | p50 ms | p99 ms |",
    '| --- | ---: | ---: | ---: |',
    row('POST → terminal, alone (baseline)', client(alone)),
    row(`POST → terminal, while A floods`, client(underFlood)),
    row('start delay (createdAt → startedAt), alone', delay(alone)),
    row('start delay, while A floods', delay(underFlood)),
    row('of which on the queue (queuedAt → startedAt), alone', onQueue(alone)),
    row('of which on the queue, while A floods', onQueue(underFlood)),
    '',
    `Under the flood / alone, POST → terminal: p50 **${ratio(client(underFlood), client(alone), 50)}×**, p99 **${ratio(client(underFlood), client(alone), 99)}×**; start delay: p50 **${ratio(delay(underFlood), delay(alone), 50)}×**, p99 **${ratio(delay(underFlood), delay(alone), 99)}×**.`,
    '',
    `The platform's process used ${(aloneLoad * 100).toFixed(0)} % of a CPU while B ran alone and ${(floodLoad * 100).toFixed(0)} % while B ran under the flood (the Python jobs not counted).`,
    '',
    `The flood: ${FLOOD} runs in ${floodSeconds.toFixed(0)} s (${failed} not succeeded), at most ${mostAtOnce} running at once (from their recorded start and finish times).`,
    '',
  ];
  process.stdout.write(`${section.join('\n')}\n`);
  recordSection(section[0] as string, section.join('\n'));
} finally {
  await platform.stop();
}
