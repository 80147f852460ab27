"""The local agent's Python host: runs the jobs `execfabric agent` hands it in ExecFabric's Python
runtime (layers/python-runtime, used as it is: a Sandbox with its zygote, per-job processes, limits
and clean environment), one at a time, over a JSON-lines pipe.

    node → host   {"type": "run", "id": <execution id>, "job": {source, input, limits, executionId, tenantId, skillId}}
    host → node   {"type": "ready"}
                  {"type": "outcome", "id", "outcome": {status, output, error, stdout, stderr, truncated, ...}}
                  {"type": "error", "id", "message"}        (the sandbox itself failed)

It is started with a clean environment (no agent token) as `python -I -S agent_host.py <layer dir>`;
anything the process prints goes to stderr, the protocol keeps the original stdout.
"""

from __future__ import annotations

import json
import os
import signal
import sys
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

    def write(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message, ensure_ascii=True, separators=(",", ":"), default=str).encode("ascii") + b"\n")
        protocol.flush()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Sandbox() as sandbox:
        sandbox.start()
        write({"type": "ready"})
        for line in incoming:
            if not line.strip():
                continue
            message = json.loads(line)
            if not isinstance(message, dict) or message.get("type") != "run":
                sys.stderr.write("agent host: ignoring a message that is not a run\n")
                continue
            job = message.get("job") or {}
            job_id = str(message.get("id", ""))
            try:
                request = RunRequest(
                    source=str(job["source"]),
                    input=job.get("input") or {},
                    limits=Limits.parse(job["limits"]),
                    execution_id=str(job["executionId"]),
                    tenant_id=str(job["tenantId"]),
                    skill_id=str(job["skillId"]),
                )
                outcome = sandbox.run(request)
            except (KeyError, TypeError, LimitsError) as error:
                write({"type": "error", "id": job_id, "message": f"unusable job: {error}"})
                continue
            except SandboxError as error:
                write({"type": "error", "id": job_id, "message": str(error)})
                continue
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


if __name__ == "__main__":
    sys.exit(main())
