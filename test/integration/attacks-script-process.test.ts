/**
 * A tenant's script against the other tenants' runs on the same local platform (the same Python
 * hosts, the same machine), through the real API: acme's script leaves what it can wherever it can
 * (its folder, every shared temporary folder, its home, the module cache, builtins, the environment,
 * the interpreter's own packages) and stays running; globex's script, run meanwhile and then after,
 * looks for all of it, probes every process it can see with signal 0 (never a real signal: the
 * machine is shared) and reads their `/proc` entries. Nothing of acme's is found, no process but
 * its own can be signalled, and no other process's environment, memory map or descriptors can be
 * read. There is no PID namespace, but run as root each job has a procfs of its own, mounted
 * `hidepid=2`: it lists no other process at all (with the host's /proc it read every process's
 * command line, another job's arguments included); otherwise none of the command lines it reads
 * names acme's run.
 */
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
      // Run as root, each job has a procfs of its own (hidepid=2): it lists no process but its own.
      // A zygote in a user namespace of its own cannot mount one: there it sees the host's.
      if (process.getuid?.() === 0) expect(run.output.seen, `${when}: processes seen`).toBe(0);
      else expect(run.output.seen, `${when}: processes looked at`).toBeGreaterThan(0);
      expect(JSON.stringify([run.output, run.logs]), when).not.toContain(MARK);
    }
  });
});
