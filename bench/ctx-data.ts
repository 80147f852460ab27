/**
 * What a `ctx.data` call costs a script, measured inside the script (so it is the script's own wait):
 * a call the worker refuses itself (an undeclared collection: the job's pipe and the worker's check,
 * nothing relayed) as the baseline, then `get`, a conditional `put` and a 50-record `query` through
 * the data relay (grant verified, run state read, the record read or written in the table). Each
 * figure is p50/p99 over `N` calls in one run. Usage: `npx tsx bench/ctx-data.ts [N]`; records its
 * section in bench/RESULTS.md.
 */
import { benchUser, machine, percentile, recordSection, startBenchPlatform } from './support.ts';

const N = Number(process.argv[2] ?? 200);
const PASSWORD = 'bench-ctx-data-password';
const HOST = 'acme.localhost';

const SCRIPT = `
import time, execfabric

def timed(action, n):
    samples = []
    for index in range(n):
        started = time.perf_counter()
        action(index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples

def main(inputs, ctx):
    n = inputs["n"]
    data = ctx.data.collection("bench")
    for index in range(50):
        data.put(f"q-{index:03d}", {"index": index})
    versions = {}
    def refused(index):
        try:
            ctx.data.collection("undeclared").get("x")
        except execfabric.DataError:
            pass
    def put(index):
        key = f"k-{index % 10}"
        versions[key] = data.put(key, {"index": index}, expected_version=versions.get(key, 0))
    return {
        "refused": timed(refused, n),
        "put": timed(put, n),
        "get": timed(lambda index: data.get(f"k-{index % 10}"), n),
        "query": timed(lambda index: data.query("q-", limit=50), n),
    }
`;

const platform = await startBenchPlatform(PASSWORD);
try {
  const { api, skill: bind } = await benchUser(platform, HOST, 'alice', PASSWORD);
  await api('POST', '/api/data/collections', { name: 'bench', schema: { type: 'object' } });
  const skill = {
    id: await bind('bench-ctx-data', SCRIPT, { limits: { timeoutSeconds: 240 }, collections: ['bench'] }),
  };
  const started = await api('POST', `/api/skills/${skill.id}/executions`, { input: { n: N } });
  let run: { status: string; output?: Record<string, number[]>; error?: unknown } = { status: 'queued' };
  while (!['succeeded', 'failed', 'timed_out'].includes(run.status)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    run = await api('GET', `/api/executions/${started.id}`);
  }
  if (run.status !== 'succeeded' || run.output === undefined)
    throw new Error(`the run ${run.status}: ${JSON.stringify(run.error)}`);
  const output = run.output;
  const row = (label: string, samples: number[]) =>
    `| ${label} | ${samples.length} | ${percentile(samples, 50).toFixed(2)} | ${percentile(samples, 99).toFixed(2)} |`;
  const baseline = percentile(output.refused ?? [], 50);
  const get = percentile(output.get ?? [], 50);
  const section = [
    '## ctx.data calls',
    '',
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/ctx-data.ts ${N}\` on ${machine()}; in-memory dynalite, measured inside the script.`,
    '',
    '| call, as the script waits for it | calls | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: |',
    row('baseline: refused by the worker (undeclared collection, nothing relayed)', output.refused ?? []),
    row('`get` through the data relay', output.get ?? []),
    row('`put` with `expected_version`', output.put ?? []),
    row('`query` of 50 records', output.query ?? []),
    '',
    `A relayed \`get\` / the worker-only baseline, at p50: **${(get / baseline).toFixed(1)}×**. The baseline is the`,
    'pipe round trip between the job and the worker; a relayed call adds the invocation of the data relay (in',
    'process locally; a Lambda invoke in AWS), the grant check, one read of the run’s state and the table',
    'operation itself (a `put` reads the record, reserves usage, writes conditionally).',
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  recordSection('## ctx.data calls', section);
} finally {
  await platform.stop();
}
