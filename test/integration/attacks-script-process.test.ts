/**
 * A tenant's script against the other tenants' runs on the same local platform (the same Python
 * hosts, the same machine), through the real API: acme's script leaves what it can wherever it can
 * (its folder, every shared temporary folder, its home, the module cache, builtins, the environment,
 * the interpreter's own packages) and stays running; globex's script, run meanwhile and then after,
 * looks for all of it, probes every process it can see with signal 0 (never a real signal: the
 * machine is shared) and reads their `/proc` entries. Nothing of acme's is found, no process but
 * its own can be signalled, and no other process's environment, memory map or descriptors can be
 * read. Each Python host's zygote is process 1 of a pid namespace of its own, and each job has a
 * procfs of that namespace, mounted `hidepid=2`: it lists no other process at all (with the host's
 * /proc it read every process's command line, another job's arguments included). Nor can it name a
 * process of the machine: kill(pid, 0) over every pid answers only for its own tenant's sandbox
 * (in the host's numbering it told 109 live processes apart from free pids), and the pids its forks
 * get do not move with acme's runs. Nor does globex's script find any cgroup under /sys (with the host's it read
 * every job's `cgroup.procs`, live memory usage and limit): with a mount namespace a job has no /sys,
 * while its own memory group, joined and limited before, still caps it. Its own group reads `/` from
 * inside (a cgroup namespace of its own); the test finds it in its job group from the host's side.
 */
import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'attacks-script-process-password';
const MARK = 'acme-residue-5e1f0c';

const PLANTER = `
import builtins, json, os, sys, tempfile, time

def main(inputs, ctx):
    mark = inputs["mark"]
    planted = []
    places = [os.getcwd(), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"),
              os.path.dirname(json.__file__), os.path.dirname(os.path.dirname(__import__("execfabric").__file__))]
    for folder in places:
        try:
            with open(os.path.join(folder, mark + ".txt"), "w") as handle:
                handle.write(mark)
            planted.append(folder)
        except OSError:
            pass
    json.planted = mark
    builtins.planted = mark
    os.environ["PLANTED"] = mark
    sys.modules["planted_" + mark.replace("-", "_")] = type(sys)("planted")
    time.sleep(inputs["stay"])
    return {"planted": planted, "pid": os.getpid()}
`;

const SEEKER = `
import builtins, glob, json, os, sys, time

def main(inputs, ctx):
    mark = inputs["mark"]
    found = []
    for folder in ["/", "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd(),
                   os.path.dirname(json.__file__), os.path.dirname(os.path.dirname(__import__("execfabric").__file__))]:
        found += glob.glob(os.path.join(folder, "**", mark + "*"), recursive=True) if folder != "/" else glob.glob("/*/" + mark + "*")
    found = [path for path in found if "own-" + mark not in path]
    if getattr(json, "planted", None) or getattr(builtins, "planted", None):
        found.append("module state")
    if os.environ.get("PLANTED"):
        found.append("environment")
    found += [name for name in sys.modules if mark.replace("-", "_") in name]
    # Controls: the probes do find what is there (its own file, its own child).
    with open(os.path.join(os.getcwd(), "own-" + mark + ".txt"), "w") as handle:
        handle.write("own")
    own_found = glob.glob(os.path.join(os.getcwd(), "**", "own-" + mark + "*"), recursive=True) != []
    child = os.fork()
    if child == 0:
        time.sleep(2)
        os._exit(0)
    os.kill(child, 0)
    own_child = True
    me = os.getpid()
    signalled, readable, named, seen = [], [], [], 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, child):
            continue
        seen += 1
        pid = int(entry)
        try:
            os.kill(pid, 0)
            signalled.append(pid)
        except OSError:
            pass
        for part in ("environ", "maps", "mem", "fd/0"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as handle:
                    if handle.read(64):
                        readable.append(f"{pid}/{part}")
            except OSError:
                pass
        # Command lines are world-readable on Linux; what matters is that none names acme's run.
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
            named += [f"{pid} names {needle[:6]}" for needle in inputs["needles"] if needle in text]
        except OSError:
            pass
    os.kill(child, 9)
    os.waitpid(child, 0)
    return {"own": [own_found, own_child], "found": found, "signalled": signalled, "readable": readable, "named": named, "seen": seen}
`;

/** Holds 100 MB in its memory group while it sleeps. */
const HOLDER = `
import time

def main(inputs, ctx):
    block = bytearray(100 * 1024 * 1024)
    for index in range(0, len(block), 4096):
        block[index] = 1
    time.sleep(inputs["stay"])
    return len(block) // (1024 * 1024)
`;

/**
 * Every cgroup it can find under /sys: groups of jobs and zygotes, and any group holding a process not
 * its own; and the group it reads for itself. Then it stays a moment, to be found from outside.
 */
const GROUP_SEEKER = `
import glob, os, time

def main(inputs, ctx):
    me = str(os.getpid())
    groups = glob.glob("/sys/fs/cgroup/**/job-*", recursive=True) + glob.glob("/sys/fs/cgroup/**/execfabric-*", recursive=True)
    others = []
    for path in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True):
        try:
            with open(path) as handle:
                if any(pid != me for pid in handle.read().split()):
                    others.append(path)
        except OSError:
            pass
    with open("/proc/self/cgroup") as handle:
        own = [line.split(":", 2)[2] for line in handle.read().splitlines() if "memory" in line.split(":", 2)[1].split(",") or line.startswith("0::")]
    time.sleep(inputs["stay"])
    return {"groups": groups[:10], "others": others[:10], "sys": sorted(os.listdir("/sys")), "own": own, "cpus": os.cpu_count(), "pid": os.getpid(), "uid": os.getuid()}
`;

/**
 * Every pid it can name (kill(pid, 0): EPERM for a live process not its own, ESRCH for a free pid) over
 * the machine's whole pid range, what getpriority and sched_getaffinity say of the given host pids,
 * and the pid a fork of its gets before and after a pause (acme runs jobs meanwhile).
 */
const PID_SPY = `
import errno, os, time

def answer(call):
    try:
        call()
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]

def fork_pid():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid

def main(inputs, ctx):
    first = fork_pid()
    time.sleep(inputs["stay"])
    last = fork_pid()
    named = [pid for pid in range(1, inputs["pidMax"]) if answer(lambda: os.kill(pid, 0)) != "ESRCH"]
    host = {str(pid): [answer(lambda: os.kill(pid, 0)), answer(lambda: os.getpriority(os.PRIO_PROCESS, pid)),
                       answer(lambda: os.sched_getaffinity(pid))] for pid in inputs["hostPids"]}
    return {"me": os.getpid(), "named": named, "host": host, "forks": [first, last]}
`;

/** A process's real uid, as the host's /proc tells it (a job's is its own); '' once it is gone. */
function realUid(pid: string): string {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Uid:'));
    return line?.split(/\s+/)[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * The platform's job groups as the host sees them (`…/execfabric-<ns>-<pid>/job-<pid>`, the job's pid
 * in its zygote's pid namespace), with the real uid of each process in each.
 */
function jobGroupsOnHost(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (folder: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(folder, entry.name);
      if (/\/execfabric-[^/]+\/job-\d+$/.test(path)) {
        try {
          const pids = readFileSync(join(path, 'cgroup.procs'), 'utf8').split(/\s+/).filter(Boolean);
          found.set(path, pids.map(realUid));
        } catch {
          // gone meanwhile
        }
      } else if (depth < 8) {
        walk(path, depth + 1);
      }
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/**
 * The machine's load as /proc tells it (load averages, stall times, per-CPU time, forks since boot,
 * paging, interrupts, disks, every file lock with its holder's pid; the kernel's boot arguments), twice, a moment apart; then every way it knows to get the host's files
 * back: unmount or remount the masks, write them, or do so in a user (and pid) namespace of its own.
 */
const LOAD_SEEKER = `
import ctypes, errno, os, time

FILES = ("loadavg", "stat", "uptime", "vmstat", "interrupts", "softirqs", "diskstats", "locks", "cmdline")
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        return type(error).__name__

def view():
    seen = {name: read("/proc/" + name) for name in FILES}
    seen["pressure"] = sorted(os.listdir("/proc/pressure")) if os.path.isdir("/proc/pressure") else []
    seen["pressure/cpu"] = read("/proc/pressure/cpu")
    for folder in ("irq", "fs"):  # per-IRQ counts; each disk's ext4 free blocks and extent-cache hits
        seen[folder] = sorted(os.listdir("/proc/" + folder)) if os.path.isdir("/proc/" + folder) else []
    return seen

def attempt(action):
    try:
        result = action()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    return errno.errorcode.get(ctypes.get_errno(), "?") if result != 0 else "ok"

def undo(prefix):
    tried = {}
    for target in (b"/proc/loadavg", b"/proc/stat", b"/proc/pressure", b"/proc/irq", b"/proc/fs", b"/proc"):
        tried[prefix + "umount " + target.decode()] = attempt(lambda: libc.umount2(target, 2))
    tried[prefix + "remount rw"] = attempt(lambda: libc.mount(None, b"/proc/loadavg", None, 32 | 4096, None))
    tried[prefix + "write"] = attempt(lambda: open("/proc/loadavg", "w").write("9") and 0)
    return tried

def in_namespaces(flags, prefix):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        tried = {prefix + "unshare": attempt(lambda: libc.unshare(flags))}
        if tried[prefix + "unshare"] == "ok":
            tried.update(undo(prefix))
            folder = os.path.join(os.environ["TMPDIR"], "proc")
            os.makedirs(folder, exist_ok=True)
            tried[prefix + "mount proc"] = attempt(lambda: libc.mount(b"proc", folder.encode(), b"proc", 0, None))
        os.write(write_end, repr(tried).encode())
        os._exit(0)
    os.close(write_end)
    data = os.read(read_end, 65536)
    os.waitpid(pid, 0)
    return eval(data)

def main(inputs, ctx):
    first = view()
    time.sleep(inputs["gap"])
    second = view()
    tried = undo("")
    tried.update(in_namespaces(0x10000000 | 0x00020000, "userns "))
    tried.update(in_namespaces(0x10000000 | 0x00020000 | 0x20000000, "userns+pid "))
    return {"first": first, "second": second, "tried": tried, "after": view(), "cpus": os.cpu_count()}
`;

/** Spins on every CPU for a while: load for the seeker to see. */
const SPINNER = `
import os, time

def main(inputs, ctx):
    end = time.time() + inputs["stay"]
    children = []
    for _ in range(os.cpu_count() or 1):
        pid = os.fork()
        if pid == 0:
            while time.time() < end:
                pass
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return "spun"
`;

/** Four processes of 100 MB each: none alone is over a 256 MB limit, the tree is. */
const HOG = `
import os, time

def main(inputs, ctx):
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = bytearray(100 * 1024 * 1024)
            for index in range(0, len(block), 4096):
                block[index] = 1
            time.sleep(5)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return "survived"
`;

/** Watches the machine while another tenant works: every channel an attack pass read activity through. */
const MACHINE_WATCHER = `
import ctypes, os, socket, struct, time

def read(path):
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError as error:
        return "unreadable: " + type(error).__name__

def main(inputs, ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    seen = {"loads": set(), "procs": set(), "file-nr": set(), "pty-nr": set()}
    deadline = time.time() + inputs["watch"]
    while time.time() < deadline:
        buffer = ctypes.create_string_buffer(112)
        libc.sysinfo(buffer)
        seen["loads"].add(struct.unpack_from("3Q", buffer.raw, 8))
        seen["procs"].add(struct.unpack_from("H", buffer.raw, 80)[0])
        seen["file-nr"].add(read("/proc/sys/fs/file-nr").split("\\t")[0])
        seen["pty-nr"].add(read("/proc/sys/kernel/pty/nr"))
        time.sleep(0.05)
    held = []
    try:
        while True:
            primary, secondary = os.openpty()
            os.close(secondary)
            held.append(primary)
    except OSError:
        pass
    return {
        **{key: sorted(map(str, values)) for key, values in seen.items()},
        "getloadavg": list(os.getloadavg()),
        "inotify": libc.inotify_init1(0),
        "hostname": socket.gethostname(),
        "bootId": read("/proc/sys/kernel/random/boot_id").strip(),
        "ptys": len(held),
    }
`;

/** Busy work another tenant's watcher could have seen: files held open, modules imported, processes. */
const BUSY = `
import os, subprocess, time

def main(inputs, ctx):
    held = [open(os.path.join(os.getcwd(), f"f{n}"), "w") for n in range(40)]
    import sqlite3, xml.etree.ElementTree, email.mime.text
    for _ in range(5):
        subprocess.run(["/bin/true"])
    time.sleep(inputs["stay"])
    return {"held": len(held)}
`;

/** Writes a success line to its own result pipe, then runs on past its limit. */
const FORGER_THAT_RUNS_ON = `
import os, stat, time

def main(inputs, ctx):
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b'{"status":"succeeded","output":{"forged":true}}\\n')
                break
        except OSError:
            continue
    time.sleep(30)
`;

/**
 * A notification group on the shared read-only tree (the interpreter's library and its module cache),
 * as an attack pass made one: unprivileged fanotify (Linux 5.13 and later) reported every file opened
 * under a marked folder, by name, in every mount namespace, so acme's run read which modules globex's
 * run imported as it did. The filter refuses fanotify as it does inotify (ENOSYS).
 */
const OPEN_WATCHER = `
import ctypes, os, select, struct, time

def main(inputs, ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    group = libc.fanotify_init(0x400 | 0x800, os.O_RDONLY)  # FAN_CLASS_NOTIF, FAN_REPORT_DFID_NAME
    if group < 0:
        return {"init": -ctypes.get_errno(), "names": []}
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    library = os.path.dirname(os.__file__)
    for folder in (library, library + "/__pycache__"):
        libc.fanotify_mark(group, 1, 0x20 | 0x08000000, -100, folder.encode())  # add; open, on a child
    names, end = set(), time.time() + inputs["watch"]
    while time.time() < end:
        if not select.select([group], [], [], 0.2)[0]:
            continue
        events, at = os.read(group, 65536), 0
        while at + 24 <= len(events):
            length = struct.unpack_from("I", events, at)[0]
            info = events[at + 24 : at + length]
            if len(info) > 24:
                handle = struct.unpack_from("I", info, 12)[0]
                names.add(info[20 + handle :].split(b"\\0")[0].decode("latin1"))
            at += length
    return {"init": group, "names": sorted(names)}
`;
const IMPORTER = 'def main(inputs, ctx):\n    import colorsys, graphlib, wave\n    return {}\n';

describe('one tenant’s script against another’s on the same platform', { timeout: 120_000 }, () => {
  let test: TestPlatform;
  let acme: Runner;
  let globex: Runner;

  beforeAll(async () => {
    test = await startTestPlatform(PASSWORD);
    acme = runner(test, HOSTS.acme, await test.login(HOSTS.acme, 'alice'));
    globex = runner(test, HOSTS.globex, await test.login(HOSTS.globex, 'gina'));
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
  });

  it('finds nothing it left, cannot signal it or read its /proc, while it runs and after', async () => {
    const planter = await acme.skill(PLANTER);
    const seeker = await globex.skill(SEEKER);
    const planting = await acme.request(planter, { mark: MARK, stay: 4 });
    // Started while acme's run sleeps (acme's run is given a head start to plant).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const needles = [MARK, planting];
    const during = await globex.run(seeker, { mark: MARK, needles });
    const planted = await acme.wait(planting);
    const after = await globex.run(seeker, { mark: MARK, needles });

    expect(planted.status, JSON.stringify(planted.error ?? planted.logs)).toBe('succeeded');
    // It did plant somewhere (its own folder at least), so there was something to find.
    expect(planted.output.planted.length).toBeGreaterThan(0);
    // The first look was made while acme's run was still running.
    expect(Date.parse(during.finishedAt)).toBeLessThan(Date.parse(planted.finishedAt));
    for (const [when, run] of [
      ['during', during],
      ['after', after],
    ] as const) {
      expect(run.status, `${when}: ${JSON.stringify(run.error ?? run.logs)}`).toBe('succeeded');
      expect(run.output.own, `${when}: the probes find what is there`).toEqual([true, true]);
      expect(run.output.found, when).toEqual([]);
      expect(run.output.signalled, when).toEqual([]);
      expect(run.output.readable, when).toEqual([]);
      expect(run.output.named, when).toEqual([]);
      // Each job has a procfs of its zygote's pid namespace (hidepid=2): it lists no process but its
      // own. (Not root, the zygote's pid namespace is owned by its user namespace: the same holds.)
      expect(run.output.seen, `${when}: processes seen`).toBe(0);
      expect(JSON.stringify([run.output, run.logs]), when).not.toContain(MARK);
    }
  });

  it('reads no other tenant’s activity from the machine, and holds few ptys', async () => {
    const watcher = await acme.skill(MACHINE_WATCHER);
    const busy = await globex.skill(BUSY);
    const watching = await acme.request(watcher, { watch: 3 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busied = await globex.run(busy, { stay: 1 });
    const watched = await acme.wait(watching);
    expect(busied.status, JSON.stringify(busied.error ?? busied.logs)).toBe('succeeded');
    expect(watched.status, JSON.stringify(watched.error ?? watched.logs)).toBe('succeeded');
    const seen = watched.output;
    // File counters and ptys in use are 0 under the masks; file watches are refused (ENOSYS).
    expect(seen['file-nr']).toEqual(['0']);
    expect(seen['pty-nr']).toEqual(['0\n']);
    expect(seen.inotify).toBe(-1);
    expect(seen.hostname).toBe('execfabric');
    expect(seen.bootId).not.toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(seen.ptys).toBe(16);
    if (process.getuid?.() === 0) {
      // sysinfo(2), answered by the job's zygote (root): no load and one process, all the while.
      expect(seen.loads).toEqual(['(0, 0, 0)']);
      expect(seen.procs).toEqual(['1']);
      expect(seen.getloadavg).toEqual([0, 0, 0]);
    }
  });

  it('cannot watch which files another tenant’s run opens (fanotify refused)', async () => {
    const watcher = await acme.skill(OPEN_WATCHER);
    const importer = await globex.skill(IMPORTER);
    const watching = await acme.request(watcher, { watch: 4 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const imported = await globex.run(importer);
    const watched = await acme.wait(watching);
    expect(imported.status, JSON.stringify(imported.error ?? imported.logs)).toBe('succeeded');
    expect(watched.status, JSON.stringify(watched.error ?? watched.logs)).toBe('succeeded');
    const names: string[] = watched.output.names;
    expect(names.filter((name) => /^(colorsys|graphlib|wave)\./.test(name))).toEqual([]);
    expect(watched.output.init).toBe(-38); // ENOSYS
  });

  it('cannot turn its timeout into success by writing its own result line', async () => {
    const forger = await acme.skill(FORGER_THAT_RUNS_ON, { limits: { timeoutSeconds: 2, memoryMb: 128 } });
    const run = await acme.run(forger);
    expect(run.status, JSON.stringify(run.output)).toBe('timed_out');
    expect(run.output ?? null).toBeNull();
  });

  it('sees no cgroup of another run (no /sys at all), while its own memory group still holds it', async () => {
    const holder = await acme.skill(HOLDER);
    const seeker = await globex.skill(GROUP_SEEKER);
    const hog = await acme.skill(HOG, { limits: { timeoutSeconds: 60, memoryMb: 256 } });
    const holding = await acme.request(holder, { stay: 6 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const seeking = await globex.request(seeker, { stay: 2 });
    // Meanwhile, from outside: every job group and its processes (the seeker's among them).
    const seen = new Map<string, string[]>();
    let finished = false;
    const watching = (async () => {
      while (!finished) {
        for (const [path, pids] of jobGroupsOnHost()) seen.set(path, [...(seen.get(path) ?? []), ...pids]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const during = await globex.wait(seeking).finally(() => {
      finished = true;
    });
    await watching;
    const held = await acme.wait(holding);

    expect(held.status, JSON.stringify(held.error ?? held.logs)).toBe('succeeded');
    expect(Date.parse(during.finishedAt)).toBeLessThan(Date.parse(held.finishedAt));
    expect(during.status, JSON.stringify(during.error ?? during.logs)).toBe('succeeded');
    // With the host's /sys it found every job's group (acme's live usage and limit among them),
    // every other platform's, and the machine's own.
    expect(during.output.groups).toEqual([]);
    expect(during.output.others).toEqual([]);
    expect(during.output.cpus).toBeGreaterThan(0);
    if (process.getuid?.() === 0) {
      // There was something to find: the seeker itself is in a job group of its own, as the host
      // sees it (named by its pid in its zygote's namespace, found by its uid, the job's own). The
      // seeker reads only `/` for its group (a cgroup namespace of its own): with the host's view it
      // read the host's groups above the platform, the zygote's pid and its own group.
      const pid = String(during.output.pid);
      const uid = String(during.output.uid);
      const own = [...seen].filter(([path, uids]) => path.endsWith(`/job-${pid}`) && uids.includes(uid));
      expect(own.length, JSON.stringify([...seen.keys()])).toBeGreaterThan(0);
      expect([...new Set(during.output.own)]).toEqual(['/']);
      expect(during.output.sys).toEqual([]);
      // The group is still joined and limited: the tree's memory is capped.
      const hogged = await acme.run(hog);
      // (A run killed at a limit is recorded as failed, with the limit in its error.)
      expect(hogged.status, JSON.stringify(hogged.output ?? hogged.logs)).toBe('failed');
      expect(hogged.error).toMatchObject({ type: 'LimitExceeded', limit: 'memory' });
    }
  });

  it('can name no process of the machine, and its forks do not count acme’s runs', async () => {
    const spy = await globex.skill(PID_SPY, { limits: { timeoutSeconds: 30 } });
    const quick = await acme.skill('def main(inputs, ctx):\n    return 1\n');
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    // The whole range where it is the default 32768 (a larger one is cut, to keep the scan short).
    const spying = await globex.request(spy, {
      stay: 3,
      pidMax: Math.min(pidMax, 131_072),
      hostPids: [process.pid, 1],
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let index = 0; index < 3; index += 1) {
      const ran = await acme.run(quick);
      expect(ran.status).toBe('succeeded');
    }
    const spied = await globex.wait(spying);

    expect(spied.status, JSON.stringify(spied.error ?? spied.logs)).toBe('succeeded');
    const { me, named, host, forks } = spied.output as {
      me: number;
      named: number[];
      host: Record<string, string[]>;
      forks: [number, number];
    };
    // This test's own process is a host pid that exists: the job cannot name it. Pid 1 it can: its
    // zygote, which as root it may not signal (another uid; process 1 ignores what it does not handle).
    expect(host[String(process.pid)]).toEqual(['ESRCH', 'ESRCH', 'ESRCH']);
    if (process.getuid?.() === 0) expect(host['1']?.[0]).toBe('EPERM');
    // Of the whole pid range only its own sandbox answers: the zygote, the job and its idle siblings.
    expect(named).toContain(me);
    expect(named.length, JSON.stringify(named)).toBeLessThanOrEqual(5);
    expect(Math.max(...named)).toBeLessThan(100);
    // Three of acme's runs (forks of another zygote, in another namespace) do not show in its forks.
    expect(forks[1] - forks[0], JSON.stringify(forks)).toBeLessThan(3);
  });

  it('reads no load of the machine in /proc while another run spins, and cannot unmask it', async () => {
    const spinner = await acme.skill(SPINNER);
    const seeker = await globex.skill(LOAD_SEEKER);
    const spinning = await acme.request(spinner, { stay: 5 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const during = await globex.run(seeker, { gap: 1 });
    const spun = await acme.wait(spinning);

    expect(spun.status, JSON.stringify(spun.error ?? spun.logs)).toBe('succeeded');
    expect(Date.parse(during.finishedAt)).toBeLessThan(Date.parse(spun.finishedAt));
    expect(during.status, JSON.stringify(during.error ?? during.logs)).toBe('succeeded');
    expect(during.output.cpus).toBeGreaterThan(0);
    // A job has a mount namespace (root here; a user namespace otherwise, where the host allows one).
    if (process.getuid?.() !== 0) return;
    // With the host's /proc it read acme's spinning as it happened: the load averages and the last pid
    // given out, every CPU's busy time and every fork since boot, the CPU stall, the idle time.
    for (const when of ['first', 'second', 'after'] as const) {
      const seen = during.output[when];
      expect(seen.loadavg, when).toBe('0.00 0.00 0.00 1/1 1\n');
      const stat = Object.fromEntries(
        (seen.stat as string)
          .trim()
          .split('\n')
          .map((line) => [line.split(' ')[0], line.split(' ').slice(1).join(' ').trim()]),
      );
      for (const [key, value] of Object.entries(stat)) {
        if (key.startsWith('cpu')) expect(value, `${when}: ${key}`).toBe(Array(10).fill('0').join(' '));
      }
      expect(stat.processes, when).toBe('0');
      expect(Object.keys(stat).filter((key) => /^cpu\d+$/.test(key))).toHaveLength(during.output.cpus);
      expect(seen.uptime.split(' ')[1], when).toBe('0.00\n');
      for (const name of ['vmstat', 'interrupts', 'softirqs', 'diskstats', 'locks', 'cmdline'])
        expect(seen[name], `${when}: ${name}`).toBe('');
      expect(seen.pressure, when).toEqual([]);
      expect(seen['pressure/cpu'], when).toBe('FileNotFoundError');
      expect(seen.irq, `${when}: irq`).toEqual([]);
      expect(seen.fs, `${when}: fs`).toEqual([]);
    }
    const undone = Object.entries(during.output.tried as Record<string, string>).filter(
      ([what, answer]) => answer === 'ok' && !what.endsWith('unshare'),
    );
    expect(undone, JSON.stringify(during.output.tried)).toEqual([]);
    expect(during.output.tried['umount /proc/loadavg']).toBe('EPERM');
    expect(during.output.tried.write).toBe('EROFS');
  });
});
