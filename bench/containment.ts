/**
 * What each containment mechanism costs a job (issue 11): a no-op script through the Sandbox with no
 * containment at all (the baseline, only reachable with the unsafe switch), the seccomp rung as a
 * Lambda container has it (no namespaces, no cgroup), seccomp with the private view and memory cgroup
 * (the seccomp rung forced as root), the network namespace alone, the default without the zygote's
 * pid namespace, and the default as root (network, IPC and mount namespaces, tmpfs, memory cgroup,
 * seccomp, the zygote's own pid namespace). When run as root it also measures the
 * default of an unprivileged user (the userns rung) as `nobody`, with the system's Python. All in one
 * run; prints p50/p99 per job with a gap between jobs (the pool refilled, as in Lambda) and back to
 * back (the pool drained: the namespace set-up lands on the clock), and the ratio to the baseline.
 * Records them in bench/RESULTS.md under "## Containment cost per job".
 *
 *   npx tsx bench/containment.ts [jobs]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PYTHON_LAYER_DIR, resolvePythonInterpreter } from '../lib/local/python-function.ts';
import { machine, percentile, recordSection } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HEADING = '## Containment cost per job';
const JOBS = Number(process.argv[2] ?? 100);
const GAP_MS = 50;
const SYSTEM_PYTHON = '/usr/bin/python3';

/** The mechanisms measured: label → Sandbox options. */
const MODES: Record<string, Record<string, unknown>> = {
  'none (baseline; unsafe switch)': { network: 'none', unsafe_no_network_isolation: true },
  'seccomp only (the Lambda rung)': { network: 'seccomp', namespaces: false, memory_cgroup: false },
  'seccomp + private view, tmpfs, cgroup': { network: 'seccomp' },
  'network namespace + view, tmpfs, cgroup (no seccomp)': { network: 'netns', seccomp_filter: false },
  'default without the pid namespace (jobs in the host’s)': { pid_namespace: false },
  'default: netns + view, tmpfs, cgroup + seccomp': {},
};

const DRIVER = `
import json, sys, time
sys.path.insert(0, sys.argv[1])
from execfabric_runtime import Limits, RunRequest, Sandbox

modes, jobs, gap = json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
limits = Limits.parse({"timeoutSeconds": 10, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536})
request = RunRequest("def main(inputs, ctx):\\n    return None\\n", {}, limits, "bench", "bench", "bench")

def timed(box, count, pause):
    samples = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        began = time.perf_counter()
        outcome = box.run(request)
        samples.append((time.perf_counter() - began) * 1000)
        assert outcome.status == "succeeded", outcome
    return samples, outcome.sandbox

results = {}
for label, options in modes.items():
    with Sandbox(**options) as box:
        timed(box, 5, gap)
        spaced, plan = timed(box, jobs, gap)
        packed, _ = timed(box, jobs, 0)
    results[label] = {"spaced": spaced, "packed": packed, "plan": plan}
print(json.dumps({"results": results, "python": sys.version.split()[0]}))
`;

interface ModeSamples {
  spaced: number[];
  packed: number[];
  plan: Record<string, unknown>;
}

interface Measured {
  results: Record<string, ModeSamples>;
  python: string;
}

async function measure(command: string[], modes: Record<string, unknown>): Promise<Measured> {
  const [program, ...args] = command as [string, ...string[]];
  const child = spawn(
    program,
    [
      ...args,
      '-c',
      DRIVER,
      resolve(ROOT, PYTHON_LAYER_DIR),
      JSON.stringify(modes),
      String(JOBS),
      String(GAP_MS / 1000),
    ],
    { cwd: '/', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`the benchmark driver exited with ${code}`);
  return JSON.parse(stdout) as Measured;
}

const python = await resolvePythonInterpreter();
const host = machine();
const measured = await measure([python, '-I', '-S'], MODES);
const asRoot = process.getuid?.() === 0;
// An unprivileged user's default (the userns rung), where this machine lets us be one.
let unprivileged: Measured | null = null;
if (asRoot && existsSync(SYSTEM_PYTHON) && spawnSync('id', ['nobody']).status === 0) {
  unprivileged = await measure(
    ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', SYSTEM_PYTHON, '-I', '-S'],
    {
      'default as an unprivileged user (userns + view, tmpfs + seccomp)': {},
    },
  ).catch((error: unknown) => {
    console.error(`the unprivileged run could not be measured: ${(error as Error).message}`);
    return null;
  });
}

const all: Record<string, ModeSamples> = { ...measured.results, ...(unprivileged?.results ?? {}) };
const baseline = measured.results['none (baseline; unsafe switch)'] as ModeSamples;
const base50 = percentile(baseline.spaced, 50);
const basePacked50 = percentile(baseline.packed, 50);
const rows = Object.entries(all).map(([label, samples]) => {
  const plan = samples.plan;
  const network = plan.seccomp && plan.network !== 'seccomp' ? `${plan.network}+seccomp` : plan.network;
  const mechanisms = `${network}, ${plan.disk}, ${plan.memory}, uid ${plan.uid}, pid ${plan.pid ?? 'host'}`;
  return `| ${label} | ${mechanisms} | ${percentile(samples.spaced, 50).toFixed(1)} | ${percentile(samples.spaced, 99).toFixed(1)} | ${(percentile(samples.spaced, 50) / base50).toFixed(2)}× | ${percentile(samples.packed, 50).toFixed(1)} | ${percentile(samples.packed, 99).toFixed(1)} | ${(percentile(samples.packed, 50) / basePacked50).toFixed(2)}× |`;
});
const section = [
  HEADING,
  '',
  `Recorded ${new Date().toISOString()} by \`npx tsx bench/containment.ts ${JOBS}\` on ${host}, Python ${measured.python}${asRoot ? ' as root' : ''}${unprivileged === null ? '' : ` (the unprivileged row: ${unprivileged.python} as nobody)`}.`,
  '',
  `| mechanism | recorded plan | p50 ms, ${GAP_MS} ms gap | p99 | ×baseline | p50 ms, back to back | p99 | ×baseline |`,
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  `${JOBS} no-op jobs per mode and pace, each timed from the worker's side (job handed to a pre-forked`,
  'child, limits applied, privileges dropped, script run, result read, process tree swept). With a gap',
  'the zygote refills its pool between jobs, so namespace, tmpfs and cgroup set-up happen off the clock',
  'and the cost left is the per-job work (seccomp install, tmpfs resize, cgroup limit). Back to back the',
  'pool drains and the replacement children are made while jobs run, so their set-up shares the CPU.',
  '',
].join('\n');
console.log(section);
recordSection(HEADING, section);
