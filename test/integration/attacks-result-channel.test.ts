/**
 * An attacker's pass from inside a tenant's script at the two channels its own process holds: the
 * result pipe and the ctx-call lines on it. Every byte there is the tenant's word.
 *
 * - A result line holding `NaN` (Python's parser takes it; nothing after the worker can encode it)
 *   made the worker fail to send the result: the run ended `failed / WorkerLost` at the redelivery,
 *   its logs were gone and its `ctx.http` credential use was never audited.
 * - A line saying `killed` by a limit (or any status but succeeded and failed) is the platform's to
 *   observe, not the job's to say.
 * - A ctx call holding `NaN` was relayed; the local host wrote a line Node could not read, Node logged
 *   that whole line (the run's sealed data grant, up to 2 MiB) and never answered, and every later call
 *   of the run waited for its deadline.
 * - A script that sent its own process SIGXCPU or SIGXFSZ (`os.kill(os.getpid(), …)`) was recorded
 *   killed by its CPU or file-size limit: the sandbox read the signal as the limit.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantedResource } from '../support/http-resources.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-result-channel-password';
const CREDENTIAL = 'sk-result-channel-4f1d9a7c';

/** The job's own pipes: the result pipe (write-only) and the job pipe (read-only), found as an attacker finds them. */
const PIPES = `import fcntl, json, os, time

def pipes():
    found = {}
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd in (0, 1, 2):
            continue
        try:
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            continue
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            found["result" if mode == os.O_WRONLY else "job"] = fd
    return found
`;

/** F1: the credential goes out through ctx.http, then a result line the worker could not encode. */
const NAN_RESULT = `${PIPES}
def main(inputs, ctx):
    ctx.http(inputs["resource"], "GET", "/marker")
    os.write(pipes()["result"], b'{"status":"succeeded","output":NaN}\\n')
    os._exit(0)
`;

/** A line claiming a limit kill, then leaving. */
const FORGED_KILL = `${PIPES}
def main(inputs, ctx):
    line = {"status": "killed", "error": {"type": "LimitExceeded", "message": "the script used too much memory", "limit": "memory"}}
    os.write(pipes()["result"], json.dumps(line).encode() + b"\\n")
    os._exit(0)
`;

/** A limit's signal, sent by the script to itself (and, if refused, from a thread, then a child). */
const SIGNALLED_KILL = `import os, signal, subprocess, threading, time
def main(inputs, ctx):
    sig = getattr(signal, inputs["signal"])
    refused = []
    for send in (
        lambda: os.kill(os.getpid(), sig),
        lambda: signal.raise_signal(sig),
        lambda: subprocess.run(["kill", "-%d" % sig, str(os.getpid())], check=True),
    ):
        try:
            send()
            time.sleep(0.5)
        except (OSError, subprocess.CalledProcessError) as error:
            refused.append(type(error).__name__)
    raise PermissionError("every way was refused: " + ", ".join(refused))
`;

/** F2: a raw data call holding NaN and 1.5 MB, its reply read by hand, then an ordinary call. */
const NAN_CALL = `${PIPES}
def main(inputs, ctx):
    fds = pipes()
    call = '{"call":900001,"op":"data","collection":"%s","action":"put","key":"k","json":"%s","expectedVersion":NaN}' % (
        inputs["collection"], "Q" * 1_500_000)
    os.write(fds["result"], call.encode() + b"\\n")
    reply = b""
    while not reply.endswith(b"\\n"):
        reply += os.read(fds["job"], 65536)
    ctx.data.collection(inputs["collection"]).put("after", {"n": 1})
    return {"reply": json.loads(reply), "after": ctx.data.collection(inputs["collection"]).get("after").value}
`;

let t: TestPlatform;
let admin: string;
let acme: Runner;
const logged: string[] = [];
let upstream: Server;
let upstreamHits = 0;
let resource: string;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD, { log: (line: string) => logged.push(line) });
  admin = await t.login(HOSTS.admin, 'admin');
  const alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  upstream = createServer((_request, response) => {
    upstreamHits++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"marker":true}');
  }).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  resource = await grantedResource(t, admin, {
    name: unique('marker'),
    baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    paths: ['/marker'],
    credential: CREDENTIAL,
  });
}, 120_000);

afterAll(async () => {
  upstream?.close();
  await t?.stop();
});

describe('a script writing on the channels its own process holds', { timeout: 120_000 }, () => {
  it('cannot lose its run to WorkerLost with a NaN result, and its credential use is audited', async () => {
    const skill = await acme.skill(NAN_RESULT, { egress: [resource] });
    const hitsBefore = upstreamHits;
    const run = await acme.run(skill, { resource });
    expect(upstreamHits).toBe(hitsBefore + 1); // the credential went out
    expect(run.status, JSON.stringify(run)).toBe('failed');
    // The line is the script's (written after it started): a RunnerError is the platform runner's alone.
    expect(run.error.type).toBe('ScriptError');
    expect(run.error.message).toMatch(/the script's result line is malformed/);
    const audit = await t.send({
      host: HOSTS.admin,
      token: admin,
      method: 'GET',
      path: '/api/audit?limit=100',
    });
    const uses = audit.body.items.filter(
      (entry: { action: string; details: { executionId?: string; via?: string } }) =>
        entry.action === 'http-resource.credential.used' && entry.details.executionId === run.id,
    );
    expect(uses.map((entry: { details: { via?: string; path?: string } }) => entry.details)).toEqual([
      expect.objectContaining({ via: 'ctx.http', path: '/marker' }),
    ]);
  });

  it('cannot make its run show a limit kill the platform did not see', async () => {
    const skill = await acme.skill(FORGED_KILL);
    const run = await acme.run(skill);
    expect(run.status, JSON.stringify(run)).toBe('failed');
    expect(run.error.type).toBe('ScriptError');
    expect(run.error.limit).toBeUndefined();
    expect(run.error.message).toMatch(/malformed/);
  });

  it('cannot make its run show a CPU or file-size kill by sending itself the limit’s signal', async () => {
    const skill = await acme.skill(SIGNALLED_KILL);
    for (const signal of ['SIGXCPU', 'SIGXFSZ']) {
      const run = await acme.run(skill, { signal });
      expect(run.status, JSON.stringify(run)).toBe('failed');
      expect(run.error.limit).toBeUndefined();
      expect(['PermissionError', 'ScriptError']).toContain(run.error.type);
    }
  });

  it('cannot stall its run with a NaN call, nor flood the platform log with it', async () => {
    const collection = unique('c').replaceAll('-', '_');
    const made = await t.send({
      host: HOSTS.acme,
      token: await t.login(HOSTS.acme, 'alice'),
      method: 'POST',
      path: '/api/data/collections',
      body: { name: collection, description: 'scratch', schema: { type: 'object' } },
    });
    expect(made.status, made.text).toBe(201);
    const skill = await acme.skill(NAN_CALL, { collections: [collection], limits: { timeoutSeconds: 30 } });
    const logBefore = logged.length;
    const began = Date.now();
    const run = await acme.run(skill, { collection });
    expect(run.status, JSON.stringify(run).slice(0, 500)).toBe('succeeded');
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(run.output.reply).toMatchObject({ reply: 900001, ok: false, error: { type: 'CallRefused' } });
    expect(run.output.after).toEqual({ n: 1 });
    const lines = logged.slice(logBefore);
    expect(lines.filter((line) => line.length > 2_000)).toEqual([]);
    expect(lines.join('\n')).not.toMatch(/QQQQQQQQ|"grant"/);
  });
});
