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

``ctx.data.collection(name)`` reads and writes the tenant's extension data — a collection the Skill
declares in its ``collections`` list — with conditional writes; ``ctx.params`` is a read-only mapping
of the tenant parameters the Skill declares in its ``parameters`` list::

    def main(inputs, ctx):
        counters = ctx.data.collection("counters")
        record = counters.get("visits")
        count = (record.value if record else 0) + 1
        counters.put("visits", count, expected_version=record.version if record else 0)
        return {"visits": count, "greeting": ctx.params.get("greeting", "hello")}

The full reference, with examples, is docs/ctx.md.
"""

from __future__ import annotations

import json as _json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "CallError",
    "Collection",
    "ConflictError",
    "Context",
    "Data",
    "DataError",
    "EgressError",
    "HttpResponse",
    "InputError",
    "Page",
    "Record",
    "require",
    "workfile",
]

T = TypeVar("T")

#: The levels of ``Context.log``: ``info`` on stdout, the others on stderr.
_LOG_LEVELS = ("info", "warning", "error")

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


class DataError(CallError):
    """``ctx.data`` was refused: the collection is not declared, the record does not match the
    collection's schema (``issues`` says where), a limit of the tenant's plan was reached, or the key is
    invalid."""

    def __init__(self, type: str, message: str, issues: list[dict[str, str]] | None = None) -> None:  # noqa: A002
        super().__init__(type, message)
        self.issues = issues or []


class ConflictError(DataError):
    """A conditional write or delete lost: the record is at ``current_version`` (0: it does not exist),
    not at the version the call expected. Read it again and decide."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__("VersionConflict", message)
        self.current_version = current_version


class Record:
    """One record of a collection: its key, its value (any JSON value), its version (1 for a new
    record, one more with every write) and when it was last written."""

    __slots__ = ("key", "value", "version", "updated_at")

    def __init__(self, key: str, value: Any, version: int, updated_at: str) -> None:
        self.key = key
        self.value = value
        self.version = version
        #: ISO 8601, UTC.
        self.updated_at = updated_at

    def __repr__(self) -> str:
        return f"Record(key={self.key!r}, version={self.version})"


class Page:
    """Records of a query, in key order, and the cursor of the next page (None on the last)."""

    __slots__ = ("items", "cursor")

    def __init__(self, items: list[Record], cursor: str | None) -> None:
        self.items = items
        self.cursor = cursor

    def __iter__(self) -> Iterator[Record]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page(items={len(self.items)}, cursor={self.cursor!r})"


def _record(raw: Any) -> Record:
    return Record(
        key=str(raw.get("key")),
        value=_json.loads(str(raw.get("json"))),
        version=int(raw.get("version") or 0),
        updated_at=str(raw.get("updatedAt") or ""),
    )


class Collection:
    """A collection of the tenant's extension data, as a script reaches it. Every call goes through the
    platform (the job has no network); a refused call raises ``DataError`` (``ConflictError`` for a
    lost conditional write), one the platform could not carry out ``CallError``."""

    __slots__ = ("name", "_call")

    def __init__(self, name: str, call: Call) -> None:
        self.name = name
        self._call = call

    def _ask(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        reply = self._call("data", {"action": action, "collection": self.name, **fields})
        if reply.get("ok"):
            return reply
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        kind = str(error.get("type") or "CallError")
        message = str(error.get("message") or "the call failed")
        if kind == "VersionConflict":
            raise ConflictError(message, int(error.get("currentVersion") or 0))
        if kind in ("RelayError", "CallRefused", "ChannelError", "ChannelClosed", "DataError", "UnknownCall"):
            raise CallError(kind, message)
        issues = error.get("issues") if isinstance(error.get("issues"), list) else []
        raise DataError(kind, message, [dict(issue) for issue in issues if isinstance(issue, dict)])

    def get(self, key: str) -> Record | None:
        """The record under ``key``, or None."""
        raw = self._ask("get", {"key": str(key)}).get("record")
        return None if raw is None else _record(raw)

    def put(self, key: str | None, value: Any, *, expected_version: int | None = None) -> int:
        """Writes ``value`` (any JSON value) under ``key`` and returns the record's new version.
        ``expected_version``: the version the record must be at for the write to happen (0: it must
        not exist yet); otherwise ``ConflictError``. Without it the write happens whatever the record
        is. ``key`` may be None when the collection takes keys from a field of the record."""
        try:
            text = _json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as error:
            raise DataError("InvalidRecord", f"the value is not JSON: {error}") from None
        fields: dict[str, Any] = {"json": text}
        if key is not None:
            fields["key"] = str(key)
        if expected_version is not None:
            fields["expectedVersion"] = int(expected_version)
        written = self._ask("put", fields).get("written") or {}
        return int(written.get("version") or 0)

    def delete(self, key: str, *, expected_version: int | None = None) -> bool:
        """Deletes the record; False when there was none. With ``expected_version``, only if the
        record is at that version (``ConflictError`` otherwise)."""
        fields: dict[str, Any] = {"key": str(key)}
        if expected_version is not None:
            fields["expectedVersion"] = int(expected_version)
        return bool(self._ask("delete", fields).get("deleted"))

    def query(self, prefix: str = "", *, limit: int = 50, cursor: str | None = None) -> Page:
        """Records whose key starts with ``prefix``, in key order, at most ``limit`` (1-100) per page;
        pass the page's ``cursor`` to get the next one."""
        fields: dict[str, Any] = {"prefix": str(prefix), "limit": int(limit)}
        if cursor is not None:
            fields["cursor"] = str(cursor)
        reply = self._ask("query", fields)
        items = [_record(item) for item in reply.get("items") or []]
        next_cursor = reply.get("cursor")
        return Page(items, str(next_cursor) if next_cursor else None)

    def scan(self, prefix: str = "", *, page_size: int = 100) -> Iterator[Record]:
        """Every record whose key starts with ``prefix``, page after page."""
        cursor: str | None = None
        while True:
            page = self.query(prefix, limit=page_size, cursor=cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def __repr__(self) -> str:
        return f"Collection({self.name!r})"


class Data:
    """``ctx.data``: the tenant's collections this Skill declares."""

    __slots__ = ("_call",)

    def __init__(self, call: Call) -> None:
        self._call = call

    def collection(self, name: str) -> Collection:
        return Collection(str(name), self._call)


def _no_calls(_op: str, _fields: dict[str, Any]) -> dict[str, Any]:
    raise CallError("NoChannel", "this context cannot reach the platform")


class Context:
    """What a running script knows about its execution, and its way to the platform."""

    __slots__ = ("execution_id", "tenant_id", "skill_id", "workdir", "deadline", "params", "data", "_call")

    def __init__(
        self,
        *,
        execution_id: str,
        tenant_id: str,
        skill_id: str,
        workdir: str,
        deadline: float,
        call: Call = _no_calls,
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.tenant_id = tenant_id
        self.skill_id = skill_id
        #: The job's private folder (also the current directory); wiped when the job ends.
        self.workdir = workdir
        #: Wall-clock deadline, seconds since the epoch; the job is killed when it passes.
        self.deadline = deadline
        #: The tenant parameters the Skill declares (those set when the run was dispatched); read-only.
        self.params: Mapping[str, str] = MappingProxyType(dict(params or {}))
        #: The tenant's extension data: ``ctx.data.collection(name)`` for a collection the Skill declares.
        self.data = Data(call)
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

    def log(self, message: object, level: str = "info") -> None:
        """Writes one timestamped line to the execution's logs.

        At ``"info"`` (the default) the line goes to the run's stdout, beside what ``print`` writes: it
        is the script telling how it goes, not a problem, and the run's page shows it as ordinary
        output. At ``"warning"`` or ``"error"`` it goes to the run's stderr, marked with its level
        (``WARNING``, ``ERROR``), where the page shows it as a problem — as it does the script's own
        stderr. The stream is the line's level as the platform carries it: the OS keeps the two apart,
        so no line can be mistaken for the other kind however the pipes cut them.
        """
        if level not in _LOG_LEVELS:
            raise ValueError(f"ctx.log level must be one of {', '.join(_LOG_LEVELS)}, not {level!r}")
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if level == "info":
            sys.stdout.write(f"{stamp} {message}\n")
            sys.stdout.flush()
        else:
            sys.stderr.write(f"{stamp} {level.upper()} {message}\n")
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
