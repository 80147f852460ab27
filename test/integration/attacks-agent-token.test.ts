/**
 * A script run by a real `execfabric agent` (the CLI as a child process, the real Python host and
 * Sandbox, against the real local platform) tries, from inside its run, to obtain the agent's token,
 * a lease, or a signed-in user's session — everything a script's writer (an operator) could try on
 * the agent owner's (an admin's) machine:
 *
 * - `/proc/<pid>/environ`, `cmdline`, `maps`, `mem` and `fd/*` of every ancestor up to the agent's
 *   Node process (and `environ`/`cmdline` of every process on the machine), reading what is there
 *   and scanning the agent's whole readable memory for the token and for leases;
 * - the pipes and sockets it finds in those `fd/*` folders: opened for writing and fed a forged
 *   outcome, as if the host had reported one;
 * - its own environment, and protocol lines printed on its own stdout;
 * - the `--token-file` (its path read from the agent's command line) and the agent's config folder
 *   (`$XDG_CONFIG_HOME/execfabric/config.json`, holding a signed-in user's session).
 *
 * Each attack runs with the agent as root (the runtime drops each job to a uid of its own) and as an
 * unprivileged user, uid 65534, as a developer runs it (the job shares the agent's uid); in both the
 * zygote is process 1 of a pid namespace of its own, so the walk up the parents ends at once, and
 * only where no user namespace can be made does it reach the agent's process. The run's
 * stored output and logs are then checked for the token, the leases and the session as well.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN } from '../support/cli.ts';
import { type ForwardingProxy, startForwardingProxy } from '../support/forwarding-proxy.ts';
import type { TestResponse } from '../support/http.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'agent-token-attacks-password';
/** The unprivileged user the agent runs as in the developer's case. */
const NOBODY = 65534;
/** A Python every user can run (the test's own interpreter may live under /root). */
const SYSTEM_PYTHON = '/usr/bin/python3';
const SETPRIV = '/usr/bin/setpriv';

let t: TestPlatform;
let alice: string;
let proxy: ForwardingProxy | undefined;
let proxyPort: number;
/** Every lease the platform handed an agent, read off the poll answers on their way. */
const leases: string[] = [];
const agents: ChildProcess[] = [];
const scratch: string[] = [];

const acme = (path: string, init: { method?: string; body?: unknown } = {}) =>
  t.send({ host: 'acme.localhost', path, token: alice, ...init });

/**
 * The attacking script. It knows nothing but what it can find: the agent's pid by walking up its
 * parents, the token file's path from the agent's command line, the usual place of the config folder.
 */
const PROBE = String.raw`import errno
import json
import os
import re

SECRET = re.compile(rb"efa_[A-Za-z0-9_-]{16,}|efcanary_[A-Za-z0-9]+")
LEASE = re.compile(rb'"lease":"([A-Za-z0-9_-]{40,})"')
MEM_CAP = 1 << 30


def why(error):
    return errno.errorcode.get(error.errno, str(error.errno)) if isinstance(error, OSError) else type(error).__name__


def main(inputs, ctx):
    hits = {}
    readable = {"environ": [], "cmdline": 0}

    def scan(where, data):
        for match in SECRET.finditer(data):
            hits.setdefault(match.group(0).decode("ascii", "replace"), where)
        for match in LEASE.finditer(data):
            hits.setdefault("lease:" + match.group(1).decode("ascii"), where)

    def read(path, limit=1 << 20):
        with open(path, "rb") as handle:
            return handle.read(limit)

    def attempt(path, where):
        try:
            data = read(path)
        except Exception as error:  # noqa: BLE001
            return why(error)
        scan(where, data)
        return "read"

    # Every process on the machine: environment and command line.
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            scan(f"/proc/{entry}/environ", read(f"/proc/{entry}/environ"))
            readable["environ"].append(int(entry))
        except Exception:  # noqa: BLE001
            pass
        try:
            scan(f"/proc/{entry}/cmdline", read(f"/proc/{entry}/cmdline"))
            readable["cmdline"] += 1
        except Exception:  # noqa: BLE001
            pass

    # Up the parents to pid 1, each tried in every way.
    ancestors = []
    token_files = []
    forged = json.dumps({"type": "outcome", "id": ctx.execution_id, "outcome": {"status": "succeeded", "output": {"forged": True}, "error": None, "stdout": "", "stderr": "", "truncated": False}}) + "\n"
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except FileNotFoundError:
            # The job's own procfs (hidepid=2) shows it no other process: no parent to walk.
            ancestors.append({"pid": pid, "comm": "", "hidden": True})
            break
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        found = {"pid": pid, "comm": comm}
        found["environ"] = attempt(f"/proc/{pid}/environ", f"ancestor {comm} environ")
        try:
            argv = read(f"/proc/{pid}/cmdline").split(b"\0")
            found["cmdline"] = "read"
            for index, arg in enumerate(argv[:-1]):
                if arg == b"--token-file":
                    token_files.append(argv[index + 1].decode())
                elif arg.startswith(b"--token-file="):
                    token_files.append(arg.split(b"=", 1)[1].decode())
        except Exception as error:  # noqa: BLE001
            found["cmdline"] = why(error)
        try:
            maps = read(f"/proc/{pid}/maps", 1 << 24).decode("ascii", "replace").splitlines()
            found["maps"] = "read"
        except Exception as error:  # noqa: BLE001
            maps = []
            found["maps"] = why(error)
        try:
            total = 0
            with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
                for line in maps:
                    fields = line.split()
                    if len(fields) < 2 or not fields[1].startswith("r") or line.endswith(("[vvar]", "[vsyscall]", "[vvar_vclock]")):
                        continue
                    start, end = (int(value, 16) for value in fields[0].split("-"))
                    while start < end and total < MEM_CAP:
                        size = min(end - start, 4 << 20)
                        try:
                            mem.seek(start)
                            chunk = mem.read(size)
                        except OSError:
                            break
                        total += len(chunk)
                        scan(f"ancestor {comm} memory", chunk)
                        start += size
            found["mem"] = f"read {total} bytes" if total else "nothing readable"
        except Exception as error:  # noqa: BLE001
            found["mem"] = why(error)
        try:
            links = {}
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    links[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError as error:
                    links[fd] = why(error)
            found["fd"] = links
            opened = {}
            for fd, link in links.items():
                if not link.startswith(("pipe:", "socket:", "/")):
                    continue
                try:
                    handle = os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
                except OSError as error:
                    opened[fd] = why(error)
                    continue
                try:
                    opened[fd] = f"wrote {os.write(handle, forged.encode())}"
                except OSError as error:
                    opened[fd] = "opened, " + why(error)
                finally:
                    os.close(handle)
                if link.startswith("/"):
                    opened[fd + ":read"] = attempt(f"/proc/{pid}/fd/{fd}", f"ancestor {comm} fd {fd}")
            found["fdOpen"] = opened
        except Exception as error:  # noqa: BLE001
            found["fd"] = why(error)
        ancestors.append(found)
        pid = parent

    files = {path: attempt(path, "token file") for path in token_files}
    for path in inputs.get("configGuesses", []):
        files[path] = attempt(path, "config file")
    # Where the command line could not be read, the token file is tried by the path a writer would guess.
    for path in inputs.get("tokenGuesses", []):
        files.setdefault(path, attempt(path, "token file"))

    # Protocol lines on the script's own stdout, and its own environment.
    print(forged, end="")
    print(json.dumps({"type": "ready"}))
    return {
        "probe": True,
        "uid": os.getuid(),
        "parent": os.getppid(),
        "ownEnviron": sorted(os.environ),
        "readableEnviron": readable["environ"],
        "ancestors": ancestors,
        "tokenFiles": token_files,
        "files": files,
        "hits": hits,
    }
`;

async function until(id: string, agent: ChildProcess, seconds = 90): Promise<TestResponse['body']> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (agent.exitCode !== null) return (await acme(`/api/executions/${id}`)).body;
    const run = (await acme(`/api/executions/${id}`)).body;
    if (['succeeded', 'failed', 'timed_out', 'killed', 'cancelled'].includes(run.status)) return run;
    if (Date.now() > deadline) return run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A folder outside /tmp, /home and /root (which the runtime's private view replaces). */
function folder(uid: number): string {
  const path = mkdtempSync('/opt/execfabric-agent-token-');
  scratch.push(path);
  chmodSync(path, 0o700);
  chownSync(path, uid, uid);
  return path;
}

/**
 * Runs a command as uid 65534 in a user namespace of its own where it may make no further user
 * namespace — a machine whose kernel refuses unprivileged user namespaces (Ubuntu's AppArmor
 * restriction, `user.max_user_namespaces=0`): the runtime is left with its seccomp rung, and a job
 * shares the agent's uid *and* user namespace. The process that runs the command is this one.
 */
const WITHOUT_USERNS = String.raw`import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
unshared, mapped = os.pipe(), os.pipe()
me = os.getpid()
if os.fork() == 0:
    os.read(unshared[0], 1)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{me}/{name}", "w") as handle:
            handle.write("0 0 65535\n")
    os.write(mapped[1], b"m")
    os._exit(0)
if libc.unshare(0x10000000) != 0:
    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
os.write(unshared[1], b"u")
os.read(mapped[0], 1)
os.wait()
with open("/proc/sys/user/max_user_namespaces", "w") as handle:
    handle.write("0")
# The machine's own /tmp, shared with root's platform: its /tmp/execfabric-jobs is root's, so this
# user's zygote keeps its jobs in /tmp/execfabric-jobs-65534 (a private /tmp here hid the clone when
# it lay under /tmp, as a CI's may).
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
os.execv(sys.argv[1], sys.argv[1:])
`;

interface Case {
  /** root; uid 65534 (user namespaces: the `userns` rung); uid 65534 without them (`seccomp`). */
  readonly user: 'root' | 'unprivileged' | 'unprivileged, no user namespaces';
  readonly source: 'env' | 'file';
}

const root = process.getuid?.() === 0;
const cases: Case[] = (['root', 'unprivileged', 'unprivileged, no user namespaces'] as const).flatMap(
  (user) => (['env', 'file'] as const).map((source) => ({ user, source })),
);

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  alice = await t.login('acme.localhost', 'alice');
  proxy = await startForwardingProxy({
    port: t.platform.port,
    host: `acme.localhost:${t.platform.port}`,
    onAnswer: (_incoming, answer) => {
      const lease = /"lease":"([^"]+)"/.exec(answer.text)?.[1];
      if (lease !== undefined) leases.push(lease);
      return false;
    },
  });
  proxyPort = proxy.port;
});

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null) child.kill('SIGKILL');
  proxy?.close();
  await t?.stop();
  for (const path of scratch) rmSync(path, { recursive: true, force: true });
});

describe.each(cases)('a script run by the agent ($user, token from $source)', ({ user, source }) => {
  // The machine runs its tests as root; an unprivileged agent needs setpriv and a Python that
  // uid 65534 can run. Not root at all: the "root" cases are the test's own user, as a developer.
  const skip = user !== 'root' && !root;
  it.skipIf(skip)(
    'gets neither the token, a lease nor a session',
    async () => {
      const uid = user === 'root' && root ? 0 : root ? NOBODY : (process.getuid?.() ?? 0);
      const name = `probe-${user.replace(/\W+/g, '-')}-${source}`;
      const created = await acme('/api/agents', { method: 'POST', body: { name } });
      expect(created.status, created.text).toBe(201);
      const token = String(created.body.token);

      const home = folder(uid);
      // A signed-in user's session in the agent's config folder, where the CLI keeps it.
      const session = `efcanary_session${Date.now()}`;
      const config = join(home, 'config', 'execfabric');
      mkdirSync(config, { recursive: true });
      writeFileSync(
        join(config, 'config.json'),
        JSON.stringify({
          current: 'acme',
          profiles: { acme: { host: 'https://acme.example', token: session } },
        }),
        { mode: 0o600 },
      );
      const tokenFile = join(home, 'agent.token');
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
      for (const path of [join(home, 'config'), config, join(config, 'config.json'), tokenFile])
        chownSync(path, uid, uid);

      const script = await acme('/api/assets/scripts', {
        method: 'POST',
        body: { name: `${name}-${Date.now()}`, source: PROBE },
      });
      expect(script.status, script.text).toBe(201);
      const skill = await acme('/api/skills', {
        method: 'POST',
        body: {
          name: `Probe ${name} ${Date.now()}`,
          inputSchema: { type: 'object' },
          outputSchema: { type: 'object' },
          risk: 'low',
          asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: name },
          limits: { timeoutSeconds: 60, memoryMb: 512 },
        },
      });
      expect(skill.status, skill.text).toBe(201);

      const args = [CLI_BIN, 'agent', '--name', name, '--host', `http://acme.localhost:${proxyPort}`];
      if (source === 'file') args.push('--token-file', tokenFile);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
        NO_COLOR: '1',
        EXECFABRIC_PYTHON: SYSTEM_PYTHON,
        ...(source === 'env' ? { EXECFABRIC_AGENT_TOKEN: token } : {}),
      };
      const options: SpawnOptions = { env, stdio: ['ignore', 'pipe', 'pipe'] };
      const child: ChildProcess =
        uid !== NOBODY
          ? spawn(process.execPath, args, options)
          : user === 'unprivileged'
            ? spawn(
                SETPRIV,
                [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', process.execPath, ...args],
                options,
              )
            : spawn(SYSTEM_PYTHON, ['-c', WITHOUT_USERNS, process.execPath, ...args], options);
      agents.push(child);
      let log = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
      });

      const requested = await acme(`/api/skills/${skill.body.id}/executions`, {
        method: 'POST',
        body: {
          input: {
            configGuesses: [join(config, 'config.json'), join(home, '.config/execfabric/config.json')],
            ...(source === 'file' ? { tokenGuesses: [tokenFile] } : {}),
          },
        },
      });
      expect(requested.status, requested.text).toBe(202);
      const run = await until(String(requested.body.id), child);
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise((exited) => (child.exitCode === null ? child.once('exit', exited) : exited(null)));
      clearTimeout(killer);
      expect(run.status, `${JSON.stringify(run)}\n${log}`).toBe('succeeded');

      const report = run.output as {
        probe: boolean;
        uid: number;
        parent: number;
        ownEnviron: string[];
        readableEnviron: number[];
        ancestors: { pid: number; comm: string; [attack: string]: unknown }[];
        tokenFiles: string[];
        files: Record<string, string>;
        hits: Record<string, string>;
      };
      const described = JSON.stringify(report, null, 1);
      // The run's result is the script's own, not an outcome it forged through a pipe or its stdout.
      expect(report.probe, described).toBe(true);
      expect(report.uid === 0).toBe(false);

      // The script's own environment holds nothing of the agent's.
      expect(report.ownEnviron).not.toContain('EXECFABRIC_AGENT_TOKEN');
      expect(report.ownEnviron).not.toContain('XDG_CONFIG_HOME');

      // Wherever namespaces can be made (root, or a user namespace of the zygote's own), the job is in
      // its zygote's pid namespace, whose process 1 the zygote is: its parent is pid 1, nothing above
      // it can be named, and its procfs (hidepid=2) shows no other process; the attacks on the
      // agent's process below are then moot.
      const contained = user !== 'unprivileged, no user namespaces';
      if (contained) {
        expect(report.parent, described).toBe(1);
        expect(report.ancestors, described).toEqual([]);
        expect(report.readableEnviron, described).toEqual([]);
        expect(report.tokenFiles, described).toEqual([]);
      }
      // Otherwise it found the agent's Node process walking up its parents, and got nothing out of it.
      else {
        const agent = report.ancestors.find((ancestor) => ancestor.comm === 'node');
        expect(agent?.pid, described).toBe(child.pid);
        expect(agent, described).toBeDefined();
        expect(agent?.environ, described).not.toBe('read');
        expect(agent?.maps, described).not.toBe('read');
        expect(String(agent?.mem), described).not.toMatch(/^read/);
        const links = typeof agent?.fd === 'object' ? Object.values(agent.fd as Record<string, string>) : [];
        for (const link of links) expect(link, described).not.toMatch(/:|\//); // refused: no link read
        expect(report.readableEnviron, described).not.toContain(child.pid);
      }
      // No ancestor's descriptor took a forged line.
      for (const ancestor of report.ancestors)
        for (const outcome of Object.values((ancestor.fdOpen ?? {}) as Record<string, string>))
          expect(outcome, described).not.toMatch(/^wrote|^read|^opened/);

      // The token file (its path is on the agent's command line) and the config folder: closed to a
      // job of its own uid (root), and hidden from a job of the agent's uid wherever the runtime can
      // hide a folder (user namespaces): the agent names both folders to its host. Readable only
      // where nothing can be hidden (no user namespaces) — a gap, docs/decisions/agents.md.
      if (source === 'file' && !contained) expect(report.tokenFiles, described).toEqual([tokenFile]);
      if (source === 'file') expect(Object.keys(report.files), described).toContain(tokenFile);
      const reached = Object.entries(report.files).filter(([, outcome]) => outcome === 'read');
      if (user !== 'unprivileged, no user namespaces') expect(reached, described).toEqual([]);
      const fromFiles = new Set(['token file', 'config file']);

      // Nothing secret anywhere else it could read, nor in what the platform stored of the run.
      expect(
        Object.entries(report.hits).filter(([, where]) => !fromFiles.has(where)),
        described,
      ).toEqual([]);
      // (The stored output carries what the script read of the files, where it read them.)
      const stored = JSON.stringify(run);
      if (reached.length === 0) {
        expect(stored).not.toContain(token);
        expect(stored).not.toContain(session);
      }
      expect(leases.length).toBeGreaterThan(0);
      for (const lease of leases) expect(stored).not.toContain(lease);
      const chunks = await acme(`/api/executions/${requested.body.id}/logs`);
      for (const lease of leases) expect(chunks.text).not.toContain(lease);
      if (reached.length === 0) expect(chunks.text).not.toContain(token);
    },
    180_000,
  );
});
