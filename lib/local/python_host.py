"""Local stand-in for a Lambda Python container of the script worker, driven by
`lib/local/python-function.ts` over a JSON-lines pipe (stdin: requests and replies; the original
stdout: events; anything else the process prints goes to stderr).

    node → host   {"type": "configure", "keys": {"jobs", "reports"}, "sandbox": {…}}   first, once
                  {"type": "invoke", "id", "event", "deadlineMs", "tenantId"?}
                  {"type": "reply", "callId", "ok", "value"?, "error"?}
    host → node   {"type": "ready"}
                  {"type": "call", "id", "callId", "call": "claim", "jobId", "expiresAtEpoch"}
                  {"type": "call", "id", "callId", "call": "send", "body", "mac"}
                  {"type": "call", "id", "callId", "call": "relay", "target", "payload"}
                  {"type": "result", "id", "value"}  |  {"type": "error", "id", "error": {"name", "message", "stack"}}

One invocation at a time, as in a Lambda container, and (like a tenant-isolated function's
environment) one tenant for the host's whole life. The ports call back into Node, which performs them
with its AWS SDK clients, so this process holds no AWS credentials and imports no AWS SDK; it holds
the message keys of this start, which arrive on the pipe, never in its environment. Calls may come
from the sandbox's relay thread while the main thread waits, so a reader thread hands each reply to
the call waiting for it (call ids are unique for the host's life).

Usage: python -I -S python_host.py <layer python dir> <function dir> <handler module>
(the module exports `configure`, `keys`, `process_event`, `sandbox()` and `shutdown()`)
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO


class HostProtocolError(RuntimeError):
    """Node sent something out of turn."""


class Channel:
    """Writes are serialised; a reader thread routes replies to their calls and queues the rest."""

    def __init__(self, incoming: BinaryIO, outgoing: BinaryIO) -> None:
        self.incoming = incoming
        self.outgoing = outgoing
        self.write_lock = threading.Lock()
        self.waiting: dict[int, queue.SimpleQueue[dict[str, Any] | None]] = {}
        self.waiting_lock = threading.Lock()
        self.requests: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.call_ids = itertools.count(1)
        threading.Thread(target=self._read, name="host-reader", daemon=True).start()

    def write(self, message: dict[str, Any]) -> None:
        """Raises ValueError for a message that is not JSON (NaN or Infinity in it): Node could not read
        it, and the call or invocation it carries would never be answered."""
        data = json.dumps(message, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii") + b"\n"
        with self.write_lock:
            self.outgoing.write(data)
            self.outgoing.flush()

    def _read(self) -> None:
        try:
            for line in self.incoming:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise HostProtocolError("a message must be a JSON object")
                if message.get("type") == "reply":
                    with self.waiting_lock:
                        slot = self.waiting.pop(int(message.get("callId", 0)), None)
                    if slot is not None:
                        slot.put(message)
                else:
                    self.requests.put(message)
        except (ValueError, HostProtocolError) as error:
            print(f"python host: unreadable message from node: {error}", file=sys.stderr)
        finally:
            self.requests.put(None)
            with self.waiting_lock:
                for slot in self.waiting.values():
                    slot.put(None)
                self.waiting.clear()

    def call(self, invocation: int, call: str, timeout: float | None, **fields: Any) -> Any:
        call_id = next(self.call_ids)
        slot: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        with self.waiting_lock:
            self.waiting[call_id] = slot
        try:
            self.write({"type": "call", "id": invocation, "callId": call_id, "call": call, **fields})
        except ValueError:
            with self.waiting_lock:
                self.waiting.pop(call_id, None)
            raise
        try:
            reply = slot.get(timeout=timeout)
        except queue.Empty:
            with self.waiting_lock:
                self.waiting.pop(call_id, None)
            raise TimeoutError(f"node did not answer the {call} call in time") from None
        if reply is None:
            raise HostProtocolError("node went away during a port call")
        if not reply.get("ok"):
            raise RuntimeError(f"{call} failed: {reply.get('error')}")
        return reply.get("value")


class PipePorts:
    """Ports that ask Node to claim, send and relay, and wait for its answer."""

    def __init__(self, channel: Channel, invocation: int) -> None:
        self.channel = channel
        self.invocation = invocation

    def claim(self, job_id: str, expires_at_epoch: int, now: float) -> bool:
        return bool(self.channel.call(self.invocation, "claim", None, jobId=job_id, expiresAtEpoch=expires_at_epoch, now=now))

    def last_sign_of_life(self, job_id: str) -> float | None:
        value = self.channel.call(self.invocation, "lastSignOfLife", 10.0, jobId=job_id)
        return float(value) if isinstance(value, (int, float)) else None

    def heartbeat(self, job_id: str, now: float) -> bool:
        return bool(self.channel.call(self.invocation, "heartbeat", 10.0, jobId=job_id, now=now))

    def send(self, body: str, mac: str) -> None:
        self.channel.call(self.invocation, "send", None, body=body, mac=mac)

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        value = self.channel.call(self.invocation, "relay", timeout, payload=payload, target=target)
        return value if isinstance(value, dict) else {}


def serve(channel: Channel, module: Any) -> None:
    first = channel.requests.get()
    if first is None:
        return
    if first.get("type") != "configure":
        raise HostProtocolError(f"expected the configuration first, got {first.get('type')!r}")
    from script_worker.signing import MessageKeys

    keys = first.get("keys") or {}
    module.configure(
        message_keys=MessageKeys(jobs=str(keys.get("jobs") or ""), reports=str(keys.get("reports") or "")),
        sandbox_options=first.get("sandbox") or {},
    )
    module.sandbox()  # start the zygote before the first job, as a warm container would have it
    channel.write({"type": "ready"})
    while True:
        request = channel.requests.get()
        if request is None:
            return
        if request.get("type") != "invoke" or not isinstance(request.get("id"), int):
            raise HostProtocolError(f"expected an invocation, got {request!r:.200}")
        invocation: int = request["id"]
        deadline_ms = float(request.get("deadlineMs") or (time.time() + 900) * 1000)
        event = request.get("event")
        jobs = isinstance(event, dict) and isinstance(event.get("Records"), list)
        try:
            value = module.process_event(
                event,
                ports=PipePorts(channel, invocation),
                runner=module.sandbox(),
                keys=module.keys() if jobs else None,
                tenant_id=request.get("tenantId") if isinstance(request.get("tenantId"), str) else None,
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
    # Node ends this host by closing the pipe (and kills it if it lingers). Ctrl-C, or a SIGTERM to
    # `npm start`'s process group, is for the platform to act on: it lets the job in flight finish
    # and be recorded, which this host dying on the signal would not.
    # A no-op handler rather than SIG_IGN, which the zygote and the jobs would inherit.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda _signum, _frame: None)
    module = importlib.import_module(module_name)
    code = 0
    try:
        serve(channel, module)
    except BaseException:  # noqa: BLE001 - reported, then the host exits with a failure
        traceback.print_exc()
        code = 1
    finally:
        module.shutdown()
        sys.stderr.flush()
        # The reader thread may be blocked reading stdin: leave without interpreter finalisation, which
        # would abort on a buffered stream still in use.
        os._exit(code)


if __name__ == "__main__":
    main()
