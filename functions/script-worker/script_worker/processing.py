"""What the worker does with an event. An SQS batch: for each record parse the job, claim it, send
`started`, run it in the sandbox, send the `result`; a direct `{"action": "check", "source"}` call:
syntax-check a script. Script failures are results; only infrastructure failures (and poison messages,
so that redrive moves them to the DLQ) become batch item failures."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from execfabric_runtime import Outcome, RunRequest, SandboxError, check

from .jobs import Job, JobError, parse_job
from .messages import encode, fit_result, result_message, started_message
from .ports import Ports

#: A claim outlives every redelivery of its message (queue retention is 4 days).
CLAIM_TTL_SECONDS = 7 * 24 * 3600
#: Time kept back from the invocation's remaining time to send the result after a job.
RESULT_RESERVE_SECONDS = 5.0
MIN_TIMEOUT_SECONDS = 0.1


class Runner(Protocol):
    def run(self, request: RunRequest) -> Outcome: ...

    def check(self, source: str) -> dict[str, Any]: ...


Log = Callable[[dict[str, Any]], None]


def json_log(entry: dict[str, Any]) -> None:
    """One JSON object per line on stdout (CloudWatch in Lambda, the platform's log locally)."""
    sys.stdout.write(json.dumps({"source": "script-worker", **entry}, default=str) + "\n")
    sys.stdout.flush()


class UnsupportedEventError(ValueError):
    """The event is neither an SQS batch nor a known direct action."""


def process_event(
    event: Mapping[str, Any],
    *,
    ports: Ports,
    runner: Runner,
    remaining_ms: Callable[[], int] | None = None,
    log: Log = json_log,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    if isinstance(event, Mapping) and event.get("action") == "check":
        source = event.get("source")
        return runner.check(source) if isinstance(source, str) else check(source)
    records = event.get("Records") if isinstance(event, Mapping) else None
    if isinstance(records, list):
        failures: list[dict[str, str]] = []
        for record in records:
            message_id = record.get("messageId") if isinstance(record, Mapping) else None
            ok = process_record(record, ports=ports, runner=runner, remaining_ms=remaining_ms, log=log, clock=clock)
            if not ok:
                failures.append({"itemIdentifier": str(message_id or "")})
        return {"batchItemFailures": failures}
    raise UnsupportedEventError("expected an SQS event or {'action': 'check', 'source': ...}")


def _effective_timeout(job: Job, remaining_ms: Callable[[], int] | None) -> float:
    if remaining_ms is None:
        return job.limits.timeoutSeconds
    budget = remaining_ms() / 1000 - RESULT_RESERVE_SECONDS
    return max(MIN_TIMEOUT_SECONDS, min(job.limits.timeoutSeconds, budget))


def _sandbox_failure(error: SandboxError, started_at: float, clock: Callable[[], float]) -> Outcome:
    finished = clock()
    return Outcome(
        status="failed",
        error={"type": "SandboxError", "message": f"the sandbox could not run the script: {error}"},
        started_at=started_at,
        finished_at=finished,
        duration_ms=round((finished - started_at) * 1000),
    )


def process_record(
    record: object,
    *,
    ports: Ports,
    runner: Runner,
    remaining_ms: Callable[[], int] | None,
    log: Log,
    clock: Callable[[], float],
) -> bool:
    """Handles one SQS record; False means "leave it on the queue" (infrastructure failure or poison)."""
    message_id = record.get("messageId") if isinstance(record, Mapping) else None
    body = record.get("body") if isinstance(record, Mapping) else None
    try:
        if not isinstance(body, str):
            raise JobError("the record has no body")
        job = parse_job(body)
    except JobError as error:
        log({"level": "ERROR", "event": "poison-message", "messageId": message_id, "error": str(error)})
        return False

    context = {"messageId": message_id, "jobId": job.job_id}
    try:
        claimed = ports.claim(job.job_id, int(clock()) + CLAIM_TTL_SECONDS)
    except Exception as error:  # the port's own failure, whatever its client raised
        log({"level": "ERROR", "event": "claim-failed", **context, "error": repr(error)})
        return False
    if not claimed:
        log({"level": "INFO", "event": "duplicate-skipped", **context})
        return True

    started_at = clock()
    try:
        ports.send(encode(started_message(job, started_at)))
    except Exception as error:  # `started` is informative; the result still carries startedAt
        log({"level": "WARN", "event": "started-not-sent", **context, "error": repr(error)})

    limits = job.limits
    timeout = _effective_timeout(job, remaining_ms)
    if timeout < limits.timeoutSeconds:
        log({"level": "WARN", "event": "timeout-clamped", **context, "timeoutSeconds": timeout})
        limits = limits.with_timeout(timeout)
    request = RunRequest(
        source=job.asset.source,
        input=job.input,
        limits=limits,
        execution_id=job.execution_id,
        tenant_id=job.tenant_id,
        skill_id=job.skill_id,
    )
    try:
        outcome = runner.run(request)
    except SandboxError as error:
        # Claimed already, so a redelivery would be skipped: report the failure as the job's result.
        log({"level": "ERROR", "event": "sandbox-failed", **context, "error": str(error)})
        outcome = _sandbox_failure(error, started_at, clock)

    try:
        ports.send(fit_result(result_message(job, outcome)))
    except Exception as error:
        log({"level": "ERROR", "event": "result-not-sent", **context, "error": repr(error)})
        return False
    log({"level": "INFO", "event": "job-finished", **context, "status": outcome.status, "ms": outcome.duration_ms})
    return True
