/**
 * How far behind a running job its live log is: a script prints its own clock every 200 ms for a few
 * seconds; a reader follows `GET /api/executions/{id}/logs?after=…` every 100 ms (the front polls at
 * most once a second: add up to that much for a person watching). Each line's lag is the time the
 * reader first saw it minus the time the script printed it (one machine, one clock). Baseline, in the
 * same run: without live logs, a line is seen when the run's result is — its lag is the run's end
 * minus the time it was printed. Usage: `npx tsx bench/live-logs.ts [lines]`; records its section in
 * bench/RESULTS.md.
 */
import { benchUser, machine, percentile, recordSection, startBenchPlatform } from './support.ts';

const LINES = Number(process.argv[2] ?? 40);
const RUNS = 3;
const PASSWORD = 'bench-live-logs-password';
const HOST = 'acme.localhost';

const SCRIPT = `
import time

def main(inputs, ctx):
    for index in range(inputs["lines"]):
        print(f"{index} {time.time():.4f}", flush=True)
        time.sleep(0.2)
    return {}
`;

const platform = await startBenchPlatform(PASSWORD);
try {
  const { api, skill: bind } = await benchUser(platform, HOST, 'alice', PASSWORD);
  const skill = { id: await bind('bench-live-logs', SCRIPT, { limits: { timeoutSeconds: 120 } }) };

  const live: number[] = [];
  const atEnd: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = await api('POST', `/api/skills/${skill.id}/executions`, { input: { lines: LINES } });
    const printed = new Map<number, number>();
    const seen = new Map<number, number>();
    let cursor = '0';
    let buffer = '';
    let ended = false;
    while (!ended) {
      const page = await api('GET', `/api/executions/${started.id}/logs?after=${cursor}`);
      const now = Date.now() / 1000;
      for (const chunk of page.chunks as { text: string; stream: string }[]) {
        if (chunk.stream !== 'stdout') continue;
        buffer += chunk.text;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          const [index, at] = line.split(' ').map(Number);
          if (index === undefined || at === undefined || Number.isNaN(index)) continue;
          printed.set(index, at);
          if (!seen.has(index)) seen.set(index, now);
        }
      }
      cursor = String(page.cursor);
      ended = page.complete === true || ['succeeded', 'failed', 'timed_out'].includes(page.status);
      if (!ended) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const endedAt = Date.now() / 1000;
    const finished = await api('GET', `/api/executions/${started.id}`);
    if (finished.status !== 'succeeded') throw new Error(`run ${finished.status}`);
    for (const [index, at] of printed) {
      const first = seen.get(index);
      // Lines the reader only met in the final result were not live: they count at the run's end.
      if (first !== undefined) live.push((first - at) * 1000);
      atEnd.push((endedAt - at) * 1000);
    }
  }
  const row = (label: string, samples: number[]) =>
    `| ${label} | ${samples.length} | ${percentile(samples, 50).toFixed(0)} | ${percentile(samples, 99).toFixed(0)} | ${Math.max(...samples).toFixed(0)} |`;
  const ratio = percentile(live, 50) / percentile(atEnd, 50);
  const section = [
    '## Live logs: how far behind a running job',
    '',
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/live-logs.ts ${LINES}\` on ${machine()}; ${RUNS} runs of a script printing a line every 200 ms for ${(LINES * 0.2).toFixed(0)} s, followed every 100 ms through the logs API.`,
    '',
    '| a printed line is seen | lines | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('live, through the log reports', live),
    row('baseline: with the result (no live log)', atEnd),
    '',
    `Live / baseline at p50: **${ratio.toFixed(2)}×**. The worker flushes about once a second (\`LOG_FLUSH_SECONDS\`),`,
    'so a line waits up to a second in the worker, then one queue hop and the recorder’s write; the front polls',
    'at most once a second on top of that.',
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  recordSection('## Live logs: how far behind a running job', section);
} finally {
  await platform.stop();
}
