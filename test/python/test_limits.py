"""Limits: wall clock, CPU, memory, processes, files, output and logs; the sandbox survives them all."""

from __future__ import annotations

import os
import time

from conftest import Sandbox, job_parent, job_procfs, live_descendants, run

HEALTHY = "def main(inputs, ctx):\n    return 'still here'\n"


def assert_healthy(sandbox: Sandbox) -> None:
    outcome = run(sandbox, HEALTHY)
    assert outcome.status == "succeeded" and outcome.output == "still here"


def assert_no_job_processes_left(sandbox: Sandbox) -> None:
    zygote = job_parent(sandbox)
    deadline = time.monotonic() + 2
    while True:
        # Only the idle, pre-forked children (one level below the zygote, none of their own) may remain.
        below = live_descendants(zygote)
        grandchildren = set().union(*(live_descendants(pid) for pid in below)) if below else set()
        if len(below) <= 2 and not grandchildren:
            return
        assert time.monotonic() < deadline, f"leftover processes under the zygote: {below}"
        time.sleep(0.05)


def test_an_infinite_loop_times_out_on_the_wall_clock(sandbox: Sandbox) -> None:
    began = time.monotonic()
    outcome = run(sandbox, "def main(inputs, ctx):\n    print('spinning')\n    while True:\n        pass\n", timeoutSeconds=1)
    elapsed = time.monotonic() - began
    assert outcome.status == "timed_out"
    assert outcome.error is not None and outcome.error["type"] == "TimeoutError"
    assert outcome.stdout == "spinning\n"  # logs up to the kill are kept
    assert 0.9 < elapsed < 4
    assert_healthy(sandbox)


def test_a_sleeping_job_with_children_times_out_and_takes_them_along(sandbox: Sandbox) -> None:
    source = """
import subprocess
def main(inputs, ctx):
    subprocess.Popen(["sleep", "60"])
    try:
        subprocess.Popen(["sleep", "60"], start_new_session=True)
    except PermissionError:
        subprocess.Popen(["sleep", "60"])  # no new session under the seccomp filter
    import time
    time.sleep(60)
"""
    outcome = run(sandbox, source, timeoutSeconds=1)
    assert outcome.status == "timed_out"
    assert_no_job_processes_left(sandbox)


def test_cpu_time_is_limited(sandbox: Sandbox) -> None:
    outcome = run(sandbox, "def main(inputs, ctx):\n    while True:\n        pass\n", timeoutSeconds=10, cpuSeconds=1)
    assert outcome.status == "killed"
    assert outcome.error is not None and outcome.error["limit"] == "cpu"
    assert_healthy(sandbox)


def test_a_memory_bomb_is_killed_not_the_worker(sandbox: Sandbox) -> None:
    source = "def main(inputs, ctx):\n    hoard = []\n    while True:\n        hoard.append(bytearray(8 * 1024 * 1024))\n"
    outcome = run(sandbox, source, memoryMb=128)
    assert outcome.status == "killed", outcome
    assert outcome.error is not None and outcome.error["limit"] == "memory"
    single = run(sandbox, "def main(inputs, ctx):\n    return len(b'x' * (4 * 1024 ** 3))\n", memoryMb=128)
    assert single.status == "killed" and single.error is not None and single.error["limit"] == "memory"
    assert_healthy(sandbox)


THREADS = """
import threading

def main(inputs, ctx):
    together = threading.Barrier(inputs["threads"] + 1, timeout=5)
    def work():
        bytearray(4096)  # an allocation in the thread: glibc gave each thread an arena of its own
        together.wait()
    threads = [threading.Thread(target=work) for _ in range(inputs["threads"])]
    for thread in threads:
        thread.start()
    together.wait()
    for thread in threads:
        thread.join()
    return len(threads)
"""


def test_a_job_starts_threads_up_to_its_process_limit(sandbox: Sandbox) -> None:
    """A job of 128 MB started one or two threads, a job of 256 MB four (17 MB resident), and the next
    failed ("can't start new thread"): the memory limit was the address space, and each thread took
    64 MB of it for a malloc arena and 8 MB for its stack. Where a memory cgroup holds the tree it is
    the limit; every thread allocates from one arena."""
    for memory, threads in ((128, 24), (64, 24)):
        outcome = run(sandbox, THREADS, {"threads": threads}, memoryMb=memory)
        if outcome.sandbox["memory"] == "rlimit":  # not root: no cgroup, so stacks count
            threads = 4
            outcome = run(sandbox, THREADS, {"threads": threads}, memoryMb=memory)
        assert outcome.status == "succeeded" and outcome.output == threads, (memory, outcome.error)


def test_without_a_memory_cgroup_threads_count_only_their_stacks() -> None:
    """Where no memory cgroup holds the job (Lambda, not root), the limit stays the address space: a
    thread's stack counts (8 MB), its own malloc arena (64 MB) no longer does."""
    with Sandbox(memory_cgroup=False) as plain:
        outcome = run(plain, THREADS, {"threads": 8}, memoryMb=128)
        too_many = run(plain, THREADS, {"threads": 16}, memoryMb=128)  # 8 MB a stack, and 27 MB at the start
    assert outcome.sandbox["memory"] == "rlimit"
    assert outcome.status == "succeeded" and outcome.output == 8, outcome.error
    assert too_many.status == "failed" and "can't start new thread" in too_many.error["message"], too_many.error


def test_a_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    source = """
import os
def main(inputs, ctx):
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
    outcome = run(sandbox, source, timeoutSeconds=2, processes=16)
    assert outcome.status in ("timed_out", "killed", "failed")
    assert_no_job_processes_left(sandbox)
    assert_healthy(sandbox)


def test_too_many_processes_fails_naming_the_processes_limit(sandbox: Sandbox) -> None:
    """Seen only inside the job (fork fails EAGAIN), so said by the job: the script's failure, with the
    limit named in its message; a limit kill is the platform's to observe."""
    source = """
import subprocess
def main(inputs, ctx):
    return [subprocess.Popen(["sleep", "5"]).pid for _ in range(50)]
"""
    outcome = run(sandbox, source, processes=4)
    assert outcome.status == "failed", outcome
    assert outcome.error is not None and "limit" not in outcome.error
    assert outcome.error["type"] == "BlockingIOError"
    assert "the limit on processes and threads is 4" in outcome.error["message"]
    assert_no_job_processes_left(sandbox)


def test_background_processes_do_not_outlive_their_job(sandbox: Sandbox) -> None:
    source = """
import os, subprocess
def main(inputs, ctx):
    plain = subprocess.Popen(["sleep", "60"]).pid
    try:
        daemon = subprocess.Popen(["sleep", "60"], start_new_session=True).pid
    except PermissionError:     # no new session under the seccomp filter
        daemon = subprocess.Popen(["sleep", "60"]).pid
    if os.fork() == 0:          # a double-forked daemon, in its own session where one may be made
        try:
            os.setsid()
        except PermissionError:
            pass
        if os.fork() == 0:
            import time
            time.sleep(60)
        os._exit(0)
    return [plain, daemon]
"""
    outcome = run(sandbox, source)
    assert outcome.status == "succeeded"
    procfs = job_procfs(sandbox)  # the job's pids are of the zygote's namespace
    for pid in outcome.output:
        assert not _alive(pid, procfs), f"process {pid} outlived its job"
    assert_no_job_processes_left(sandbox)


def _alive(pid: int, procfs: str = "/proc") -> bool:
    try:
        with open(f"{procfs}/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stdout_spam_is_truncated_with_a_marker(sandbox: Sandbox) -> None:
    source = "import sys\ndef main(inputs, ctx):\n    for _ in range(20000):\n        print('x' * 99)\n    sys.stderr.write('e' * 10)\n    return 'done'\n"
    outcome = run(sandbox, source, logBytes=4096)
    assert outcome.status == "succeeded" and outcome.output == "done"
    assert outcome.truncated is True
    assert outcome.stdout.startswith("x" * 99 + "\n")
    assert "[execfabric: stdout truncated" in outcome.stdout
    assert len(outcome.stdout) < 4096 + 200
    assert outcome.stderr == "e" * 10


def test_a_huge_return_value_is_killed_for_output(sandbox: Sandbox) -> None:
    outcome = run(sandbox, "def main(inputs, ctx):\n    return 'y' * 2_000_000\n", outputBytes=1_048_576)
    assert outcome.status == "killed"
    assert outcome.error is not None and outcome.error["limit"] == "output"
    assert outcome.output is None
    assert_healthy(sandbox)


def test_writing_a_file_over_the_size_limit_is_killed(sandbox: Sandbox) -> None:
    source = "def main(inputs, ctx):\n    with open('big.bin', 'wb') as f:\n        f.write(b'z' * 200_000)\n"
    outcome = run(sandbox, source, fileSizeBytes=100_000)
    assert outcome.status == "killed"
    assert outcome.error is not None and outcome.error["limit"] == "file-size"


def test_open_files_are_limited(sandbox: Sandbox) -> None:
    source = "def main(inputs, ctx):\n    return [open('f%d' % i, 'w') for i in range(100)]\n"
    outcome = run(sandbox, source, openFiles=16)
    assert outcome.status == "failed"
    assert outcome.error is not None and "limit" not in outcome.error
    assert outcome.error["type"] == "OSError" and "the limit on open files is 16" in outcome.error["message"]


def test_the_zygote_is_restarted_if_it_dies(sandbox: Sandbox) -> None:
    first = sandbox.zygote_pid
    assert first is not None
    os.kill(first, 9)
    time.sleep(0.1)
    assert_healthy(sandbox)
    assert sandbox.zygote_pid not in (None, first)
