/**
 * What a job that spins in many processes takes from the platform (cgroups.py, the jobs' cpu share):
 * the Sandbox's own process counts iterations of a busy loop, as the platform's thread would serve
 * requests, first alone (the baseline) and then while one job runs SPINNERS processes that spin, with
 * the jobs' cpu groups (the default as root) and without them (`memory_cgroup: false`, which turns
 * both off). Prints the loop's rate under the job as a share of its rate alone. Root only: without
 * root there are no cgroups to compare.
 *
 * The kernel's autogroup (one scheduling group per session: a job is one session, as setsid is
 * refused in it) already weighs a job's processes as one task where it is on; `autogroup=off` turns
 * it off for the run (and back after it), as on kernels or hosts without it.
 *
 *   sudo npx tsx bench/cpu-share.ts [spinners=8] [seconds=4] [autogroup=as-is|off]
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PYTHON_LAYER_DIR, resolvePythonInterpreter } from '../lib/local/python-function.ts';
import { machine, recordSection } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SPINNERS = Number(process.argv[2] ?? 8);
const SECONDS = Number(process.argv[3] ?? 4);
const AUTOGROUP_SWITCH = '/proc/sys/kernel/sched_autogroup_enabled';
const AUTOGROUP = process.argv[4] ?? 'as-is';
const autogroupBefore = readAutogroup();

function readAutogroup(): string {
  try {
    return readFileSync(AUTOGROUP_SWITCH, 'utf8').trim() === '1' ? 'on' : 'off';
  } catch {
    return 'absent';
  }
}

const MODES: Record<string, Record<string, unknown>> = {
  'with the jobs’ cpu groups (default as root)': {},
  'without cgroups (memory_cgroup: false)': { memory_cgroup: false },
};

const DRIVER = `
import json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
from execfabric_runtime import Limits, RunRequest, Sandbox

modes, spinners, seconds = json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
limits = Limits.parse({"timeoutSeconds": seconds + 20, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536})
spin = f"""
import os, time
def main(inputs, ctx):
    end = time.monotonic() + {seconds + 1}
    children = []
    for _ in range({spinners} - 1):
        pid = os.fork()
        if pid == 0:
            while time.monotonic() < end:
                pass
            os._exit(0)
        children.append(pid)
    while time.monotonic() < end:
        pass
    for pid in children:
        os.waitpid(pid, 0)
    return len(children) + 1
"""

def loop_rate(span):
    count, end = 0, time.perf_counter() + span
    while time.perf_counter() < end:
        count += 1
    return count / span

results = {}
for label, options in modes.items():
    with Sandbox(**options) as box:
        box.run(RunRequest("def main(inputs, ctx):\\n    return None\\n", {}, limits, "b", "b", "b"))
        alone = loop_rate(seconds)
        outcome = {}
        job = threading.Thread(target=lambda: outcome.update(o=box.run(RunRequest(spin, {}, limits, "b", "b", "b"))))
        job.start()
        time.sleep(0.5)
        loaded = loop_rate(seconds - 1)
        job.join()
        o = outcome["o"]
        assert o.status == "succeeded", (o.status, o.error)
        results[label] = {"alone": alone, "loaded": loaded, "memory": o.sandbox["memory"]}
print(json.dumps({"results": results, "python": sys.version.split()[0]}))
`;

const python = await resolvePythonInterpreter();
const host = machine();
if (AUTOGROUP === 'off' && autogroupBefore === 'on') writeFileSync(AUTOGROUP_SWITCH, '0');
const autogroup = readAutogroup();
const child = spawn(
  python,
  [
    '-I',
    '-S',
    '-c',
    DRIVER,
    resolve(ROOT, PYTHON_LAYER_DIR),
    JSON.stringify(MODES),
    String(SPINNERS),
    String(SECONDS),
  ],
  { cwd: '/', stdio: ['ignore', 'pipe', 'inherit'] },
);
let stdout = '';
child.stdout.on('data', (chunk: Buffer) => {
  stdout += chunk.toString();
});
const code = await new Promise<number | null>((done) => child.on('exit', done));
if (autogroupBefore === 'on' && autogroup === 'off') writeFileSync(AUTOGROUP_SWITCH, '1');
if (code !== 0) throw new Error(`the benchmark driver exited with ${code}`);
const measured = JSON.parse(stdout) as {
  results: Record<string, { alone: number; loaded: number; memory: string }>;
  python: string;
};

const rows = Object.entries(measured.results).map(
  ([label, r]) =>
    `| ${label} | ${r.memory} | ${(r.alone / 1e6).toFixed(2)} | ${(r.loaded / 1e6).toFixed(2)} | ${(r.loaded / r.alone).toFixed(2)}× |`,
);
const HEADING = `## A spinning job against the platform (cpu share per job), the kernel's autogroup ${autogroup}`;
const section = [
  HEADING,
  '',
  `Recorded ${new Date().toISOString()} by \`npx tsx bench/cpu-share.ts ${SPINNERS} ${SECONDS} ${AUTOGROUP}\` on ${host}, Python ${measured.python}${process.getuid?.() === 0 ? ' as root' : ' (not root: no cgroups, both rows alike)'}; the kernel's autogroup ${autogroup}.`,
  '',
  '| jobs | memory (plan) | platform loop alone, M iterations/s (baseline) | with the spinning job | ÷ baseline |',
  '| --- | --- | ---: | ---: | ---: |',
  ...rows,
  '',
  `One job forks ${SPINNERS - 1} children and all ${SPINNERS} spin for ${SECONDS + 1} s; the Sandbox's own process`,
  'runs a busy loop meanwhile, as the platform thread serves requests. Each row measures its own',
  'baseline (the loop alone) first, in the same process.',
  '',
].join('\n');
console.log(section);
recordSection(HEADING, section);
