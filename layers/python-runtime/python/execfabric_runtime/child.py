"""The job half of a forked child: read one request from the job pipe, apply the limits and drop
privileges, run the script (or check it), write one result to the result pipe, exit.

By the time `serve` is called the child is already in its own session and namespaces, holds only its
own pipes, sits in its private folder and sees a clean environment; it is still privileged (root, or
the owner of the zygote's user namespace) until `JobSetup.enter` runs, before any job code.

The pipes carry one JSON object per line (ASCII, so a line break is always a frame break):

    job pipe     worker → child   the request; then one reply per call  {"reply": n, "ok", …}
    result pipe  child → worker   {"cpuMs"} (before any job code); a runner fault, or the marker
                                  `protocol.SCRIPT_STARTS` once the job is set up; then calls
                                  {"call": n, "op", …} and the result (the last line that is not a call)

Everything after the marker is written by the job's process, which runs the script's code: the worker
takes it as the job's word (succeeded with an output, or failed), never as the platform's. So the
limits this process recognises in an exception (address space, open files, processes, disk) are
reported as the script's failure, with the limit named in the message; the platform reports a limit
kill only from what it observes itself (an OOM kill, SIGXCPU once the process's own CPU time reached
the limit, SIGXFSZ under the seccomp filter that refuses a job's own, the output's size).
"""

from __future__ import annotations

import builtins
import errno
import json
import linecache
import os
import resource
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn

import execfabric

from . import containment, osutil, protocol
from . import limits as rlimits
from .cgroups import MemoryGroups
from .check import SCRIPT_FILENAME, check
from .containment import Plan
from .tracing import MAX_MESSAGE_CHARS, clip, exception_message, exception_type, full_trace, script_trace

MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Largest call a script may send through ctx, and largest reply it reads back.
MAX_CALL_BYTES = 2 * 1024 * 1024
MAX_REPLY_BYTES = 16 * 1024 * 1024
SCRIPT_MODULE = "__execfabric_script__"
#: Released when the script runs out of memory, so the result can still be built and written.
BALLAST_BYTES = 1024 * 1024


#: Signals an idle job child ignores until its job arrives (the zygote sets them as it forks it): a
#: job that may signal its idle siblings (one of the zygote's uid, in the userns rung) must not end
#: the next job's child. SIGKILL, which nothing can ignore, makes it a lost child the Sandbox passes
#: over; SIGSTOP is undone when the child is taken.
IDLE_IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


@dataclass
class JobSetup:
    """What the child does when its job arrives, before any job code runs."""

    plan: Plan
    pid: int
    uid: int | None  # the uid to drop to (root); None when the zygote is not root
    zygote: int
    groups: MemoryGroups | None
    nproc_baseline: int
    #: The socket the job's filter's listener goes to the zygote over (it answers sysinfo), if it does.
    handoff: int | None = None

    def enter(self, job_limits: rlimits.Limits, workdir: str) -> None:
        # The signals ignored while the child was idle are the job's again, as in any Python process.
        for sig in IDLE_IGNORED:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        # Python ignores SIGXFSZ (a write past RLIMIT_FSIZE fails EFBIG instead): the signal ends the
        # job, so that the zygote sees the file-size limit hit, which a job's own line cannot say.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        containment.size_job_disk(self.plan, job_limits.diskBytes)
        if self.groups is not None:
            self.groups.limit(self.pid, job_limits.memoryMb * rlimits.MIB)
        containment.hide_sys(self.plan)  # after the limit, which is written through the host's /sys
        rlimits.apply_file_size(job_limits)  # before the filter, which refuses setting it
        containment.lock_down(self.plan, uid=self.uid, workdir=workdir, handoff=self.handoff)
        osutil.die_with_parent(signal.SIGKILL)  # a credential change cleared it
        if os.getppid() != self.zygote:
            os._exit(71)
        rlimits.apply(job_limits, nproc_baseline=self.nproc_baseline, address_space=self.groups is None)


def _read_line(reader: BinaryIO, limit: int, what: str) -> bytes:
    line = reader.readline(limit + 1)
    if not line.endswith(b"\n"):
        raise ValueError(f"{what} is larger than {limit} bytes or was cut off")
    return line


class Channel:
    """A script's line to its worker: `ctx` sends calls on the result pipe and reads each reply from
    the job pipe. One call at a time (threads take turns)."""

    def __init__(self, reader: BinaryIO, result_fd: int) -> None:
        self._reader = reader
        self._result_fd = result_fd
        self._lock = threading.Lock()
        self._next = 0

    def call(self, op: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            number = self._next
            try:
                line = json.dumps({"call": number, "op": op, **fields}, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as error:
                raise execfabric.CallError("InvalidCall", f"the call's arguments are not JSON: {error}") from None
            if len(line) > MAX_CALL_BYTES:
                raise execfabric.CallError("CallTooLarge", f"a call may carry at most {MAX_CALL_BYTES} bytes of JSON")
            _write_all(self._result_fd, line.encode("ascii") + b"\n")
            raw = self._reader.readline(MAX_REPLY_BYTES + 1)
            if not raw.endswith(b"\n"):
                raise execfabric.CallError("ChannelClosed", "the worker did not answer the call")
            reply = json.loads(raw)
            if not isinstance(reply, dict) or reply.get("reply") != number:
                raise execfabric.CallError("ChannelError", "the worker answered out of turn")
            return reply


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _failed(error: BaseException, hint: str | None = None) -> dict[str, Any]:
    message = exception_message(error)
    if hint is not None:
        message = clip(f"{message} ({hint})" if message else hint, MAX_MESSAGE_CHARS)
    return {"status": "failed", "error": {"type": exception_type(error), "message": message, "trace": script_trace(error)}}


#: What a script reaching for the network meets in a job: no socket at all (the seccomp filter), no
#: route (its own network namespace, loopback down), no name resolution.
NO_NETWORK_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED})
NO_NETWORK_HINT = (
    "a script has no network of its own: call an HTTP resource the platform governs with "
    "ctx.http(resource, method, path)"
)


#: How far down a chain of causes the network check looks (a script may build any chain).
NETWORK_CHAIN_LINKS = 8


def _linked(error: BaseException) -> list[object]:
    """What an exception wraps, read without running the script's code: urllib's `reason` from the
    instance's own attributes, and the cause and context through BaseException's own descriptors (a
    subclass's properties are the script's, and run in the runner)."""
    own = BaseException.__dict__["__dict__"].__get__(error)
    return [
        own.get("reason") if isinstance(own, dict) else None,
        BaseException.__cause__.__get__(error),
        BaseException.__context__.__get__(error),
    ]


def _reached_for_the_network(error: BaseException) -> bool:
    """Whether `error`, or what it wraps (urllib's `reason`, a cause or context, NETWORK_CHAIN_LINKS
    deep at most), is a socket call refused for want of a network. Only ever a hint: anything odd in
    a chain the script built is taken as no."""
    try:
        if "socket" not in full_trace(error):
            return False
        seen: set[int] = set()
        pending: list[object] = [error]
        while pending and len(seen) < NETWORK_CHAIN_LINKS:
            current = pending.pop(0)
            if not isinstance(current, BaseException) or id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, socket.gaierror):
                return True
            if isinstance(current, OSError) and OSError.errno.__get__(current) in NO_NETWORK_ERRNOS:
                return True
            pending.extend(_linked(current))
    except Exception:  # noqa: BLE001 - a chain that cannot be read gets no hint, and fails as it is
        return False
    return False


def limit_hint(error: BaseException, job_limits: rlimits.Limits) -> str | None:
    """The limit an exception that escaped the script points at, said in words, if any."""
    if isinstance(error, MemoryError):
        return f"the script ran out of memory: its limit is {job_limits.memoryMb} MB"
    if isinstance(error, OSError):
        code = OSError.errno.__get__(error)  # OSError's own field: a subclass's property is the script's code
        if code == errno.EFBIG:
            return f"the limit on a file's size is {job_limits.fileSizeBytes} bytes"
        if code in (errno.ENOSPC, errno.EDQUOT):
            return f"the limit on what a run writes in all is {job_limits.diskBytes} bytes"
        if code == errno.EMFILE:
            return f"the limit on open files is {job_limits.openFiles}"
        if code == errno.EAGAIN and any(
            word in full_trace(error) for word in ("fork", "_execute_child", "spawn", "start_new_thread")
        ):
            return f"the limit on processes and threads is {job_limits.processes}"
    return None


def classify(error: BaseException, job_limits: rlimits.Limits) -> dict[str, Any]:
    """Maps an exception that escaped the script to its failure, naming the limit or the missing
    network it points at (a hint in the message: the status is the platform's to decide)."""
    hint = limit_hint(error, job_limits)
    if hint is None and _reached_for_the_network(error):
        hint = NO_NETWORK_HINT
    return _failed(error, hint)


def _encode_output(value: object) -> dict[str, Any] | bytes:
    """The result line of a returned value: ASCII-escaped JSON, so any string survives the pipes and
    queues. Its size is the worker's to measure against the output limit (the line is the job's)."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as error:
        return {
            "status": "failed",
            "error": {
                "type": "OutputError",
                "message": clip(
                    f"main() must return a JSON-serialisable value: {type(error).__name__}: {error}",
                    MAX_MESSAGE_CHARS,
                ),
            },
        }
    return b'{"status":"succeeded","output":' + text.encode("ascii") + b"}"


def _params(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(key): str(value) for key, value in raw.items()}


def _run(
    request: dict[str, Any], job_limits: rlimits.Limits, workdir: str, channel: Channel, ballast: bytearray | None
) -> dict[str, Any] | bytes:
    source = request["source"]
    inputs = request["input"]
    context = request["context"]
    if not isinstance(source, str) or not isinstance(inputs, dict) or not isinstance(context, dict):
        raise ValueError("malformed run request")
    ctx = execfabric.Context(
        execution_id=str(context["executionId"]),
        tenant_id=str(context["tenantId"]),
        skill_id=str(context["skillId"]),
        workdir=workdir,
        deadline=float(context["deadline"]),
        call=channel.call,
        params=_params(context.get("params")),
    )
    linecache.cache[SCRIPT_FILENAME] = (len(source), None, source.splitlines(keepends=True), SCRIPT_FILENAME)
    namespace: dict[str, Any] = {"__name__": SCRIPT_MODULE, "__file__": SCRIPT_FILENAME, "__builtins__": builtins}
    try:
        code = compile(source, SCRIPT_FILENAME, "exec", dont_inherit=True)
        exec(code, namespace)
        main = namespace.get("main")
        if not callable(main):
            return {
                "status": "failed",
                "error": {"type": "ScriptError", "message": "the script does not define main(inputs, ctx)"},
            }
        value = main(inputs, ctx)
        del main
        return _encode_output(value)
    except BaseException as error:  # the script's failure is a result, whatever it raised
        ballast = None
        namespace.clear()
        return classify(error, job_limits)
    finally:
        del ballast


WARM_SOURCE = "import json\n\ndef main(inputs, ctx):\n    return {'echo': json.loads(json.dumps(inputs))}\n"


def warm(workdir: str) -> None:
    """Exercises the job path once while idle: page faults on memory shared with the zygote (copy on
    write, slow on small VMs) happen here instead of on a job's clock."""
    namespace: dict[str, Any] = {"__name__": SCRIPT_MODULE, "__builtins__": builtins}
    exec(compile(WARM_SOURCE, SCRIPT_FILENAME, "exec", dont_inherit=True), namespace)
    ctx = execfabric.Context(execution_id="", tenant_id="", skill_id="", workdir=workdir, deadline=0.0)
    value = namespace["main"]({"warm": [1, 2.5, "x", None, True]}, ctx)
    json.loads(json.dumps({"kind": "run", "value": value}, ensure_ascii=True))
    rlimits.Limits.parse({"timeoutSeconds": 1, "memoryMb": 128, "outputBytes": 16, "logBytes": 16})
    check(WARM_SOURCE)
    linecache.cache.pop(SCRIPT_FILENAME, None)


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def serve(job_fd: int, result_fd: int, workdir: str, setup: JobSetup) -> NoReturn:
    """Warms up, waits for one request, runs it and exits the process; never returns."""
    code = 0
    try:
        warm(workdir)
        ballast: bytearray | None = bytearray(BALLAST_BYTES)
        reader = os.fdopen(job_fd, "rb", buffering=65536, closefd=True)
        raw = _read_line(reader, MAX_REQUEST_BYTES, "the job request")
        # First line on the result pipe: CPU time spent before the job (fork, warm-up), which the
        # job's metrics leave out. Written before any script code runs, so a script cannot forge it.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _write_all(result_fd, b'{"cpuMs":%d}\n' % round((usage.ru_utime + usage.ru_stime) * 1000))
        request = json.loads(raw)
        del raw
        kind = request.get("kind") if isinstance(request, dict) else None
        if kind not in ("check", "run"):
            raise ValueError(f"unknown request kind {kind!r}")
        job_limits = rlimits.Limits.parse(request["limits"])
        setup.enter(job_limits, workdir)
        # From here on the job's code runs in this process: what follows on the pipe is the job's word.
        _write_all(result_fd, protocol.SCRIPT_STARTS + b"\n")
        if kind == "check":
            result: dict[str, Any] | bytes = {"check": check(request.get("source"))}
        else:
            result = _run(request, job_limits, workdir, Channel(reader, result_fd), ballast)
        _flush_streams()
        payload = result if isinstance(result, bytes) else json.dumps(result, ensure_ascii=True).encode("ascii")
        _write_all(result_fd, payload + b"\n")
    except BaseException as error:  # a runner fault: say so on the result pipe if at all possible
        code = 70
        try:
            fault = {"status": "failed", "error": {"type": "RunnerError", "message": exception_message(error)}}
            _write_all(result_fd, json.dumps(fault).encode("ascii") + b"\n")
        except BaseException:
            pass
    finally:
        _flush_streams()
        os._exit(code)
