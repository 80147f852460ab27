"""The small SDK an ExecFabric script may import.

A script defines ``main(inputs: dict, ctx: execfabric.Context)`` and returns a JSON-serialisable
value. ``ctx`` says which execution is running, where the job's private folder is and how much time is
left, and ``ctx.log`` writes a line to the execution's captured logs::

    import execfabric

    def main(inputs: dict, ctx: execfabric.Context) -> dict:
        name = execfabric.require(inputs, "name", str)
        ctx.log(f"greeting {name}")
        return {"greeting": f"hello {name}", "secondsLeft": round(ctx.remaining_seconds())}

A job has no network of its own. ``ctx.http`` calls an HTTP resource the platform's administrators
granted to the tenant and the Skill declares in its ``egress`` list; the platform adds the resource's
credential on the way out (the script never sees it) and applies the resource's allowed methods and
paths, write boundary, time and size limits::

    def main(inputs, ctx):
        response = ctx.http("crm", "GET", "/customers/42", query={"fields": "name"})
        response.raise_for_status()
        return {"name": response.json()["name"]}
"""

from __future__ import annotations

import json as _json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

__all__ = ["CallError", "Context", "EgressError", "HttpResponse", "InputError", "require", "workfile"]

T = TypeVar("T")

Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class InputError(ValueError):
    """An input the script needs is missing or has the wrong type."""


class CallError(RuntimeError):
    """A ``ctx`` call the platform refused or could not carry out; ``type`` says which (e.g.
    ``EgressNotDeclared``, ``HttpRequestRefused``, ``UpstreamTimeout``)."""

    def __init__(self, type: str, message: str) -> None:  # noqa: A002 - the error's kind, as reported
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message


class EgressError(CallError):
    """``ctx.http`` was refused: the resource is not declared or granted, or the request is outside it."""


class HttpResponse:
    """What an HTTP resource answered. Non-2xx answers are responses too; ``raise_for_status`` turns
    them into an ``EgressError``."""

    __slots__ = ("status", "headers", "text", "truncated")

    def __init__(self, status: int, headers: Mapping[str, str], text: str, truncated: bool) -> None:
        self.status = status
        #: Lower-cased header names.
        self.headers = dict(headers)
        self.text = text
        self.truncated = truncated

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return _json.loads(self.text)

    def raise_for_status(self) -> None:
        if not self.ok:
            raise EgressError("HttpStatus", f"the resource answered {self.status}")

    def __repr__(self) -> str:
        return f"HttpResponse(status={self.status}, bytes={len(self.text)})"


def _no_calls(_op: str, _fields: dict[str, Any]) -> dict[str, Any]:
    raise CallError("NoChannel", "this context cannot reach the platform")


class Context:
    """What a running script knows about its execution, and its way to the platform."""

    __slots__ = ("execution_id", "tenant_id", "skill_id", "workdir", "deadline", "_call")

    def __init__(
        self,
        *,
        execution_id: str,
        tenant_id: str,
        skill_id: str,
        workdir: str,
        deadline: float,
        call: Call = _no_calls,
    ) -> None:
        self.execution_id = execution_id
        self.tenant_id = tenant_id
        self.skill_id = skill_id
        #: The job's private folder (also the current directory); wiped when the job ends.
        self.workdir = workdir
        #: Wall-clock deadline, seconds since the epoch; the job is killed when it passes.
        self.deadline = deadline
        self._call = call

    def http(
        self,
        resource: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Calls an HTTP resource by id or name (declared in the Skill's ``egress``). ``path`` is relative
        to the resource's base URL; ``json`` is sent as a JSON body. Raises ``EgressError`` when the
        platform refuses the call, and ``CallError`` when it cannot carry it out."""
        fields: dict[str, Any] = {"resource": resource, "method": method, "path": path}
        if query is not None:
            fields["query"] = {str(name): str(value) for name, value in query.items()}
        if json is not None:
            fields["json"] = json
        if headers is not None:
            fields["headers"] = {str(name): str(value) for name, value in headers.items()}
        reply = self._call("http", fields)
        if not reply.get("ok"):
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            kind = str(error.get("type") or "CallError")
            message = str(error.get("message") or "the call failed")
            raise (EgressError if error.get("egress") else CallError)(kind, message)
        response = reply.get("response") or {}
        return HttpResponse(
            status=int(response.get("status") or 0),
            headers=response.get("headers") or {},
            text=str(response.get("body") or ""),
            truncated=bool(response.get("truncated")),
        )

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
