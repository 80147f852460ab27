"""A job cannot forge a limit kill by signalling itself: SIGXCPU and SIGXFSZ read as the CPU and
file-size limits only when the sandbox can tell they were the limits' (an attack pass sent them with
`os.kill(os.getpid(), …)` and the run was recorded killed by its limit)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import IS_ROOT, requires_root, run

from execfabric_runtime import Sandbox

#: Every way a script has of getting SIGXCPU or SIGXFSZ sent to its own process. `SIG` is the signal.
ROUTES: dict[str, str] = {
    "kill": "os.kill(os.getpid(), SIG)",
    "raise_signal": "signal.raise_signal(SIG)",
    "killpg": "os.killpg(0, SIG)",
    "thread": "errors = []\n    def send():\n        try:\n            signal.pthread_kill(threading.main_thread().ident, SIG)\n        except OSError as error:\n            errors.append(error)\n    sender = threading.Thread(target=send); sender.start(); sender.join()\n    if errors:\n        raise errors[0]",
    "child": "subprocess.run(['kill', '-%d' % SIG, str(os.getpid())], check=True)",
    "forked": "pid = os.fork()\n    if pid == 0:\n        try:\n            os.kill(os.getppid(), SIG)\n        finally:\n            os._exit(1)\n    if os.waitpid(pid, 0)[1]:\n        raise PermissionError('refused in the child')",
    "pidfd_send_signal": "signal.pidfd_send_signal(os.pidfd_open(os.getpid()), SIG)",
    "rt_sigqueueinfo": "info = ctypes.create_string_buffer(128); ctypes.memset(info, 0, 128); ctypes.c_int.from_buffer(info, 0).value = SIG; ctypes.c_int.from_buffer(info, 8).value = -1\n    checked(libc.syscall(NR['rt_sigqueueinfo'], os.getpid(), SIG, info))",
    "tgkill": "checked(libc.syscall(NR['tgkill'], os.getpid(), threading.get_native_id(), SIG))",
    # A child made with SIG as its exit signal sends it to its parent when it ends.
    "clone": "pid = checked(libc.syscall(NR['clone'], SIG, 0, 0, 0, 0))\n    if pid == 0:\n        os._exit(0)",
    # I/O readiness on a pipe owned by the process, announced with SIG.
    "fcntl": "r, w = os.pipe(); fcntl.fcntl(r, fcntl.F_SETOWN, os.getpid()); fcntl.fcntl(r, 10, SIG)\n    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC); os.write(w, b'x')",
    # A POSIX timer firing SIG (struct sigevent: value, signo, notify = SIGEV_SIGNAL).
    "timer_create": "event = ctypes.create_string_buffer(64); ctypes.c_int.from_buffer(event, 8).value = SIG\n    timer = ctypes.c_void_p(); checked(libc.syscall(NR['timer_create'], 0, event, ctypes.byref(timer)))\n    spec = (ctypes.c_long * 4)(0, 0, 0, 1000000); checked(libc.syscall(NR['timer_settime'], timer, 0, spec, None))",
}

FORGER = """
import ctypes, fcntl, os, platform, resource, signal, subprocess, threading, time

SIG = {signal}
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {{
    "x86_64": {{"rt_sigqueueinfo": 129, "tgkill": 234, "clone": 56, "timer_create": 222, "timer_settime": 223}},
    "aarch64": {{"rt_sigqueueinfo": 138, "tgkill": 131, "clone": 220, "timer_create": 107, "timer_settime": 110}},
}}[platform.machine()]


def checked(result):
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def main(inputs, ctx):
    {route}
    time.sleep(1)
    return "the signal did not arrive"
"""


def forger(route: str, sig: int) -> str:
    return FORGER.format(signal=int(sig), route=ROUTES[route])


def assert_not_a_limit(outcome: Any) -> None:
    """The run is the script's own failure (or it went on), never a limit kill."""
    assert outcome.status in ("failed", "succeeded"), (outcome.status, outcome.error, outcome.stderr)
    assert outcome.error is None or "limit" not in outcome.error, outcome.error
    if outcome.error is not None:
        assert outcome.error["type"] not in ("LimitExceeded", "ProcessDied"), outcome.error


#: The rungs with a seccomp filter: the best one here (netns as root) and Lambda's (seccomp alone,
#: no namespaces, the jobs sharing the worker's uid where it is not root).
FILTERED = ["auto", "lambda"]


@pytest.fixture(scope="module", params=FILTERED)
def filtered(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    options: dict[str, Any] = {"network": "seccomp", "namespaces": False} if request.param == "lambda" else {}
    with Sandbox(**options) as box:
        yield box


@pytest.mark.parametrize("sig", [signal.SIGXCPU, signal.SIGXFSZ], ids=["SIGXCPU", "SIGXFSZ"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_script_cannot_send_itself_a_limit_signal(filtered: Sandbox, route: str, sig: int) -> None:
    outcome = run(filtered, forger(route, sig), timeoutSeconds=5, cpuSeconds=5)
    assert outcome.sandbox["seccomp"] is True
    assert_not_a_limit(outcome)
    # SIGXFSZ: the filter refused the call, the script's error. SIGXCPU arrives (the filter lets it
    # through), and its process's own CPU time says it was not the limit's: the script's error too.
    assert outcome.status == "failed", outcome.output


def test_threads_may_signal_each_other_with_sigxcpu(filtered: Sandbox) -> None:
    # The Boehm collector stops a program's threads with SIGPWR and restarts them with SIGXCPU
    # (pthread_kill, i.e. tgkill); refused, every multithreaded libgc program aborted at its first
    # collection. The handshake, from a thread to the main one, with a handler as libgc installs.
    source = """
import signal, threading

def main(inputs, ctx):
    seen = []
    signal.signal(signal.SIGXCPU, lambda number, frame: seen.append(number))
    sender = threading.Thread(target=lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGXCPU))
    sender.start()
    sender.join()
    for _ in range(100):
        if seen:
            break
        threading.Event().wait(0.01)
    return {"handled": seen}
"""
    outcome = run(filtered, source, timeoutSeconds=5, cpuSeconds=5)
    assert outcome.sandbox["seccomp"] is True
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.output == {"handled": [int(signal.SIGXCPU)]}


def test_a_file_size_limit_the_script_lowers_itself_is_refused(filtered: Sandbox) -> None:
    source = """
import resource

def main(inputs, ctx):
    seen = {}
    for name, change in (
        ("setrlimit", lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))),
        ("prlimit", lambda: resource.prlimit(0, resource.RLIMIT_FSIZE, (10, 10))),
    ):
        try:
            change()
            seen[name] = "lowered"
        except (OSError, ValueError) as error:
            seen[name] = type(error).__name__
    seen["read"] = list(resource.prlimit(0, resource.RLIMIT_FSIZE))
    with open("small.bin", "wb") as handle:
        handle.write(b"z" * 1000)  # under the job's limit, over the one it tried to set
    return seen
"""
    outcome = run(filtered, source, fileSizeBytes=100_000)
    assert outcome.status == "succeeded", (outcome.error, outcome.stderr)
    assert outcome.output["setrlimit"] != "lowered" and outcome.output["prlimit"] != "lowered"
    assert outcome.output["read"] == [100_000, 100_000]  # reading it is still allowed


def test_a_cpu_limit_the_script_lowers_itself_is_not_the_platforms(filtered: Sandbox) -> None:
    # The kernel's own SIGXCPU, under a soft limit of 1 s the script set: its process used 1 of its 5 s.
    source = """
import resource

def main(inputs, ctx):
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (1, hard))
    while True:
        pass
"""
    outcome = run(filtered, source, timeoutSeconds=10, cpuSeconds=5)
    assert outcome.status == "failed", (outcome.status, outcome.error)
    assert outcome.error is not None and outcome.error["type"] == "ScriptError"
    assert "SIGXCPU" in outcome.error["message"] and "limit" not in outcome.error


def test_cpu_burnt_by_the_scripts_children_does_not_make_its_own_signal_a_limit(filtered: Sandbox) -> None:
    # Children that burn most of the limit each, reaped by the job's process (their CPU is in its
    # wait status), then a soft limit of 1 s on itself: the tree used more than the limit, the
    # process that died of SIGXCPU did not.
    source = """
import os, resource, time

def main(inputs, ctx):
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            began = time.process_time()
            while time.process_time() - began < 1.2:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (1, hard))
    while True:
        pass
"""
    outcome = run(filtered, source, timeoutSeconds=60, cpuSeconds=2)
    assert outcome.status == "failed", (outcome.status, outcome.error)
    assert outcome.error is not None and outcome.error["type"] == "ScriptError"
    assert outcome.cpu_ms >= 2000  # the tree's CPU, as reported: more than the limit


def test_real_limit_kills_still_read_as_limits(filtered: Sandbox) -> None:
    spin = run(filtered, "def main(inputs, ctx):\n    while True:\n        pass\n", timeoutSeconds=10, cpuSeconds=1)
    assert spin.status == "killed" and spin.error is not None and spin.error["limit"] == "cpu", spin.error
    # A script that catches SIGXCPU goes on to the hard limit's SIGKILL a second later.
    caught = "import signal\n\ndef main(inputs, ctx):\n    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n        pass\n"
    hard = run(filtered, caught, timeoutSeconds=10, cpuSeconds=1)
    assert hard.status == "killed" and hard.error is not None and hard.error["limit"] == "cpu", hard.error
    write = "def main(inputs, ctx):\n    with open('big.bin', 'wb') as f:\n        f.write(b'z' * 200_000)\n"
    big = run(filtered, write, fileSizeBytes=100_000)
    assert big.status == "killed" and big.error is not None and big.error["limit"] == "file-size", big.error
    truncate = "import os\n\ndef main(inputs, ctx):\n    with open('sparse.bin', 'wb') as f:\n        os.ftruncate(f.fileno(), 200_000)\n"
    sparse = run(filtered, truncate, fileSizeBytes=100_000)
    assert sparse.status == "killed" and sparse.error is not None and sparse.error["limit"] == "file-size"


@pytest.fixture(scope="module")
def unfiltered() -> Iterator[Sandbox]:
    with Sandbox(network="netns", seccomp_filter=False) as box:
        yield box


@requires_root
def test_without_a_filter_a_signal_of_the_scripts_own_is_its_failure(unfiltered: Sandbox) -> None:
    assert IS_ROOT
    xcpu = run(unfiltered, forger("kill", signal.SIGXCPU), cpuSeconds=5)
    assert xcpu.sandbox["seccomp"] is False
    assert xcpu.status == "failed" and xcpu.error is not None and xcpu.error["type"] == "ScriptError", xcpu.error
    assert "SIGXCPU" in xcpu.error["message"]
    xfsz = run(unfiltered, forger("kill", signal.SIGXFSZ))
    assert xfsz.status == "failed" and xfsz.error is not None and xfsz.error["type"] == "ScriptError", xfsz.error
    assert "SIGXFSZ" in xfsz.error["message"]
    # The CPU limit is still told by the process's own CPU time; a file-size kill cannot be told apart.
    spin = run(unfiltered, "def main(inputs, ctx):\n    while True:\n        pass\n", timeoutSeconds=10, cpuSeconds=1)
    assert spin.status == "killed" and spin.error is not None and spin.error["limit"] == "cpu", spin.error
