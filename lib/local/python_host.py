"""Local stand-in for a Lambda Python container of the script worker, driven by
`lib/local/python-function.ts` over a JSON-lines pipe (stdin: requests and replies; the original
stdout: events; anything else the process prints goes to stderr).

    node → host   {"type": "invoke", "id", "event", "deadlineMs"}
                  {"type": "reply", "id", "callId", "ok", "value"?, "error"?}
    host → node   {"type": "ready"}
                  {"type": "call", "id", "callId", "call": "claim", "jobId", "expiresAtEpoch"}
                  {"type": "call", "id", "callId", "call": "send", "body"}
                  {"type": "result", "id", "value"}  |  {"type": "error", "id", "error": {"name", "message", "stack"}}

One invocation at a time, as in a Lambda container; the ports call back into Node, which performs
them with its AWS SDK clients, so this process holds no credentials and imports no AWS SDK.

Usage: python -I -S python_host.py <layer python dir> <function dir> <handler module>
(the module exports `process_event(event, *, ports, runner, remaining_ms)`, `sandbox()` and `shutdown()`)
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any, BinaryIO


class HostProtocolError(RuntimeError):
    """Node sent something out of turn."""


class Channel:
    def __init__(self, incoming: BinaryIO, outgoing: BinaryIO) -> None:
        self.incoming = incoming
        self.outgoing = outgoing

    def write(self, message: dict[str, Any]) -> None:
        self.outgoing.write(json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n")
        self.outgoing.flush()

    def read(self) -> dict[str, Any] | None:
        line = self.incoming.readline()
        if not line:
            return None
        message = json.loads(line)
        if not isinstance(message, dict):
            raise HostProtocolError("a message must be a JSON object")
        return message


class PipePorts:
    """Ports that ask Node to claim and send, and wait for its answer."""

    def __init__(self, channel: Channel, invocation: int) -> None:
        self.channel = channel
        self.invocation = invocation
        self.calls = 0

    def _call(self, call: str, **fields: Any) -> Any:
        self.calls += 1
        call_id = self.calls
        self.channel.write({"type": "call", "id": self.invocation, "callId": call_id, "call": call, **fields})
        reply = self.channel.read()
        if reply is None:
            raise HostProtocolError("node went away during a port call")
        if reply.get("type") != "reply" or reply.get("id") != self.invocation or reply.get("callId") != call_id:
            raise HostProtocolError(f"expected the reply to call {call_id}, got {reply!r:.200}")
        if not reply.get("ok"):
            raise RuntimeError(f"{call} failed: {reply.get('error')}")
        return reply.get("value")

    def claim(self, job_id: str, expires_at_epoch: int) -> bool:
        return bool(self._call("claim", jobId=job_id, expiresAtEpoch=expires_at_epoch))

    def send(self, body: str) -> None:
        self._call("send", body=body)


def serve(channel: Channel, module: Any) -> None:
    process_event = module.process_event
    module.sandbox()  # start the zygote before the first job, as a warm container would have it
    channel.write({"type": "ready"})
    while True:
        request = channel.read()
        if request is None:
            return
        if request.get("type") != "invoke" or not isinstance(request.get("id"), int):
            raise HostProtocolError(f"expected an invocation, got {request!r:.200}")
        invocation: int = request["id"]
        deadline_ms = float(request.get("deadlineMs") or (time.time() + 900) * 1000)
        try:
            value = process_event(
                request.get("event"),
                ports=PipePorts(channel, invocation),
                runner=module.sandbox(),
                remaining_ms=lambda: max(0, int(deadline_ms - time.time() * 1000)),
            )
            channel.write({"type": "result", "id": invocation, "value": value})
        except HostProtocolError:
            raise
        except Exception as error:
            channel.write(
                {
                    "type": "error",
                    "id": invocation,
                    "error": {"name": type(error).__name__, "message": str(error), "stack": traceback.format_exc()},
                }
            )


def main() -> None:
    layer_dir, function_dir, module_name = sys.argv[1:4]
    sys.path[:0] = [layer_dir, function_dir]
    # The protocol keeps the original stdout; print() and the worker's JSON logs go to stderr.
    outgoing = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    channel = Channel(sys.stdin.buffer, outgoing)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    module = importlib.import_module(module_name)
    try:
        serve(channel, module)
    finally:
        module.shutdown()


if __name__ == "__main__":
    main()
