/**
 * Per-job overhead of the Python runner: a no-op script through the pre-forked zygote (the Sandbox the
 * worker uses, with every limit, the privilege drop when root and the per-job sweep) versus a fresh
 * `python -I -S -c …` per job that only reads the job, runs `main` and prints the JSON (no sandboxing:
 * the interpreter start alone). Runs both in one process on this machine, prints p50/p99 and the
 * ratio, and records them in bench/RESULTS.md under "## Python runner overhead".
 *
 *   npx tsx bench/runner-overhead.ts [jobs]
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PYTHON_LAYER_DIR, resolvePythonInterpreter } from '../lib/local/python-function.ts';
import { machine, percentile, recordSection } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HEADING = '## Python runner overhead';
const JOBS = Number(process.argv[2] ?? 200);
const GAP_MS = 50;

/** The driver: times each job from the caller's side, in milliseconds. */
const DRIVER = `
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from execfabric_runtime import Limits, RunRequest, Sandbox

jobs, gap = int(sys.argv[2]), float(sys.argv[3])
source = "def main(inputs, ctx):\\n    return None\\n"
limits = Limits.parse({"timeoutSeconds": 10, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536})
request = RunRequest(source, {}, limits, "bench", "bench", "bench")

def timed(run, count, pause):
    samples = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return samples

def forked():
    outcome = sandbox.run(request)
    assert outcome.status == "succeeded", outcome

FRESH = "import json, sys\\njob = json.load(sys.stdin)\\nnamespace = {}\\nexec(compile(job['source'], 'script.py', 'exec'), namespace)\\nsys.stdout.write(json.dumps({'status': 'succeeded', 'output': namespace['main'](job['input'], None)}))\\n"
payload = json.dumps({"source": source, "input": {}}).encode()

def fresh():
    done = subprocess.run([sys.executable, "-I", "-S", "-c", FRESH], input=payload, capture_output=True, check=True)
    assert json.loads(done.stdout)["status"] == "succeeded"

with Sandbox() as sandbox:
    timed(forked, 5, gap)  # warm-up
    with_gap = timed(forked, jobs, gap)
    back_to_back = timed(forked, max(20, jobs // 2), 0)
timed(fresh, 5, 0)
fresh_samples = timed(fresh, jobs // 2, gap)
print(json.dumps({"forked": with_gap, "forkedBackToBack": back_to_back, "fresh": fresh_samples, "python": sys.version.split()[0]}))
`;

interface Samples {
  forked: number[];
  forkedBackToBack: number[];
  fresh: number[];
  python: string;
}

async function measure(python: string): Promise<Samples> {
  const child = spawn(
    python,
    ['-c', DRIVER, resolve(ROOT, PYTHON_LAYER_DIR), String(JOBS), String(GAP_MS / 1000)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`the benchmark driver exited with ${code}`);
  return JSON.parse(stdout) as Samples;
}

const python = await resolvePythonInterpreter();
const host = machine();
const samples = await measure(python);
const row = (label: string, values: readonly number[]) =>
  `| ${label} | ${values.length} | ${percentile(values, 50).toFixed(1)} | ${percentile(values, 99).toFixed(1)} |`;
const ratio = percentile(samples.fresh, 50) / percentile(samples.forked, 50);
const table = [
  '| per job (no-op script) | jobs | p50 ms | p99 ms |',
  '| --- | ---: | ---: | ---: |',
  row(`forked from the zygote, ${GAP_MS} ms between jobs`, samples.forked),
  row('forked from the zygote, back to back', samples.forkedBackToBack),
  row(`fresh \`python -I -S -c\` per job, ${GAP_MS} ms between jobs`, samples.fresh),
].join('\n');
const section = [
  HEADING,
  '',
  `Recorded ${new Date().toISOString()} by \`npx tsx bench/runner-overhead.ts ${JOBS}\` on ${host}, Python ${samples.python}${process.getuid?.() === 0 ? ', as root (jobs drop to their own uid)' : ''}.`,
  '',
  table,
  '',
  `Fresh interpreter / forked, at p50: **${ratio.toFixed(1)}×**. The forked figure is the whole sandboxed`,
  'job as the worker sees it (job written to the pre-forked child, limits applied, script compiled and',
  "run, result read, process tree swept, folder wiped); the fresh one is only an interpreter's start and",
  'exit around the same script, with no sandboxing at all. Back to back, the zygote re-forks and the new',
  "child warms up while the next job runs, so jobs share the CPU with that work; Lambda's one-job",
  'invocations leave the gap in which the pool is refilled.',
  '',
].join('\n');
console.log(section);
recordSection(HEADING, section);
