"""The job half of a forked child: read one request from the job pipe, apply the limits, run the
script (or check it), write one result to the result pipe, exit.

By the time `serve` is called the child is already in its own session, holds only its own pipes, runs
as the job's uid (when the zygote is root), sits in its private folder and sees a clean environment.
"""

from __future__ import annotations

import builtins
import errno
import json
import linecache
import os
import resource
import sys
from typing import Any, NoReturn

import execfabric

from . import limits as rlimits
from .check import SCRIPT_FILENAME, check
from .tracing import MAX_MESSAGE_CHARS, clip, exception_message, exception_type, full_trace, script_trace

MAX_REQUEST_BYTES = 16 * 1024 * 1024
SCRIPT_MODULE = "__execfabric_script__"
#: Released when the script runs out of memory, so the result can still be built and written.
BALLAST_BYTES = 1024 * 1024


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise ValueError("job request too large")
        chunks.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _killed(limit: str, message: str) -> dict[str, Any]:
    return {"status": "killed", "error": {"type": "LimitExceeded", "message": message, "limit": limit}}


def _failed(error: BaseException) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": {"type": exception_type(error), "message": exception_message(error), "trace": script_trace(error)},
    }


def classify(error: BaseException, job_limits: rlimits.Limits) -> dict[str, Any]:
    """Maps an exception that escaped the script to a result: a limit it hit, or a plain failure."""
    if isinstance(error, MemoryError):
        return _killed("memory", f"the script ran out of memory (limit {job_limits.memoryMb} MB of address space)")
    if isinstance(error, OSError):
        if error.errno == errno.EFBIG:
            return _killed("file-size", f"the script wrote a file larger than {job_limits.fileSizeBytes} bytes")
        if error.errno == errno.EMFILE:
            return _killed("open-files", f"the script opened more than {job_limits.openFiles} files")
        if error.errno == errno.EAGAIN and any(
            word in full_trace(error) for word in ("fork", "_execute_child", "spawn", "start_new_thread")
        ):
            return _killed(
                "processes", f"the script started more than {job_limits.processes} processes or threads"
            )
    return _failed(error)


def _encode_output(value: object, job_limits: rlimits.Limits) -> dict[str, Any] | bytes:
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
    if len(text) > job_limits.outputBytes:
        return _killed(
            "output", f"the return value is {len(text)} bytes of JSON, over the limit of {job_limits.outputBytes}"
        )
    return b'{"status":"succeeded","output":' + text.encode("ascii") + b"}"


def _run(
    request: dict[str, Any], workdir: str, nproc_baseline: int, ballast: bytearray | None
) -> dict[str, Any] | bytes:
    job_limits = rlimits.Limits.parse(request["limits"])
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
    )
    linecache.cache[SCRIPT_FILENAME] = (len(source), None, source.splitlines(keepends=True), SCRIPT_FILENAME)
    rlimits.apply(job_limits, nproc_baseline=nproc_baseline)
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
        return _encode_output(value, job_limits)
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


def serve(job_fd: int, result_fd: int, workdir: str, nproc_baseline: int) -> NoReturn:
    """Warms up, waits for one request, runs it and exits the process; never returns."""
    code = 0
    try:
        warm(workdir)
        ballast: bytearray | None = bytearray(BALLAST_BYTES)
        raw = _read_all(job_fd)
        os.close(job_fd)
        # First line on the result pipe: CPU time spent before the job (fork, warm-up), which the
        # job's metrics leave out. Written before any script code runs, so a script cannot forge it.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _write_all(result_fd, b'{"cpuMs":%d}\n' % round((usage.ru_utime + usage.ru_stime) * 1000))
        request = json.loads(raw)
        del raw
        kind = request.get("kind") if isinstance(request, dict) else None
        if kind == "check":
            rlimits.apply(rlimits.Limits.parse(request["limits"]), nproc_baseline=nproc_baseline)
            result: dict[str, Any] | bytes = {"check": check(request.get("source"))}
        elif kind == "run":
            result = _run(request, workdir, nproc_baseline, ballast)
        else:
            raise ValueError(f"unknown request kind {kind!r}")
        _flush_streams()
        payload = result if isinstance(result, bytes) else json.dumps(result, ensure_ascii=True).encode("ascii")
        _write_all(result_fd, payload)
    except BaseException as error:  # a runner fault: say so on the result pipe if at all possible
        code = 70
        try:
            fault = {"status": "failed", "error": {"type": "RunnerError", "message": exception_message(error)}}
            _write_all(result_fd, json.dumps(fault).encode("ascii"))
        except BaseException:
            pass
    finally:
        _flush_streams()
        os._exit(code)
