"""Containment of a job, tried as a hostile script would: no socket to anything on any rung, a
read-only view with private temporary folders, the standard library importable, totals on the whole
process tree, and `ctx` calls only through the worker's relay."""

from __future__ import annotations

import errno
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import IS_ROOT, Limits, RunRequest, Sandbox, ns_pid, requires_root, run, running_job

NETWORK_PROBE = """
import errno, os, socket

def attempt(action):
    try:
        action()
        return "open"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))

def tcp(host, port, family):
    def action():
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect((host, port))
    return action

def udp(host, port, family):
    def action():
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"x", (host, port))
    return action

def unix(path):
    def action():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
    return action

def raw(family, kind, proto=0):
    def action():
        socket.socket(family, kind, proto).close()
    return action

def main(inputs, ctx):
    seen = {}
    for host, port in inputs["tcp"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        seen[f"tcp {host}:{port}"] = attempt(tcp(host, port, family))
        seen[f"udp {host}:{port}"] = attempt(udp(host, port, family))
    for path in inputs["unix"]:
        seen[f"unix {path}"] = attempt(unix(path))
    seen["unix abstract"] = attempt(unix("\\0" + inputs["abstract"]))
    seen["raw icmp"] = attempt(raw(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    seen["packet"] = attempt(raw(socket.AF_PACKET, socket.SOCK_RAW))
    seen["netlink route"] = attempt(raw(socket.AF_NETLINK, socket.SOCK_RAW, 0))
    seen["dns"] = attempt(lambda: socket.getaddrinfo("example.com", 443))
    seen["dgram pair"] = attempt(lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
    a, b = socket.socketpair()
    a.sendall(b"ok")
    seen["stream pair"] = b.recv(2).decode()
    return seen
"""


class Listeners:
    """Servers the host offers on loopback and a unix socket anyone may connect to."""

    def __init__(self, folder: str) -> None:
        self.tcp4 = socket.create_server(("127.0.0.1", 0))
        self.tcp6 = socket.create_server(("::1", 0), family=socket.AF_INET6) if socket.has_ipv6 else None
        self.folder = folder
        os.chmod(self.folder, 0o755)
        self.unix_path = os.path.join(self.folder, "open.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.unix.listen()
        self.abstract_name = f"execfabric-test-{os.getpid()}"
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen()

    def inputs(self) -> dict[str, Any]:
        targets = [["127.0.0.1", self.tcp4.getsockname()[1]]]
        if self.tcp6 is not None:
            targets.append(["::1", self.tcp6.getsockname()[1]])
        return {"tcp": targets, "unix": [self.unix_path], "abstract": self.abstract_name}

    def close(self) -> None:
        for sock in (self.tcp4, self.tcp6, self.unix, self.abstract):
            if sock is not None:
                sock.close()


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    # Not tmp_path: pytest's base temp folder is owner-only, and the socket in this folder must be one
    # a job's uid could reach but for its containment. Removed with all it holds, pass or fail.
    with tempfile.TemporaryDirectory(prefix="execfabric-listeners-") as folder:
        served = Listeners(folder)
        try:
            yield served
        finally:
            served.close()


#: Sockets a job may still create when its network namespace alone contains it: they reach only that
#: namespace (its own routing tables, its own socket pair), never the host.
INSIDE_ITS_OWN_NAMESPACE = {"netlink route", "dgram pair"}


def refused_everywhere(outcome: Any) -> None:
    assert outcome.status == "succeeded", outcome.error
    seen = dict(outcome.output)
    assert seen.pop("stream pair") == "ok"
    if not outcome.sandbox["seccomp"]:
        for name in INSIDE_ITS_OWN_NAMESPACE:
            seen.pop(name)
    opened = {what: how for what, how in seen.items() if how == "open"}
    assert opened == {}, f"reachable from a job: {opened}"


def test_no_process_of_a_job_makes_a_session_of_its_own(sandbox: Sandbox) -> None:
    """A new session is a new scheduling group (autogroup): children that each called setsid() took
    the machine's CPU from the platform and other tenants' jobs. The job and its children stay in the
    session made for it."""
    source = """
import os, subprocess
def main(inputs, ctx):
    seen = {"job": os.getsid(0) == os.getpid()}
    try:
        os.setsid()
        seen["setsid"] = "made"
    except OSError as error:
        seen["setsid"] = error.errno
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            os._exit(0)
        except OSError:
            os._exit(3)
    _, status = os.waitpid(child, 0)
    seen["child"] = os.waitstatus_to_exitcode(status)
    try:
        subprocess.run(["/bin/true"], start_new_session=True, check=True)
        seen["popen"] = "made"
    except (OSError, subprocess.SubprocessError) as error:
        seen["popen"] = type(error).__name__
    return seen
"""
    outcome = run(sandbox, source)
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.output["job"] is True
    assert outcome.output["setsid"] == errno.EPERM  # a session leader already: EPERM with or without the filter
    if outcome.sandbox["seccomp"]:
        assert outcome.output["child"] == 3  # a child (not a group leader) is refused by the filter alone
        assert outcome.output["popen"] != "made"
    else:
        # Where no filter can be installed, nothing refuses it (the gap the filter closes).
        assert outcome.output["child"] == 0 and outcome.output["popen"] == "made"


RUNGS = ["auto", "seccomp"] + (["netns-alone"] if IS_ROOT else [])


@pytest.fixture(scope="module", params=RUNGS)
def rung_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    rung = str(request.param)
    options: dict[str, Any] = {"network": "netns", "seccomp_filter": False} if rung == "netns-alone" else {"network": rung}
    with Sandbox(**options) as box:
        yield box


def test_no_socket_reaches_anything_on_every_rung(rung_sandbox: Sandbox, listeners: Listeners) -> None:
    outcome = run(rung_sandbox, NETWORK_PROBE, listeners.inputs())
    refused_everywhere(outcome)
    plan = outcome.sandbox
    assert plan["network"] in ("netns", "userns", "seccomp")
    if plan["network"] == "seccomp":
        assert plan["seccomp"] is True


def test_the_plan_is_recorded_on_every_run(sandbox: Sandbox) -> None:
    outcome = run(sandbox, "def main(inputs, ctx):\n    return 1\n")
    assert outcome.sandbox["network"] == ("netns" if IS_ROOT else outcome.sandbox["network"])
    assert set(outcome.sandbox) == {"network", "seccomp", "memory", "disk", "uid", "pid"}
    if IS_ROOT:
        assert outcome.sandbox["disk"] == "tmpfs" and outcome.sandbox["uid"] == "own"
        assert outcome.sandbox["pid"] == "zygote"


def test_the_standard_library_is_importable_under_the_job_uid(sandbox: Sandbox) -> None:
    source = """
import importlib
def main(inputs, ctx):
    for name in ["http", "http.client", "json", "sqlite3", "email.mime.text", "xml.etree.ElementTree", "zoneinfo"]:
        importlib.import_module(name)
    return "imported"
"""
    outcome = run(sandbox, source)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.output == "imported"


@requires_root
def test_private_trees_are_hidden_but_the_interpreter_shows_through(sandbox: Sandbox) -> None:
    planted = "/root/execfabric-planted-secret"
    with open(planted, "w", encoding="utf-8") as handle:
        handle.write("root's secret")
    try:
        source = """
import os, sys
def main(inputs, ctx):
    try:
        secret = open(inputs["planted"]).read()
    except OSError as error:
        secret = type(error).__name__
    return {"secret": secret, "prefix": os.path.isdir(sys.base_prefix)}
"""
        sandbox.close()  # the view is made when the zygote starts: start one that sees the planted file
        outcome = run(sandbox, source, {"planted": planted})
        assert outcome.status == "succeeded", outcome.error
        assert outcome.output["secret"] in ("FileNotFoundError", "PermissionError")
    finally:
        os.unlink(planted)


@requires_root
def test_of_the_top_of_the_host_tree_only_the_systems_folders_show(sandbox: Sandbox) -> None:
    # What an operator keeps outside the system's folders is no job's: a folder and a file planted at
    # the top (world-readable), /var (logs, databases), /opt, the machine's id. The system's
    # programs, libraries and configuration still show, and the interpreter works (the tests above).
    planted = f"/execfabric-planted-{secrets.token_hex(4)}"
    os.mkdir(planted, 0o755)
    with open(f"{planted}/note.txt", "w", encoding="utf-8") as handle:
        handle.write("the operator's note")
    with open(f"{planted}.json", "w", encoding="utf-8") as handle:
        handle.write('{"key": "the host key"}')
    os.chmod(f"{planted}.json", 0o644)
    try:
        source = """
import os
def main(inputs, ctx):
    def read(path):
        try:
            with open(path) as handle:
                return handle.read()
        except OSError as error:
            return type(error).__name__
    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError as error:
            return type(error).__name__
    planted = inputs["planted"]
    return {
        "folder": listing(planted),
        "note": read(planted + "/note.txt"),
        "file": read(planted + ".json"),
        "var": listing("/var"),
        "opt": listing("/opt"),
        "machine_id": read("/etc/machine-id"),
        "passwd": "root:" in read("/etc/passwd"),
        "usr_bin": os.path.isdir("/usr/bin"),
    }
"""
        sandbox.close()  # the view is made when the zygote starts: start one that sees the planted files
        outcome = run(sandbox, source, {"planted": planted})
        assert outcome.status == "succeeded", outcome.error
        seen = outcome.output
        assert seen["folder"] == []
        assert seen["note"] == "FileNotFoundError"
        assert seen["file"] in ("PermissionError", "")
        assert seen["var"] in ([], ["tmp"])
        assert seen["opt"] in ([], "FileNotFoundError")
        assert seen["machine_id"] in ("PermissionError", "", "FileNotFoundError")
        assert seen["passwd"] is True and seen["usr_bin"] is True
    finally:
        os.unlink(f"{planted}/note.txt")
        os.rmdir(planted)
        os.unlink(f"{planted}.json")


@requires_root
def test_memory_is_capped_for_the_whole_process_tree(sandbox: Sandbox) -> None:
    source = """
import os, time
def main(inputs, ctx):
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = bytearray(100 * 1024 * 1024)  # each child alone stays under RLIMIT_AS
            for index in range(0, len(block), 4096):
                block[index] = 1
            time.sleep(5)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return "survived"
"""
    outcome = run(sandbox, source, memoryMb=256, timeoutSeconds=15)
    assert outcome.sandbox["memory"].startswith("cgroup")
    assert outcome.status == "killed", (outcome.status, outcome.output, outcome.error)
    assert outcome.error is not None and outcome.error["limit"] == "memory"


V1_CPU_ROOTS = ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct")


def _host_cpu_controller() -> str | None:
    """Where this host's cpu controller is: a v1 hierarchy's root, "v2", or None."""
    for root in V1_CPU_ROOTS:
        if os.path.exists(os.path.join(root, "cpu.shares")):
            return root
    controllers = "/sys/fs/cgroup/cgroup.controllers"
    if os.path.exists(controllers):
        with open(controllers, encoding="ascii") as handle:
            return "v2" if "cpu" in handle.read().split() else None
    return None


@requires_root
def test_each_job_is_weighed_in_its_own_cpu_group_below_the_jobs_share_and_cannot_leave_it(sandbox: Sandbox) -> None:
    """All jobs together weigh half a busy platform task, each job as much as any other (cgroups.py);
    a job's script cannot move itself out of its group or raise its weight. Without a cpu controller
    the job is in no cpu group of ours. The job reads `/` for its own group (a cgroup namespace of its
    own), so its membership is read from outside, in the host's view, once its attempts are made."""
    source = """
import os, time
def main(inputs, ctx):
    with open("/proc/self/cgroup") as handle:
        before = handle.read()
    refused = []
    for line in before.splitlines():
        path = line.split(":", 2)[2]
        for root in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"):
            for target in (path, os.path.dirname(path), os.path.dirname(os.path.dirname(path)), "/"):
                for name, text in (("cgroup.procs", str(os.getpid())), ("cpu.shares", "262144"), ("cpu.weight", "10000")):
                    try:
                        with open(os.path.join(root, target.lstrip("/"), name), "w") as handle:
                            handle.write(text)
                    except OSError:
                        refused.append(name)
                    else:
                        return {"escaped": os.path.join(root, target.lstrip("/"), name)}
    with open("/proc/self/cgroup") as handle:
        after = handle.read()
    time.sleep(inputs["stay"])  # looked at from outside meanwhile
    return {"unchanged": before == after, "refused": len(refused)}
"""
    host = _host_cpu_controller()
    with running_job(sandbox, source, {"stay": 3}) as (pid, outcome):
        time.sleep(0.5)  # its attempts are made by now (they take milliseconds)
        named = ns_pid(pid)  # its pid in the zygote's pid namespace, where the group is made
        lines = Path(f"/proc/{pid}/cgroup").read_text(encoding="ascii").splitlines()
        cpu = [line.split(":", 2)[2] for line in lines if "cpu" in line.split(":", 2)[1].split(",")]
        unified = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
        path = (unified[0] if host == "v2" else cpu[0]) if host is not None else None
        group = None if path is None or host is None else os.path.join("/sys/fs/cgroup" if host == "v2" else host, path.lstrip("/"))
        members = [] if group is None else Path(group, "cgroup.procs").read_text(encoding="ascii").split()
        weight = None if group is None else Path(group, "..", "cpu.weight" if host == "v2" else "cpu.shares").read_text(encoding="ascii").strip()
    assert outcome[0].status == "succeeded", outcome[0].error
    result = outcome[0].output
    assert isinstance(result, dict) and "escaped" not in result, result
    assert result["unchanged"] is True and result["refused"] > 0
    if host is None:
        # No cpu controller: no cpu group of ours holds the job (its memory group may, on v2).
        assert not any("/execfabric-" in path for path in cpu), cpu
        return
    assert path is not None
    parent, job = path.rsplit("/", 1)
    assert parent.rsplit("/", 1)[-1] == f"execfabric-{_pid_namespace()}-{sandbox.zygote_pid}", path
    assert job == f"job-{named}", path
    assert str(pid) in members, members
    assert weight == ("50" if host == "v2" else "512")


def _pid_namespace() -> str:
    return os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]")


@requires_root
def test_everything_written_counts_against_the_disk_limit(sandbox: Sandbox) -> None:
    source = """
import os
def main(inputs, ctx):
    chunk = b"x" * (1024 * 1024)
    for index in range(8):  # 8 files of 1 MiB, each under the file-size limit, 8 MiB in all
        with open(os.path.join("/tmp" if index % 2 else ctx.workdir, f"f{index}"), "wb") as handle:
            handle.write(chunk)
    return "wrote"
"""
    outcome = run(sandbox, source, diskBytes=4 * 1024 * 1024)
    # ENOSPC is seen only inside the job: the script's failure, naming the limit.
    assert outcome.status == "failed", (outcome.status, outcome.error)
    assert outcome.error is not None and "limit" not in outcome.error
    assert "the limit on what a run writes in all is 4194304 bytes" in outcome.error["message"]
    assert run(sandbox, source, diskBytes=16 * 1024 * 1024).status == "succeeded"


def test_ipc_between_jobs_is_private(sandbox: Sandbox) -> None:
    source = """
import os
def main(inputs, ctx):
    names = os.listdir("/dev/shm")
    open("/dev/shm/" + inputs["name"], "w").write("from one job")
    return sorted(names)
"""
    first = run(sandbox, source, {"name": "first"})
    second = run(sandbox, source, {"name": "second"})
    assert first.status == second.status == "succeeded"
    if first.sandbox["disk"] == "tmpfs":
        assert "first" not in second.output
        assert not os.path.exists("/dev/shm/first")


def relay_echo(calls: list[dict[str, Any]]) -> Any:
    def relay(call: dict[str, Any], deadline: float) -> dict[str, Any]:
        calls.append(call)
        if call.get("resource") == "forbidden":
            return {"ok": False, "error": {"type": "EgressNotDeclared", "message": "not declared", "egress": True}}
        return {"ok": True, "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": '{"echo": "%s"}' % call["path"]}}

    return relay


def run_with_relay(box: Sandbox, source: str, relay: Any, timeout_seconds: int = 10) -> Any:
    return box.run(
        RunRequest(
            source=source,
            input={},
            limits=Limits.parse({"timeoutSeconds": timeout_seconds, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536}),
            execution_id="exec-relay",
            tenant_id="acme",
            skill_id="skill-1",
            relay=relay,
        )
    )


def test_ctx_calls_go_through_the_relay_only(sandbox: Sandbox) -> None:
    calls: list[dict[str, Any]] = []
    source = """
import execfabric, threading
def main(inputs, ctx):
    first = ctx.http("crm", "GET", "/a", query={"q": "1"})
    results = []
    def worker(n):
        results.append(ctx.http("crm", "POST", f"/t{n}", json={"n": n}).json()["echo"])
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    try:
        ctx.http("forbidden", "GET", "/")
        refused = None
    except execfabric.EgressError as error:
        refused = error.type
    return {"first": [first.status, first.json()], "threads": sorted(results), "refused": refused}
"""
    outcome = run_with_relay(sandbox, source, relay_echo(calls))
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.output == {
        "first": [200, {"echo": "/a"}],
        "threads": ["/t0", "/t1", "/t2", "/t3"],
        "refused": "EgressNotDeclared",
    }
    assert outcome.calls == 6
    assert calls[0] == {"call": 1, "op": "http", "resource": "crm", "method": "GET", "path": "/a", "query": {"q": "1"}}


def test_calls_whose_replies_are_never_read_are_refused_past_the_pending_bound(sandbox: Sandbox) -> None:
    """A script that writes call lines on its result pipe and never reads the replies: the worker keeps
    replies only up to MAX_PENDING_BYTES, and refuses the other calls without relaying them."""
    from execfabric_runtime.sandbox import MAX_PENDING_BYTES

    reply_bytes = 1024 * 1024
    calls: list[dict[str, Any]] = []

    def relay(call: dict[str, Any], deadline: float) -> dict[str, Any]:
        calls.append(call)
        return {"ok": True, "response": {"status": 200, "headers": {}, "body": "x" * reply_bytes}}

    source = """
import fcntl, json, os, time
def main(inputs, ctx):
    fd = next(fd for fd in map(int, os.listdir("/proc/self/fd")) if fd > 2 and _wronly(fd))
    for n in range(60):
        data = (json.dumps({"call": 1000 + n, "op": "http", "resource": "crm", "method": "GET", "path": "/"}) + "\\n").encode()
        while data:
            data = data[os.write(fd, data):]
    time.sleep(3)
    return "sent"
def _wronly(fd):
    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    except OSError:
        return False
"""
    outcome = run_with_relay(sandbox, source, relay)
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.calls == 60
    # The replies held for the job stay within the bound (and the one being relayed when it was reached).
    assert len(calls) <= MAX_PENDING_BYTES // reply_bytes + 2, len(calls)


def test_calls_past_the_limit_whose_refusals_are_never_read_hold_no_more_than_the_pending_bound(sandbox: Sandbox) -> None:
    """Past MAX_CALLS_PER_JOB every call is refused with a short line. A script that sent 400,000 tiny
    calls and read nothing had a refusal held for each (~100 bytes of the worker's memory for ~25 of
    its own: 55 MB sent grew the worker by 490 MB); the refusals it can read afterwards are now those
    within MAX_PENDING_BYTES."""
    from execfabric_runtime.sandbox import MAX_CALLS_PER_JOB, MAX_PENDING_BYTES

    sent = 400_000
    source = f"""
import os, time
def main(inputs, ctx):
    channel = ctx._call.__self__
    batch = b"".join(b'{{"call":%d}}\\n' % n for n in range(1, 10_001))
    for _ in range({sent} // 10_000):
        data = memoryview(batch)
        while data:
            data = data[os.write(channel._result_fd, data):]
    time.sleep(1)
    replies = 0
    fd = channel._reader.fileno()
    os.set_blocking(fd, False)
    idle = 0
    while idle < 20:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            idle += 1
            time.sleep(0.05)
            continue
        if not chunk:
            break
        idle = 0
        replies += chunk.count(b"\\n")
    return replies
"""
    # 400,000 calls and ~16 MiB of refusals read back take 3–8 s on this 2-core VM: room under load.
    outcome = run_with_relay(sandbox, source, relay_echo([]), timeout_seconds=30)
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.calls == sent
    refusal_bytes = len(b'{"reply":400000,"ok":false,"error":{"type":"CallRefused","message":"a run may make at most 1000 calls"}}')
    # The replies held for the job: the first MAX_CALLS_PER_JOB and the refusals within the bound.
    assert MAX_CALLS_PER_JOB < outcome.output <= MAX_CALLS_PER_JOB + MAX_PENDING_BYTES // (refusal_bytes // 2), outcome.output
    assert outcome.output < sent // 2, outcome.output


def test_without_a_relay_every_call_is_refused(sandbox: Sandbox) -> None:
    source = """
import execfabric
def main(inputs, ctx):
    try:
        ctx.http("crm", "GET", "/")
    except execfabric.CallError as error:
        return error.type
"""
    outcome = run(sandbox, source)
    assert outcome.output == "CallRefused"


def test_a_slow_relay_does_not_hold_the_job_past_its_timeout(sandbox: Sandbox) -> None:
    release = threading.Event()

    def relay(call: dict[str, Any], deadline: float) -> dict[str, Any]:
        release.wait(20)
        return {"ok": True, "response": {"status": 200, "headers": {}, "body": ""}}

    source = "def main(inputs, ctx):\n    ctx.http('crm', 'GET', '/')\n    return 'late'\n"
    box_request = RunRequest(
        source=source,
        input={},
        limits=Limits.parse({"timeoutSeconds": 1, "memoryMb": 256, "outputBytes": 1024, "logBytes": 1024}),
        execution_id="exec-slow",
        tenant_id="acme",
        skill_id="skill-1",
        relay=relay,
    )
    try:
        outcome = sandbox.run(box_request)
    finally:
        release.set()
    assert outcome.status == "timed_out"
    assert outcome.duration_ms < 8000


def test_without_namespaces_the_shared_temp_folders_are_wiped_after_a_job(tmp_path: Any) -> None:
    import time as clock

    from execfabric_runtime.containment import wipe_shared_temp

    keep = tmp_path / "execfabric-jobs"
    keep.mkdir()
    old = tmp_path / "before-the-job"
    old.write_text("the developer's")
    clock.sleep(1.2)  # the wipe allows a second of clock slack
    started = clock.time()
    left = tmp_path / "left-by-the-job"
    left.mkdir()
    (left / "data").write_text("tenant A")
    stray = tmp_path / "stray.txt"
    stray.write_text("tenant A")
    # Entries older than the job stay (a developer's own files), entries made during it go.
    wipe_shared_temp(os.getuid(), started, str(keep), everything=False, roots=(str(tmp_path),))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["before-the-job", "execfabric-jobs"]
    # In a Lambda container /tmp is the worker's alone: everything but the jobs folder goes.
    wipe_shared_temp(os.getuid(), clock.time(), str(keep), everything=True, roots=(str(tmp_path),))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["execfabric-jobs"]


def test_the_wipe_keeps_the_jobs_root_where_it_is(tmp_path: Any) -> None:
    """The zygote names its jobs root: inside a shared folder (`execfabric-jobs/<pid>-<token>`) the
    folder holding it stays; a fresh root of its own in the temp folder stays itself."""
    from execfabric_runtime.containment import wipe_shared_temp
    from execfabric_runtime.zygote import prepare_jobs_root

    shared = tmp_path / "execfabric-jobs"
    nested = prepare_jobs_root(str(shared))
    (tmp_path / "left-by-a-job").mkdir()
    wipe_shared_temp(os.getuid(), 0.0, nested, everything=True, roots=(str(tmp_path),))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["execfabric-jobs"]
    assert os.path.isdir(nested)

    fresh = tmp_path / f"execfabric-jobs-{os.geteuid()}-fresh"
    fresh.mkdir(mode=0o711)
    (fresh / "123-job").mkdir()  # a job's folder made in it: the root's ctime is the job's
    wipe_shared_temp(os.getuid(), 0.0, str(fresh), everything=True, roots=(str(tmp_path),))
    assert sorted(path.name for path in tmp_path.iterdir()) == [fresh.name]


def test_without_containment_tenant_jobs_are_refused_unless_the_unsafe_switch_is_set(listeners: Listeners) -> None:
    # `none` asks for no rung at all: the same as a host where every rung fails.
    with Sandbox(network="none") as refusing:
        outcome = run(refusing, "def main(inputs, ctx):\n    return 1\n")
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["type"] == "SandboxError"
    assert "the run was refused: no network containment is available" in outcome.error["message"]
    assert outcome.sandbox["network"] == "unavailable"

    reach = """
import socket

def main(inputs, ctx):
    host, port = inputs["tcp"][0]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect((host, port))
        return "open"
"""
    with Sandbox(network="none", unsafe_no_network_isolation=True) as unsafe:
        outcome = run(unsafe, reach, listeners.inputs())
    # It runs, says on the run that nothing contained it, and does reach the host's listener.
    assert outcome.status == "succeeded", outcome.error
    assert outcome.sandbox["network"] == "none"
    assert outcome.sandbox["seccomp"] is False
    assert outcome.output == "open"


def test_groups_of_zygotes_that_are_gone_are_removed_and_no_others(tmp_path: Any) -> None:
    from execfabric_runtime.cgroups import group_name, sweep_orphans

    namespace = os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]")
    assert group_name() == f"execfabric-{namespace}-{os.getpid()}"
    # 4194304 is above any pid_max: no process has it.
    gone = tmp_path / f"execfabric-{namespace}-4194304"
    (gone / "job-12").mkdir(parents=True)
    alive = tmp_path / group_name()
    (alive / "job-13").mkdir(parents=True)
    # Another pid namespace's zygote, sharing this cgroup tree: its pid means nothing here.
    elsewhere = tmp_path / f"execfabric-{int(namespace) + 1}-4194304"
    (elsewhere / "job-14").mkdir(parents=True)
    # The earlier form of the name, which only earlier versions made: swept by its pid alone.
    legacy = tmp_path / "execfabric-4194304"
    (legacy / "job-15").mkdir(parents=True)
    other = tmp_path / "something-else-1"
    other.mkdir()
    sweep_orphans(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([alive.name, elsewhere.name, other.name])
    assert [path.name for path in alive.iterdir()] == ["job-13"]
    assert [path.name for path in elsewhere.iterdir()] == ["job-14"]
