/**
 * A second attacker's pass over the local platform, at what the other attack suites do not try: as
 * a tenant who wants another tenant's data, to act as someone else, or to take the platform down.
 * One platform for the file; one `describe` per channel; every case checks that the attack failed
 * and that another tenant is still served.
 *
 * - The HTTP parser of every port the platform listens on (the edge, dynalite, fauxqs, the Lambda
 *   endpoint): a request smuggled behind another (Content-Length with chunked, two Content-Lengths)
 *   and an oversized header block are refused by the parser, and nothing smuggled is answered. Each
 *   case fails if a port's server were created with Node's lenient parser (`insecureHTTPParser`):
 *   the smuggled request is then answered as a second response.
 * - A tenant's script that outlives its run: it daemonises (setsid, double fork) and keeps calling
 *   `ctx.data` once its run has ended. The daemon is gone by the time the run is recorded (the
 *   zygote, as child subreaper, kills every descendant before it reports the job's exit) and none of
 *   its calls after the end lands. The daemon's survival is checked by its pid and start time from
 *   outside, so the case fails if the sweep of descendants were removed. A fork bomb did outlive
 *   its run: the sweep kills the zygote's children one by one while their children fork into the
 *   places freed, gives up, and the run was recorded with the job's 32 processes alive (until they
 *   chose to end). The zygote now kills the job's cgroup at once (`cgroup.kill`).
 * - Idempotency keys: the same key used by another user of the tenant, or by another tenant, is its
 *   own request (the claim is per tenant partition and per user): no one gets another's run back.
 * - `Prefer: wait`, held open by the hundred: one tenant replaying one Idempotency-Key with a wait
 *   holds as many requests as it likes on one run, each costing the process a read every 500 ms;
 *   800 of them kept another tenant's waited run from answering for up to 10 s. A tenant now holds
 *   at most MAX_WAITS_PER_TENANT waits per process; the case fails without the cap (all are held).
 * - The worker's `ctx` relay, flooded: a script that writes hundreds of call lines on its result pipe
 *   and never reads their replies made its worker keep every reply (~1 MiB for a query of a full
 *   collection; 300 calls grew the worker host by ~280 MiB, a run may make 1000). Bounded now by the
 *   sandbox's MAX_PENDING_BYTES; the case fails without it (the host's peak memory is read from /proc).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/env.ts';
import { MAX_WAITS_PER_TENANT } from '../../functions/core/executions/run-ends.ts';
import { call } from '../support/http.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { type Bystander, bystander, type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-second-pass-password';

const t = await startTestPlatform(PASSWORD);
let alice: string;
let bob: string;
let acme: Runner;
let globex: Bystander;

const api = (host: string, token: string, method: string, path: string, body?: unknown) =>
  t.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  alice = await t.login(HOSTS.acme, 'alice');
  bob = await t.login(HOSTS.acme, 'bob');
  acme = runner(t, HOSTS.acme, alice);
  globex = await bystander(t);
});

afterAll(async () => {
  await t.stop();
});

/** Writes raw bytes to a port and reads everything answered until the server closes or goes quiet. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(limit);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const limit = setTimeout(done, 5_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      clearTimeout(quiet);
      quiet = setTimeout(done, 1_000);
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.on('connect', () => socket.write(request, 'latin1'));
  });
}

function statuses(answer: string): number[] {
  return [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
}

describe('every port’s HTTP parser, against request smuggling and oversized headers', () => {
  const ports = (): [string, number][] => [
    ['the edge', t.platform.port],
    ['dynalite', Number(new URL(t.platform.services.dynamodbEndpoint).port)],
    ['fauxqs', Number(new URL(t.platform.services.sqsEndpoint).port)],
    ['the Lambda endpoint', Number(new URL(t.platform.env[ENV.lambdaEndpoint] ?? '').port)],
  ];
  /** A request the attacker hides in the first one's body; answered only if the parsers disagree. */
  const smuggled = `GET /api/me HTTP/1.1\r\nHost: ${HOSTS.globex}\r\n\r\n`;

  it('refuses Content-Length together with chunked, and answers nothing smuggled', async () => {
    const body = `0\r\n\r\n${smuggled}`;
    for (const [name, port] of ports()) {
      const answer = await rawExchange(
        port,
        `GET /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
      );
      expect(statuses(answer), `${name}: ${answer.slice(0, 300)}`).toEqual([400]);
    }
  });

  it('refuses two different Content-Lengths, and answers nothing smuggled', async () => {
    for (const [name, port] of ports()) {
      const answer = await rawExchange(
        port,
        `POST /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      );
      expect(statuses(answer), `${name}: ${answer.slice(0, 300)}`).toEqual([400]);
    }
  });

  it('refuses an obfuscated Transfer-Encoding, and answers nothing smuggled', async () => {
    const body = `0\r\n\r\n${smuggled}`;
    for (const [name, port] of ports()) {
      const answer = await rawExchange(
        port,
        `POST /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked, identity\r\n\r\n${body}`,
      );
      expect(statuses(answer), `${name}: ${answer.slice(0, 300)}`).toEqual([400]);
    }
  });

  it('refuses an oversized header block before reading on', async () => {
    for (const [name, port] of ports()) {
      const answer = await rawExchange(
        port,
        `GET /api/health HTTP/1.1\r\nHost: ${HOSTS.acme}\r\nX-Pad: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      );
      expect(statuses(answer), `${name}: ${answer.slice(0, 300)}`).toEqual([431]);
    }
  });

  it('leaves every tenant served', async () => {
    const health = await call(t.platform.url, { host: HOSTS.acme, path: '/api/health' });
    expect(health.status, health.text).toBe(200);
    await globex.stillServed();
  });
});

/**
 * Writes a record, then leaves a daemon behind (setsid and a double fork) that waits until the job
 * process has gone and a while more (the run is recorded by then), and keeps writing for seconds.
 * Returns the daemon's pid and its start time (field 22 of /proc/<pid>/stat), to find it from outside.
 */
const OUTLIVER = `
import os, time

def main(inputs, ctx):
    trail = ctx.data.collection("trail")
    trail.put("during", {"at": time.time()})
    job = os.getpid()
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        try:
            os.setsid()
        except PermissionError:
            pass  # refused by the seccomp filter: the daemon stays in the job's session
        if os.fork() != 0:
            os._exit(0)
        # The daemon says who it is: the job's own procfs shows it no other process, its own
        # children included (they are not dumpable).
        with open("/proc/self/stat") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
        os.write(w, f"{os.getpid()} {started}".encode())
        os.close(r)
        os.close(w)
        while True:
            try:
                os.kill(job, 0)
                time.sleep(0.01)
            except OSError:
                break
        time.sleep(inputs["grace"])
        end = time.time() + inputs["keep"]
        n = 0
        while time.time() < end:
            try:
                trail.put(f"after-{n}", {"at": time.time()})
            except BaseException:
                pass
            n += 1
            time.sleep(0.05)
        os._exit(0)
    os.close(w)
    os.waitpid(first, 0)
    daemon, started = os.read(r, 64).decode().split()
    return {"daemon": int(daemon), "started": started}
`;

/** Whether the process that had this pid and start time is still there. */
function stillRunning(pid: number, started: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return (
      stat
        .slice(stat.lastIndexOf(')') + 1)
        .trim()
        .split(/\s+/)[19] === started
    );
  } catch {
    return false;
  }
}

/**
 * Leaves a fork bomb behind (setsid, then every process forks for as long as the job's process
 * limit lets it), which ends itself after `live` seconds whatever happens (the machine is shared).
 */
const FORK_BOMB = `
import os, time

def main(inputs, ctx):
    until = time.time() + inputs["live"]
    if os.fork() == 0:
        try:
            os.setsid()
        except PermissionError:
            pass  # refused by the seccomp filter: the bomb stays in the job's session
        while time.time() < until:
            try:
                os.fork()
            except OSError:
                time.sleep(0.0005)
        os._exit(0)
    time.sleep(inputs["before"])
    return {"uid": os.getuid()}
`;

/** Live (not yet reaped zombie) processes of a uid. */
function liveTasksOf(uid: number): number {
  let live = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid && !/^State:\s+Z/m.test(status)) live++;
    } catch {
      // gone meanwhile
    }
  }
  return live;
}

describe('a script that outlives its run', () => {
  it('is gone when its run is recorded, and nothing it tries after the end lands', async () => {
    const created = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'trail',
      schema: {},
    });
    expect(created.status, created.text).toBe(201);
    const skill = await acme.skill(OUTLIVER, { collections: ['trail'] });
    const run = await acme.run(skill, { grace: 1, keep: 4 });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const { daemon, started } = run.output as { daemon: number; started: string };
    // Its daemon was killed with the job: it is gone as soon as the run is readable as ended.
    expect(stillRunning(daemon, started), `daemon ${daemon} survived its run`).toBe(false);

    // The daemon would have written from 1 s after its job's end for 4 s: look once that has passed.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const records = await api(HOSTS.acme, alice, 'GET', '/api/data/collections/trail/records');
    expect(records.status, records.text).toBe(200);
    const keys = (records.body.items as { key: string }[]).map((record) => record.key);
    // The channel works (the run's own write landed), and nothing after the run's end did.
    expect(keys).toEqual(['during']);
    await globex.stillServed();
  });

  it('cannot outlive it as a fork bomb that outruns the sweep of its processes', async () => {
    const skill = await acme.skill(FORK_BOMB);
    const run = await acme.run(skill, { live: 8, before: 1 });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const { uid } = run.output as { uid: number };
    // Jobs run under a uid of their own here (root): every process of it is the job's.
    expect(uid, 'the job ran under the platform’s own uid').not.toBe(process.getuid?.());
    // Killed one by one, the bomb's processes kept forking into the places freed and lived on for
    // seconds after the run was recorded; the job's cgroup is killed at once now.
    expect(liveTasksOf(uid), `processes of the job's uid ${uid} alive after its run`).toBe(0);
    await globex.stillServed();
  });
});

/** Every descriptor the script's process holds, by what it is (`pipe`, `socket`, a path…). */
const DESCRIPTORS = `
import os

def main(inputs, ctx):
    held = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the listing's own descriptor, closed by now
        if target.startswith("/proc/"):
            continue  # the listing's own descriptor
        held[name] = target.split(":", 1)[0] if target.startswith(("pipe:", "socket:", "anon_inode:")) else target
    return held
`;

describe('the descriptors a script inherits', () => {
  it('are its own pipes and /dev/null: no socket to the zygote, the host or Node, no file of theirs', async () => {
    const skill = await acme.skill(DESCRIPTORS);
    const run = await acme.run(skill);
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const held = run.output as Record<string, string>;
    // stdin is /dev/null; stdout and stderr, the job pipe and the result pipe are its own pipes.
    expect(held['0']).toBe('/dev/null');
    expect(Object.values(held).sort()).toEqual(['/dev/null', 'pipe', 'pipe', 'pipe', 'pipe']);
    await globex.stillServed();
  });
});

describe('an Idempotency-Key used by someone else', () => {
  it('is another user’s or another tenant’s own request, never a replay of someone else’s run', async () => {
    const key = unique('shared-key');
    const source = 'def main(inputs, ctx):\n    return {"n": inputs.get("n")}\n';
    const acmeSkill = await acme.skill(source);
    const globexSkill = await globex.runner.skill(source);
    const post = (host: string, token: string, skill: string) =>
      t.send({
        host,
        token,
        method: 'POST',
        path: `/api/skills/${skill}/executions`,
        body: { input: { n: 1 } },
        headers: { 'idempotency-key': key },
      });

    const alices = await post(HOSTS.acme, alice, acmeSkill);
    expect(alices.status, alices.text).toBe(202);
    const again = await post(HOSTS.acme, alice, acmeSkill);
    // The key does work: the same user's same request is answered with the same run.
    expect(again.body).toMatchObject({ id: alices.body.id, replayed: true });

    const bobs = await post(HOSTS.acme, bob, acmeSkill);
    expect(bobs.status, bobs.text).toBe(202);
    expect(bobs.body.replayed).toBe(false);
    expect(bobs.body.id).not.toBe(alices.body.id);

    const ginas = await post(HOSTS.globex, globex.token, globexSkill);
    expect(ginas.status, ginas.text).toBe(202);
    expect(ginas.body.replayed).toBe(false);
    expect([alices.body.id, bobs.body.id]).not.toContain(ginas.body.id);
    const ginasRun = await globex.runner.wait(String(ginas.body.id));
    expect(ginasRun.requestedBy).toBe('gina');
    expect(ginasRun.skillId).toBe(globexSkill);
    // Neither can read the other's run by the id it saw.
    const foreign = await api(HOSTS.globex, globex.token, 'GET', `/api/executions/${alices.body.id}`);
    expect(foreign.status).toBe(404);
    await globex.stillServed();
  });
});

describe('Prefer: wait, held open by the hundred', () => {
  const WAITS = 200;
  const RUN_SECONDS = 15;

  it('holds only a few of one tenant’s waits, and not another tenant’s waited run', {
    timeout: 90_000,
  }, async () => {
    const slow = await acme.skill(
      `import time\n\ndef main(inputs, ctx):\n    time.sleep(${RUN_SECONDS})\n    return 1\n`,
    );
    const key = unique('flood');
    const post = (headers: Record<string, string>) =>
      t.send({
        host: HOSTS.acme,
        token: alice,
        method: 'POST',
        path: `/api/skills/${slow}/executions`,
        body: { input: {} },
        headers: { 'idempotency-key': key, ...headers },
      });
    const first = await post({});
    expect(first.status, first.text).toBe(202);
    // Replaying one key makes no run: every wait is on the same one, and costs the tenant nothing.
    const floodStarted = performance.now();
    const flood = Array.from({ length: WAITS }, () =>
      post({ prefer: 'wait=20' }).then((answer) => ({ answer, ms: performance.now() - floodStarted })),
    );
    // Once the requests are in, another tenant's waited run, with its own wait applied.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const started = performance.now();
    const ginas = await t.send({
      host: HOSTS.globex,
      token: globex.token,
      method: 'POST',
      path: `/api/skills/${globex.skillId}/executions`,
      body: { input: {} },
      headers: { prefer: 'wait=20' },
    });
    const took = performance.now() - started;
    expect(ginas.status, ginas.text).toBe(200);
    expect(ginas.body.output).toEqual({ tenant: 'globex' });
    expect(took, `globex's waited run took ${Math.round(took)} ms`).toBeLessThan(5_000);

    const answers = await Promise.all(flood);
    for (const { answer } of answers) {
      // A burst this size may meet a store that is slow for a moment: the tenant's own requests are
      // then answered 503 with Retry-After, nothing else.
      expect([200, 202, 503], answer.text).toContain(answer.status);
      if (answer.status !== 503) expect(answer.body.id).toBe(first.body.id);
    }
    // The run ended after RUN_SECONDS: only the waits the tenant may hold lasted until then; the
    // others were answered at once, as waits whose time ran out.
    const held = answers.filter(({ ms }) => ms > (RUN_SECONDS - 4) * 1000).length;
    expect(held, `${held} of ${WAITS} waits were held`).toBeLessThanOrEqual(MAX_WAITS_PER_TENANT);
    expect(held).toBeGreaterThan(0);
    // A held wait lasts until the run ends (before its 20 s), so its answer is a 200 that says the
    // wait was applied; a 202 is a wait that was not held, and its answer does not claim it was.
    const unheld = answers.filter(({ answer }) => answer.status === 202);
    expect(unheld.length).toBeGreaterThan(0);
    for (const { answer } of unheld) expect(answer.headers['preference-applied']).toBeUndefined();
    expect(answers.some(({ answer }) => answer.headers['preference-applied'] === 'wait=20')).toBe(true);
    await globex.stillServed();
  });
});

/**
 * Fills a collection so that one query answers about a MiB, then writes call lines of its own on its
 * result pipe — each a query of that collection — and never reads the replies on its job pipe. Every
 * reply the worker relays for it is kept for the job until the job reads it: without a bound, a run's
 * worker holds a MiB for each such call (a run may make a thousand).
 */
const FLOODER = `
import fcntl, json, os, time

def main(inputs, ctx):
    bulk = ctx.data.collection("bulk")
    for i in range(16):
        bulk.put(f"r{i:02d}", "x" * inputs["size"])
    result = None
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                result = fd
        except OSError:
            pass
    for n in range(inputs["calls"]):
        data = (json.dumps({"call": 10**6 + n, "op": "data", "action": "query", "collection": "bulk"}) + "\\n").encode()
        while data:
            data = data[os.write(result, data):]
    time.sleep(inputs["hold"])
    return {"sent": inputs["calls"]}
`;

/** The peak resident memory (kB) of each local worker host of this process (python_host.py). */
function workerHostPeaks(): Map<number, number> {
  const peaks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('python_host.py')) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      peaks.set(Number(entry), Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0));
    } catch {
      // gone meanwhile
    }
  }
  return peaks;
}

describe('the ctx relay, flooded with calls whose replies are never read', () => {
  const CALLS = 300;
  /** A worker host's peak may grow by this much for the flood, far less than the replies' ~300 MiB. */
  const GROWTH_KB = 100 * 1024;

  it('keeps the worker’s memory bounded, and the run and other tenants unharmed', {
    timeout: 120_000,
  }, async () => {
    const created = await api(HOSTS.acme, alice, 'POST', '/api/data/collections', {
      name: 'bulk',
      schema: {},
    });
    expect(created.status, created.text).toBe(201);
    const skill = await acme.skill(FLOODER, { collections: ['bulk'] });
    // A warm-up run, so that the host which will run the flood exists and has its own peak.
    const warm = await acme.run(skill, { size: 60_000, calls: 0, hold: 0 });
    expect(warm.status, JSON.stringify(warm.error ?? warm.logs)).toBe('succeeded');
    const before = workerHostPeaks();
    expect(before.size).toBeGreaterThan(0);
    const run = await acme.run(skill, { size: 60_000, calls: CALLS, hold: 20 });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    const after = workerHostPeaks();
    for (const [pid, peak] of after) {
      const grew = peak - (before.get(pid) ?? 0);
      expect(grew, `worker host ${pid} grew by ${grew} kB (peak ${peak} kB)`).toBeLessThan(GROWTH_KB);
    }
    await globex.stillServed();
  });
});
