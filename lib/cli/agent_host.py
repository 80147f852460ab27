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


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: agent_host.py <python-runtime layer dir>\n")
        return 2
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
    with Sandbox() as sandbox:
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
