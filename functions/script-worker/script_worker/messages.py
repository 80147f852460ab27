"""`started` and `result` messages for the execution-results queue, and fitting a result into one SQS
message: logs are cut first; if the output alone is too big the result becomes killed(output)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from execfabric_runtime import Outcome

from .jobs import Job

#: The results queue takes bodies up to 1 MiB (its MaximumMessageSize); keep some room below it, so
#: that an output of the declared limit (256 KiB of UTF-8 JSON) always fits with full logs.
MAX_MESSAGE_BYTES = 1024 * 1024 - 4096
MIN_LOG_CHARS = 256


def iso(epoch_seconds: float) -> str:
    """Like JavaScript's toISOString: UTC, milliseconds, `Z`."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(message: dict[str, Any]) -> str:
    """Compact ASCII JSON: every character is one byte and valid in an SQS body."""
    return json.dumps(message, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _envelope(job: Job) -> dict[str, Any]:
    return {
        "jobId": job.job_id,
        "executionId": job.execution_id,
        "tenantId": job.tenant_id,
        "skillId": job.skill_id,
        **({} if job.skill_revision is None else {"skillRevision": job.skill_revision}),
        "reportId": uuid.uuid4().hex,
    }


def started_message(job: Job, started_at: float) -> dict[str, Any]:
    return {"kind": "started", **_envelope(job), "startedAt": iso(started_at)}


def lost_message(job: Job, at: float) -> dict[str, Any]:
    """The result of a job whose earlier attempt ended without reporting (see process_record)."""
    return {
        "kind": "result",
        **_envelope(job),
        "status": "failed",
        "error": {
            "type": "WorkerLost",
            "message": "The runtime stopped during the job, or could not report its result; it was not run again",
        },
        "logs": {"stdout": "", "stderr": "", "truncated": False},
        "metrics": {"finishedAt": iso(at)},
    }


def result_message(job: Job, outcome: Outcome, egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"kind": "result", **_envelope(job), "status": outcome.status}
    if outcome.sandbox:
        message["sandbox"] = outcome.sandbox
    if egress:
        message["egress"] = egress
    if outcome.status == "succeeded":
        message["output"] = outcome.output
    if outcome.error is not None:
        message["error"] = outcome.error
    message["logs"] = {"stdout": outcome.stdout, "stderr": outcome.stderr, "truncated": outcome.truncated}
    message["metrics"] = {
        "startedAt": iso(outcome.started_at),
        "finishedAt": iso(outcome.finished_at),
        "durationMs": outcome.duration_ms,
        "cpuMs": outcome.cpu_ms,
        "maxRssKb": outcome.max_rss_kb,
        **({} if outcome.tree_peak_kb is None else {"treePeakKb": outcome.tree_peak_kb}),
        **({"calls": outcome.calls} if outcome.calls else {}),
    }
    return message


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    return f"{text[:keep]}\n[execfabric: cut to fit the result message: {len(text) - keep} characters dropped]\n"


def _size(text: str) -> int:
    """Bytes the string adds to the encoded message (escapes included, quotes not)."""
    return len(json.dumps(text, ensure_ascii=True)) - 2


def _fit_text(text: str, budget: int) -> str:
    """The longest cut of `text` (marker included) that encodes within `budget` bytes."""
    if _size(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _size(_cut(text, middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    cut = _cut(text, low)
    return cut if _size(cut) <= budget else ""


def fit_result(message: dict[str, Any], limit: int = MAX_MESSAGE_BYTES) -> str:
    """Encodes a result message within `limit` bytes: logs are cut first; an output that still does
    not fit turns the result into killed(output); an oversized error message or trace is cut last."""
    body = encode(message)
    if len(body) <= limit:
        return body
    logs = message["logs"]
    stdout, stderr = str(logs.get("stdout", "")), str(logs.get("stderr", ""))
    bare = {**message, "logs": {"stdout": "", "stderr": "", "truncated": True}}
    if len(encode(bare)) + 2 * MIN_LOG_CHARS > limit and "output" in bare:
        total = len(encode(bare.pop("output")))
        bare["status"] = "killed"
        bare["error"] = {
            "type": "LimitExceeded",
            "message": f"the return value ({total} bytes of JSON) does not fit in a result message",
            "limit": "output",
        }
    error = bare.get("error")
    if isinstance(error, dict) and len(encode(bare)) + 2 * MIN_LOG_CHARS > limit:
        bare["error"] = {**error, "message": _cut(str(error.get("message", "")), 2048)}
        if "trace" in error:
            bare["error"]["trace"] = _cut(str(error["trace"]), 8192)
    room = max(0, limit - len(encode(bare)))
    need_out, need_err = _size(stdout), _size(stderr)
    if need_out <= room // 2:
        budget_out, budget_err = need_out, room - need_out
    elif need_err <= room // 2:
        budget_out, budget_err = room - need_err, need_err
    else:
        budget_out, budget_err = room // 2, room - room // 2
    bare["logs"] = {
        "stdout": _fit_text(stdout, budget_out),
        "stderr": _fit_text(stderr, budget_err),
        "truncated": True,
    }
    return encode(bare)
