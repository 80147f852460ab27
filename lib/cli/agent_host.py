"""The local agent's Python host: runs the jobs `execfabric agent` hands it in ExecFabric's Python
runtime (layers/python-runtime, used as it is: a Sandbox with its zygote, per-job processes, limits
and clean environment), one at a time, over a JSON-lines pipe.

    node → host   {"type": "run", "id": <execution id>, "job": {source, input, limits, executionId, tenantId, skillId}}
                  {"type": "stop", "id"}                    (a cancel: the job is killed, its outcome `cancelled`)
    host → node   {"type": "ready"}
                  {"type": "output", "id", "stream", "text"} (live output, as it arrives, whole UTF-8 characters)
                  {"type": "outcome", "id", "outcome": {status, output, error, stdout, stderr, truncated, ...}}
                  {"type": "error", "id", "message"}        (the sandbox itself failed)

Jobs run on the main thread; a reader thread takes the pipe's messages, so a stop reaches a running job.

It is started with a clean environment (no agent token) as `python -I -S agent_host.py <layer dir>`;
anything the process prints goes to stderr, the protocol keeps the original stdout.
"""

from __future__ import annotations

import codecs
import json
import os
import queue
import signal
import sys
import threading
import traceback
from typing import Any, BinaryIO


#: Landlock's calls: the same numbers on every architecture (the generic table).
LANDLOCK_CREATE_RULESET, LANDLOCK_RESTRICT_SELF = 444, 446
PR_SET_NO_NEW_PRIVS = 38


def confine() -> str | None:
    """Puts this host, and so its zygote and every job, in a Landlock domain of their own before
    anything else runs. Landlock refuses a process in a domain every ptrace-mode access to a process
    outside it — `/proc/<pid>/environ`, `mem`, `maps`, `fd/*` — whatever their uids: the agent's Node
    process (which holds the token and is dumpable) and the user's other processes are closed to a
    job even where it shares their uid and user namespace (no user namespaces: the runtime's
    `seccomp` rung). The ruleset handles no file-system right (the zygote still mounts its view):
    only abstract unix sockets and signals (ABI 6), or TCP bind (ABI 4, 5), nothing the host needs.
    Returns why it could not, or None."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 4:
        return "Landlock is not available" if abi < 0 else f"Landlock ABI {abi} (4 or later needed)"
    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net, scoped.
    attr = (ctypes.c_uint64 * 3)(0, 0, 3) if abi >= 6 else (ctypes.c_uint64 * 3)(0, 1, 0)
    size = 24 if abi >= 6 else 16
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"PR_SET_NO_NEW_PRIVS: {os.strerror(ctypes.get_errno())}"
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            return f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return None


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: agent_host.py <python-runtime layer dir> [folder the jobs must not see ...]\n")
        return 2
    # First, on the only thread: a Landlock domain applies to the thread that asks and what it starts.
    unconfined = confine()
    if unconfined is not None:
        sys.stderr.write(
            f"agent host: scripts are not kept out of the agent's process ({unconfined}); where they share "
            "its user and user namespace they can read its memory and environment\n"
        )
    sys.path.insert(0, sys.argv[1])
    from execfabric_runtime import Limits, LimitsError, RunRequest, Sandbox, SandboxError

    protocol: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not corrupt the protocol
    incoming = sys.stdin.buffer

    lock = threading.Lock()

    def write(message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=True, separators=(",", ":"), default=str).encode("ascii") + b"\n"
        with lock:  # the sandbox's output callback writes from its own thread
            protocol.write(line)
            protocol.flush()

    runs: queue.Queue[dict[str, Any] | None] = queue.Queue()
    stops: dict[str, threading.Event] = {}

    def read() -> None:
        for line in incoming:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "run":
                stops.setdefault(str(message.get("id", "")), threading.Event())
                runs.put(message)
            elif kind == "stop":
                stops.setdefault(str(message.get("id", "")), threading.Event()).set()
            else:
                sys.stderr.write("agent host: ignoring a message that is neither a run nor a stop\n")
        runs.put(None)  # the pipe closed: finish

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C reaches this host too (the terminal signals the agent's whole process group). The first
    # is the agent's to act on: it lets the run in progress finish, then closes this pipe. A second
    # one exits at once, as the agent itself does.
    interrupts = 0

    def on_interrupt(_signum: int, _frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            sys.exit(130)

    signal.signal(signal.SIGINT, on_interrupt)
    threading.Thread(target=read, name="agent-host-reader", daemon=True).start()
    # The agent's own secrets (its config folder, its token file's folder): hidden from the jobs
    # where the runtime can hide anything (root or user namespaces), as /root and /home are.
    with Sandbox(hidden=[folder for folder in sys.argv[2:] if os.path.isdir(folder)]) as sandbox:
        sandbox.start()
        write({"type": "ready"})
        while (message := runs.get()) is not None:
            job = message.get("job") or {}
            job_id = str(message.get("id", ""))
            decoders = {stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in ("stdout", "stderr")}

            def output(stream: str, data: bytes, job_id: str = job_id, decoders: Any = decoders) -> None:
                text = decoders[stream].decode(data)
                if text:
                    write({"type": "output", "id": job_id, "stream": stream, "text": text})

            try:
                request = RunRequest(
                    source=str(job["source"]),
                    input=job.get("input") or {},
                    limits=Limits.parse(job["limits"]),
                    execution_id=str(job["executionId"]),
                    tenant_id=str(job["tenantId"]),
                    skill_id=str(job["skillId"]),
                    on_output=output,
                    stop=stops.setdefault(job_id, threading.Event()),
                )
                outcome = sandbox.run(request)
            except (KeyError, TypeError, LimitsError) as error:
                write({"type": "error", "id": job_id, "message": f"unusable job: {error}"})
                continue
            except SandboxError as error:
                write({"type": "error", "id": job_id, "message": str(error)})
                continue
            finally:
                stops.pop(job_id, None)
            write(
                {
                    "type": "outcome",
                    "id": job_id,
                    "outcome": {
                        "status": outcome.status,
                        "output": outcome.output,
                        "error": outcome.error,
                        "stdout": outcome.stdout,
                        "stderr": outcome.stderr,
                        "truncated": outcome.truncated,
                        "durationMs": outcome.duration_ms,
                        "cpuMs": outcome.cpu_ms,
                        "maxRssKb": outcome.max_rss_kb,
                        "sandbox": outcome.sandbox,
                    },
                }
            )
    return 0


def run() -> None:
    code = 1
    try:
        code = main()
    except SystemExit as stop:  # SIGTERM, or a second Ctrl-C
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:  # noqa: BLE001 - reported, then the host exits with a failure
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        # The reader thread may be blocked reading stdin: leave without interpreter finalisation, which
        # aborts on a buffered stream still in use ("Fatal Python error: _enter_buffered_busy").
        os._exit(code)


if __name__ == "__main__":
    run()
