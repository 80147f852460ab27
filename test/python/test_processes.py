"""What a job can learn of the machine's processes: nothing. The zygote is process 1 of a pid namespace
of its own, so a job can name no process outside its sandbox (kill(pid, 0) told a live pid by EPERM
from a free one by ESRCH, 109 processes found by an attack), and the pids its forks get, or
ns_last_pid, count only its own sandbox's forks (they showed the machine's fork rate, other tenants'
work included)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import threading
from typing import Any

from conftest import LAYER, Sandbox, job_parent, requires_root, run

PROBE = """
import errno, os

def named(call):
    try:
        call()
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]

def main(inputs, ctx):
    seen = {}
    for pid in inputs["pids"]:
        seen[str(pid)] = {
            "kill": named(lambda: os.kill(pid, 0)),
            "getpriority": named(lambda: os.getpriority(os.PRIO_PROCESS, pid)),
            "sched_getaffinity": named(lambda: os.sched_getaffinity(pid)),
            "sched_getscheduler": named(lambda: os.sched_getscheduler(pid)),
        }
    live = [pid for pid in range(1, inputs["scan"]) if named(lambda: os.kill(pid, 0)) != "ESRCH"]
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    try:
        with open("/proc/sys/kernel/ns_last_pid") as handle:
            last = int(handle.read())
    except OSError:
        last = None
    return {"me": os.getpid(), "uid": os.getuid(), "fork": child, "last": last, "seen": seen, "live": live,
            "proc": sorted(int(name) for name in os.listdir("/proc") if name.isdigit())}
"""


def probe(box: Sandbox, pids: list[int], scan: int = 5000) -> dict[str, Any]:
    outcome = run(box, PROBE, {"pids": pids, "scan": scan})
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    return outcome.output


def host_pids(box: Sandbox) -> list[int]:
    """Pids on the host that a job once could name: this process, the zygote the Sandbox knows (its
    waiter), the zygote itself, host init."""
    zygote = box.zygote_pid
    assert zygote is not None
    return [os.getpid(), zygote, job_parent(box), 1]


def test_a_job_can_name_no_process_of_the_host(sandbox: Sandbox) -> None:
    pids = host_pids(sandbox)[:3]
    found = probe(sandbox, pids)
    for pid in pids:
        assert set(found["seen"][str(pid)].values()) == {"ESRCH"}, (pid, found["seen"])
    # Of the thousands of pids scanned only its own sandbox's answer: the zygote (1), the job, the
    # job's idle siblings and the fork, all numbered from 1 in the zygote's namespace.
    assert 1 in found["live"] and found["me"] in found["live"]
    assert max(found["live"]) < 100 and len(found["live"]) <= 5, found["live"]
    # Its /proc shows itself alone (hidepid: the zygote and its siblings are other uids).
    assert found["proc"] == [found["me"]]
    assert sandbox.plan is not None and sandbox.plan.describe()["pid"] == "zygote"


def test_without_the_pid_namespace_jobs_share_the_hosts_and_the_plan_says_so() -> None:
    """The benchmark's setting: the cost of the namespace is measured against jobs in the host's."""
    with Sandbox(pid_namespace=False) as box:
        box.start()
        found = probe(box, [os.getpid()], scan=1)
    assert box.plan is not None and box.plan.describe()["pid"] == "host"
    assert found["seen"][str(os.getpid())]["kill"] != "ESRCH"


def test_a_jobs_pids_count_only_its_own_sandboxs_forks(sandbox: Sandbox) -> None:
    first = probe(sandbox, [], scan=1)
    # The machine forks a hundred processes meanwhile (other tenants' jobs, say).
    for _ in range(100):
        subprocess.run(["true"], check=True)
    second = probe(sandbox, [], scan=1)
    assert first["me"] < 100 and second["me"] < 100, (first, second)
    # Between the two jobs the zygote forked only a few processes of its own (a replacement child, the
    # job's fork): nothing of the hundred shows.
    assert 0 < second["me"] - first["me"] < 10, (first, second)
    assert 0 < second["fork"] - first["fork"] < 10, (first, second)
    for found in (first, second):
        # The namespace's last pid: the job's fork, or a child the zygote forked since.
        assert found["last"] is None or 0 <= found["last"] - found["fork"] < 5, found


@requires_root
def test_two_sandboxes_number_their_jobs_alike_but_give_them_different_uids(tmp_path: Any) -> None:
    """Two tenants' zygotes number their jobs alike (each namespace from 1); the job uid is made of the
    host pid, or both first jobs would share a uid (kill(-1) as that uid, the wipe of its files and
    RLIMIT_NPROC all act on every process of a uid). Neither job can name the other."""
    outputs: dict[str, dict[str, Any]] = {}
    with Sandbox() as first, Sandbox() as second:
        first.start()
        second.start()
        pids = [*host_pids(first)[:3], *host_pids(second)[:3]]
        runs = [
            threading.Thread(target=lambda name=name, box=box: outputs.__setitem__(name, probe(box, pids)))
            for name, box in (("first", first), ("second", second))
        ]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
    one, other = outputs["first"], outputs["second"]
    assert one["me"] == other["me"], (one["me"], other["me"])
    assert one["uid"] != other["uid"], (one["uid"], other["uid"])
    for found in (one, other):
        for pid in pids:
            assert set(found["seen"][str(pid)].values()) == {"ESRCH"}, (pid, found["seen"])


SIGNALLER = """
import os, signal, time
def main(inputs, ctx):
    sent = {}
    for sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGSTOP):
        try:
            os.kill(os.getppid(), sig)
            sent[sig.name] = "sent"
        except OSError as error:
            sent[sig.name] = type(error).__name__
        time.sleep(0.1)
    return sent
"""


def test_a_job_cannot_stop_its_zygote_with_any_signal(sandbox: Sandbox) -> None:
    """The zygote is process 1 of its namespace: from inside it, every signal it does not handle is
    ignored, SIGKILL and SIGSTOP included, and it handles none that would stop it (the waiter tells it
    to stop through a pipe). As root a job's uid may not signal it anyway; the unprivileged test below
    sends them as the zygote's own uid."""
    zygote = sandbox.zygote_pid
    outcome = run(sandbox, SIGNALLER)
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert run(sandbox, "def main(inputs, ctx):\n    return 1\n").output == 1
    assert sandbox.zygote_pid == zygote


@requires_root
def test_a_sigterm_to_the_zygote_the_sandbox_knows_stops_it_in_order() -> None:
    """The Sandbox's SIGTERM goes to the waiter, whose pid it knows; the zygote inside then stops as it
    did before it had a namespace: its cgroups (named by the waiter's pid) are removed."""
    box = Sandbox()
    box.start()
    zygote = box.zygote_pid
    assert zygote is not None
    assert run(box, "def main(inputs, ctx):\n    return 1\n").output == 1
    groups = glob.glob(f"/sys/fs/cgroup/**/execfabric-*-{zygote}", recursive=True)
    assert groups
    process = box._process
    assert process is not None
    os.kill(zygote, signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    assert [path for path in groups if os.path.exists(path)] == []
    box.close()


SIBLINGS = """
import os, signal, time
def main(inputs, ctx):
    for _ in range(200):  # the zygote refills its pool after each job: wait for an idle sibling
        try:
            os.kill(-1, 0)
            break
        except ProcessLookupError:
            time.sleep(0.01)
    sent = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGSTOP):
        try:
            os.kill(-1, sig)  # every process this uid may signal but itself
            sent[sig.name] = "sent"
        except OSError as error:
            sent[sig.name] = type(error).__name__
    return sent
"""


UNPRIVILEGED = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from execfabric_runtime import Limits, RunRequest, Sandbox
limits = Limits.parse({"timeoutSeconds": 10, "memoryMb": 256, "outputBytes": 65536, "logBytes": 4096})
with Sandbox() as box:
    box.start()
    pids = [os.getpid(), box.zygote_pid, int(sys.argv[3])]
    outcome = box.run(RunRequest(sys.argv[2], {"pids": pids, "scan": 5000}, limits, "e", "t", "s"))
    zygote = box.zygote_pid
    signalled = box.run(RunRequest(sys.argv[4], {}, limits, "e", "t", "s"))
    kept = box.zygote_pid == zygote
    # Every signal a job may send to everything of its uid, its idle siblings (the next jobs' children)
    # included; then a job with a short limit.
    siblings = box.run(RunRequest(sys.argv[5], {}, limits, "e", "t", "s"))
    short = Limits.parse({"timeoutSeconds": 3, "memoryMb": 256, "outputBytes": 65536, "logBytes": 4096})
    after = [box.run(RunRequest("def main(inputs, ctx):\\n    return 2\\n", {}, short, "e", "t", "s")) for _ in range(3)]
    kept = kept and box.zygote_pid == zygote
print(json.dumps({"status": outcome.status, "error": outcome.error, "plan": outcome.sandbox, "output": outcome.output,
                  "signalled": [signalled.status, signalled.output], "kept": kept,
                  "siblings": [siblings.status, siblings.output], "after": [[run.status, run.output] for run in after]}))
"""


@requires_root
def test_without_root_the_user_namespace_rung_has_a_pid_namespace_and_a_private_proc_too() -> None:
    """Not root (here `nobody`, with the system's Python), the zygote makes its pid namespace inside
    its user namespace, which then owns it: its jobs' own procfs can be mounted there too (before, that
    rung's jobs read the host's /proc). A job there shares the zygote's uid and may signal it; it
    killed it before, every signal is ignored now."""
    python = "/usr/bin/python3"
    assert shutil.which("setpriv") is not None and os.path.exists(python)
    command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", python, "-I", "-S", "-c", UNPRIVILEGED]
    done = subprocess.run(
        [*command, str(LAYER), PROBE, str(os.getpid()), SIGNALLER, SIBLINGS],
        capture_output=True,
        text=True,
        timeout=90,
        cwd="/",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded", result
    assert result["plan"]["network"] == "userns" and result["plan"]["pid"] == "zygote", result["plan"]
    found = result["output"]
    for pid, calls in found["seen"].items():
        assert set(calls.values()) == {"ESRCH"}, (pid, calls)
    assert max(found["live"]) < 100, found["live"]
    assert found["proc"] == [found["me"]]
    # Of its own uid, the job may signal its zygote: every signal is ignored (it was killed outright).
    assert result["signalled"][0] == "succeeded" and set(result["signalled"][1].values()) == {"sent"}, result
    assert result["kept"] is True
    # The idle children it stopped or signalled were the next jobs' own: each runs at once, none waits
    # for its limit (a stopped one did), none is lost to the zygote's end (SIGINT ended it).
    assert result["siblings"][0] == "succeeded" and "sent" in result["siblings"][1].values(), result
    assert result["after"] == [["succeeded", 2]] * 3, result
