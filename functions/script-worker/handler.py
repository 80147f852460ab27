"""Lambda entry of the script worker (`handler.handler`). Wiring only: the AWS ports and the sandbox
are created once per container and passed to `process_event`.

This process talks to AWS; tenant code never runs in it or in anything it forks directly: the sandbox
starts a separate zygote with a clean environment, and jobs are children of that zygote."""

from __future__ import annotations

import os
import sys
from typing import Any

from execfabric_runtime import Sandbox, SandboxError
from script_worker.ports import Boto3Ports, Ports
from script_worker.processing import process_event

__all__ = ["handler", "process_event", "sandbox", "shutdown"]

_sandbox: Sandbox | None = None
_ports: Ports | None = None


def sandbox() -> Sandbox:
    """The container's sandbox; its zygote is (re)started on demand if it is not running."""
    global _sandbox
    if _sandbox is None:
        _sandbox = Sandbox()
    _sandbox.start()
    return _sandbox


def shutdown() -> None:
    global _sandbox
    if _sandbox is not None:
        _sandbox.close()
        _sandbox = None


def _aws_ports() -> Ports:
    global _ports
    if _ports is None:
        _ports = Boto3Ports()
    return _ports


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = _aws_ports() if isinstance(event.get("Records"), list) else _NO_PORTS
    return process_event(
        event, ports=ports, runner=sandbox(), remaining_ms=context.get_remaining_time_in_millis
    )


class _NoPorts:
    """A check call needs no AWS client."""

    def claim(self, job_id: str, expires_at_epoch: int) -> bool:
        raise RuntimeError("no claims port for this event")

    def send(self, body: str) -> None:
        raise RuntimeError("no results port for this event")


_NO_PORTS = _NoPorts()

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Start the zygote during Lambda's init phase, so the first job does not wait for it; a failure
    # here is retried by the first invocation.
    try:
        sandbox()
    except SandboxError as error:
        print(f"script-worker: zygote not started at init: {error}", file=sys.stderr)
