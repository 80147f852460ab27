"""Lambda entry of the script worker (`handler.handler`). Wiring only: the AWS ports, the message keys
(from Secrets Manager) and the sandbox are created once per container and passed to `process_event`.

This process talks to AWS; tenant code never runs in it or in anything it forks directly: the sandbox
starts a separate zygote with a clean environment, and jobs are children of that zygote. The function
runs in Lambda tenant isolation mode: the dispatcher invokes it with the job's tenant as the
invocation's tenant, so no two tenants share this container, and every job must be that tenant's.

The local platform drives the same module through `lib/local/python_host.py`, which calls
`configure` first with the keys and sandbox options of the platform's start."""

from __future__ import annotations

import os
import sys
from typing import Any

from execfabric_runtime import Sandbox
from script_worker.ports import Boto3Ports, Ports
from script_worker.processing import process_event
from script_worker.signing import MessageKeys, keys_from_env

__all__ = ["configure", "handler", "keys", "process_event", "sandbox", "shutdown"]

_sandbox: Sandbox | None = None
_ports: Ports | None = None
_keys: MessageKeys | None = None
_options: dict[str, Any] = {}

NETWORK_ENV = "EXECFABRIC_SANDBOX_NETWORK"
UNSAFE_ENV = "EXECFABRIC_UNSAFE_NO_JOB_NETWORK_ISOLATION"


def configure(*, message_keys: MessageKeys, sandbox_options: dict[str, Any]) -> None:
    """The local host's configuration (the keys of this platform start, the sandbox's options)."""
    global _keys, _options
    _keys = message_keys
    _options = dict(sandbox_options)


def keys() -> MessageKeys:
    global _keys
    if _keys is None:
        _keys = keys_from_env()
    return _keys


def _lambda_options() -> dict[str, Any]:
    return {
        "network": os.environ.get(NETWORK_ENV) or "auto",
        "unsafe_no_network_isolation": os.environ.get(UNSAFE_ENV) == "1",
        # /tmp of a Lambda container is the worker's alone: empty it after every job.
        "wipe_all_temp": True,
    }


def sandbox() -> Sandbox:
    """The container's sandbox; its zygote is (re)started on demand if it is not running."""
    global _sandbox
    if _sandbox is None:
        _sandbox = Sandbox(**(_options or _lambda_options()))
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
    jobs = isinstance(event.get("Records"), list)
    return process_event(
        event,
        ports=_aws_ports() if jobs else _NO_PORTS,
        runner=sandbox(),
        keys=keys() if jobs else None,
        tenant_id=getattr(context, "tenant_id", None) or None,
        remaining_ms=context.get_remaining_time_in_millis,
    )


class _NoPorts:
    """A check call needs no AWS client."""

    def claim(self, job_id: str, expires_at_epoch: int) -> bool:
        raise RuntimeError("no claims port for this event")

    def send(self, body: str, mac: str) -> None:
        raise RuntimeError("no results port for this event")

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        raise RuntimeError("no relay port for this event")


_NO_PORTS = _NoPorts()

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Start the zygote and read the keys during Lambda's init phase, so the first job does not wait;
    # a failure here is retried by the first invocation.
    try:
        sandbox()
        keys()
    except Exception as error:  # noqa: BLE001 - retried on the first invocation
        print(f"script-worker: not ready at init: {type(error).__name__}: {error}", file=sys.stderr)
