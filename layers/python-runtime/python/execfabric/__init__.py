"""The small SDK an ExecFabric script may import.

A script defines ``main(inputs: dict, ctx: execfabric.Context)`` and returns a JSON-serialisable
value. ``ctx`` says which execution is running, where the job's private folder is and how much time is
left, and ``ctx.log`` writes a line to the execution's captured logs::

    import execfabric

    def main(inputs: dict, ctx: execfabric.Context) -> dict:
        name = execfabric.require(inputs, "name", str)
        ctx.log(f"greeting {name}")
        return {"greeting": f"hello {name}", "secondsLeft": round(ctx.remaining_seconds())}
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from typing import Any, TypeVar

__all__ = ["Context", "InputError", "require", "workfile"]

T = TypeVar("T")


class InputError(ValueError):
    """An input the script needs is missing or has the wrong type."""


class Context:
    """What a running script knows about its execution."""

    __slots__ = ("execution_id", "tenant_id", "skill_id", "workdir", "deadline")

    def __init__(self, *, execution_id: str, tenant_id: str, skill_id: str, workdir: str, deadline: float) -> None:
        self.execution_id = execution_id
        self.tenant_id = tenant_id
        self.skill_id = skill_id
        #: The job's private folder (also the current directory); wiped when the job ends.
        self.workdir = workdir
        #: Wall-clock deadline, seconds since the epoch; the job is killed when it passes.
        self.deadline = deadline

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - time.time())

    def log(self, message: object) -> None:
        """Writes one timestamped line to the execution's logs (stderr)."""
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        sys.stderr.write(f"{stamp} {message}\n")
        sys.stderr.flush()

    def __repr__(self) -> str:
        return f"Context(execution_id={self.execution_id!r}, skill_id={self.skill_id!r})"


def require(inputs: dict[str, Any], name: str, kind: type[T] | None = None) -> T:
    """Returns ``inputs[name]``, raising InputError when it is missing or not of ``kind``."""
    if name not in inputs:
        raise InputError(f"input {name!r} is required")
    value = inputs[name]
    if kind is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise InputError(f"input {name!r} must be of type {kind.__name__}, not {type(value).__name__}")
    return value  # type: ignore[no-any-return]


def workfile(ctx: Context, name: str) -> str:
    """Path of a file inside the job's folder; refuses names that would leave it."""
    path = os.path.realpath(os.path.join(ctx.workdir, name))
    root = os.path.realpath(ctx.workdir)
    if os.path.commonpath([path, root]) != root or path == root:
        raise InputError(f"{name!r} is not a file name inside the job folder")
    return path
