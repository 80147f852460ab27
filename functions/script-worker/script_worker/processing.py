"""What the worker does with an event. An SQS batch: for each record verify and parse the job, claim it,
run it in the sandbox (relaying its `ctx.http` calls with the run's egress grant to the http-executor,
its `ctx.data` calls with the run's data grant to the data relay), send `started` if it is still
running after a second, then the `result`; a direct `{"action": "check", "source"}` call: syntax-check a script. Script failures are
results; only infrastructure failures (and poison messages, so that redrive moves them to the DLQ)
become batch item failures. A job whose MAC does not verify, or that names another tenant than the
invocation's (Lambda tenant isolation), is refused, logged as a security event and dropped."""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from execfabric_runtime import Outcome, RunRequest, SandboxError, check

from .jobs import ForgedJobError, Job, JobError, parse_job
from .live import HEARTBEAT_SECONDS, Heartbeat, LiveLog
from .messages import encode, fit_result, iso, lost_message, result_message, started_message
from .ports import Ports
from .signing import MessageKeys, mac_of

#: A claim outlives every redelivery of its message (queue retention is 4 days).
CLAIM_TTL_SECONDS = 7 * 24 * 3600
#: A claim whose last sign of life (claim or heartbeat) is older than this belongs to a dead attempt:
#: ten missed heartbeats, far beyond clock skew between workers.
LOST_AFTER_SECONDS = 10 * HEARTBEAT_SECONDS
#: Time kept back from the invocation's remaining time to send the result after a job.
RESULT_RESERVE_SECONDS = 5.0
MIN_TIMEOUT_SECONDS = 0.1
#: A result that cannot be sent is retried in place (within the reserve kept for it).
RESULT_SEND_ATTEMPTS = 4
RESULT_RETRY_SECONDS = 0.25
#: Most ctx.http calls one run may make (the same bound as the http-executor's MAX_EGRESS_CALLS_PER_RUN).
MAX_EGRESS_CALLS = 100
#: The fields of a script's call passed on to the http-executor.
CALL_FIELDS = ("resource", "method", "path", "query", "headers", "json")
#: How long past the job's deadline a ctx.http relay waits for the http-executor, which stops the
#: upstream call at that deadline and answers: its answer (a timeout) says how the call ended. Within
#: the sandbox's wait for calls in flight (`RELAY_SETTLE_SECONDS`).
ANSWER_GRACE_SECONDS = 0.5
#: The fields of a script's ctx.data call passed on to the data relay.
DATA_CALL_FIELDS = ("action", "collection", "key", "json", "expectedVersion", "prefix", "limit", "cursor")


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
    keys: MessageKeys | None,
    tenant_id: str | None = None,
    remaining_ms: Callable[[], int] | None = None,
    log: Log = json_log,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """`tenant_id` is the invocation's tenant (Lambda tenant isolation): every job must be that
    tenant's. `keys` may be None only for a syntax check."""
    if isinstance(event, Mapping) and event.get("action") == "check":
        source = event.get("source")
        return runner.check(source) if isinstance(source, str) else check(source)
    records = event.get("Records") if isinstance(event, Mapping) else None
    if isinstance(records, list):
        if keys is None:
            raise UnsupportedEventError("this worker holds no message keys: it cannot take jobs")
        failures: list[dict[str, str]] = []
        for record in records:
            message_id = record.get("messageId") if isinstance(record, Mapping) else None
            ok = process_record(
                record,
                ports=ports,
                runner=runner,
                keys=keys,
                tenant_id=tenant_id,
                remaining_ms=remaining_ms,
                log=log,
                clock=clock,
            )
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


#: The largest method and path (UTF-16 code units, as the http-executor and the recorder count them)
#: of a call the http-executor takes: a call beyond them is refused before any credential goes out.
MAX_METHOD_CHARS = 10
MAX_PATH_CHARS = 2048


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Use:
    """One credential use, from the moment its call is relayed: `begun` (what the worker knows: the
    resource, method, path and time; no status), then the http-executor's own account once it answers,
    or nothing when it refused the call before the credential went out."""

    def __init__(self, begun: dict[str, Any], started: float) -> None:
        self.begun = begun
        self.started = started
        self.answered: dict[str, Any] | None = None
        self.refused = False


class Egress:
    """A run's `ctx.http`: calls checked against the job's grant, relayed to the http-executor, each
    credential use kept for the result report. A use is kept from the moment its call is relayed, so a
    call the run's end overtakes (the job exited, timed out or was cancelled while the upstream had not
    answered, or the relay failed) is still reported: `status: 0` and `inFlight: true`."""

    def __init__(self, job: Job, ports: Ports, log: Log, context: dict[str, Any]) -> None:
        self.job = job
        self.ports = ports
        self.log = log
        self.context = context
        self.calls = 0
        self._uses: list[_Use] = []
        self._lock = threading.Lock()

    @staticmethod
    def _refused(kind: str, message: str) -> dict[str, Any]:
        return {"ok": False, "error": {"type": kind, "message": message, "egress": True}}

    def uses(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every credential use of the run so far, in the order the calls were relayed: as the
        http-executor reported it, or, for a call it has not answered, as the worker began it."""
        moment = time.time() if now is None else now
        with self._lock:
            kept = [use for use in self._uses if not use.refused]
            return [
                dict(use.answered)
                if use.answered is not None
                else {**use.begun, "durationMs": max(0, round((moment - use.started) * 1000))}
                for use in kept
            ]

    def _begin(self, call: dict[str, Any]) -> _Use | None:
        """The use a relayed call may become, kept before it is relayed; None for a call the
        http-executor refuses before reading the credential (its resource is not granted, its method
        or path is not one it takes)."""
        grant = self.job.egress
        resource, method, path = call.get("resource"), call.get("method"), call.get("path")
        granted = grant.granted(resource) if grant is not None and isinstance(resource, str) else None
        if (
            granted is None
            or not isinstance(method, str)
            or not isinstance(path, str)
            or not 0 < _utf16_length(method) <= MAX_METHOD_CHARS
            or not 0 < _utf16_length(path) <= MAX_PATH_CHARS
        ):
            return None
        started = time.time()
        use = _Use(
            {
                "resourceId": granted[0],
                "resourceVersion": granted[1],
                "method": method.upper()[:MAX_METHOD_CHARS],
                "path": path,
                "status": 0,
                "at": iso(started),
                "durationMs": 0,
                "inFlight": True,
            },
            started,
        )
        with self._lock:
            self._uses.append(use)
        return use

    def _settle(self, use: _Use | None, reply: dict[str, Any]) -> None:
        answered = reply.get("use")
        if not isinstance(answered, dict):
            if use is not None and isinstance(reply.get("ok"), bool):
                # A readable answer without a use: the call was refused before the credential went out.
                with self._lock:
                    use.refused = True
            return
        with self._lock:
            if use is None:
                # Not a call the worker expected to go out, but the http-executor says it did.
                use = _Use(answered, time.time())
                self._uses.append(use)
            use.answered = answered

    def __call__(self, call: dict[str, Any], deadline: float) -> dict[str, Any]:
        if call.get("op") != "http":
            return {"ok": False, "error": {"type": "UnknownCall", "message": f"no such call: {call.get('op')!r}"}}
        grant = self.job.egress
        resource = call.get("resource")
        if grant is None or not isinstance(resource, str) or not (grant.names(resource) or resource in grant.declared):
            return self._refused(
                "EgressNotDeclared",
                f"the HTTP resource {resource!r} is not declared in this Skill's egress; a tenant admin adds it to the Skill",
            )
        self.calls += 1
        if self.calls > MAX_EGRESS_CALLS:
            return self._refused("TooManyCalls", f"a run may make at most {MAX_EGRESS_CALLS} HTTP calls")
        payload = {
            "action": "relay",
            "grant": {"body": grant.body, "mac": grant.mac},
            "call": {name: call[name] for name in CALL_FIELDS if name in call},
            # The executor cuts the upstream call at the job's deadline (and sends none past it):
            # the relay's own wait ends there too, and a call it left running reached the upstream
            # after the run had ended. The worker's clock; it can only shorten the call.
            "deadlineMs": math.floor(deadline * 1000),
        }
        # Kept before it is relayed: if the relay fails, or the run ends before the answer, the
        # credential may have gone out all the same, and the use stays in the report (in flight).
        use = self._begin(call)
        reply = self.ports.relay(payload, timeout=max(0.1, deadline - time.time()) + ANSWER_GRACE_SECONDS)
        self._settle(use, reply)
        answer = {key: reply[key] for key in ("ok", "response", "error") if key in reply}
        if not isinstance(answer.get("ok"), bool):
            self.log({"level": "ERROR", "event": "relay-unreadable", **self.context})
            return {"ok": False, "error": {"type": "RelayError", "message": "the call could not be carried out"}}
        return answer


class DataCalls:
    """A run's `ctx.data`: calls on a collection the Skill declares are relayed, with the run's data
    grant, to the data relay (which verifies the grant and acts only in its tenant's partition); calls
    on any other collection are refused here, before anything leaves the worker."""

    def __init__(self, job: Job, ports: Ports, log: Log, context: dict[str, Any]) -> None:
        self.job = job
        self.ports = ports
        self.log = log
        self.context = context

    def __call__(self, call: dict[str, Any], deadline: float) -> dict[str, Any]:
        grant = self.job.data
        collection = call.get("collection")
        if grant is None or not isinstance(collection, str) or collection not in grant.collections:
            return {
                "ok": False,
                "error": {
                    "type": "CollectionNotDeclared",
                    "message": f"the collection {collection!r} is not declared by this Skill; a tenant admin adds it to the Skill's collections",
                },
            }
        payload = {
            "action": "data",
            "grant": {"body": grant.body, "mac": grant.mac},
            "call": {name: call[name] for name in DATA_CALL_FIELDS if name in call},
        }
        reply = self.ports.relay(payload, timeout=max(0.1, deadline - time.time()), target="data-relay")
        answer = {key: reply[key] for key in ("ok", "record", "written", "deleted", "items", "cursor", "error") if key in reply}
        if not isinstance(answer.get("ok"), bool):
            self.log({"level": "ERROR", "event": "relay-unreadable", **self.context})
            return {"ok": False, "error": {"type": "RelayError", "message": "the call could not be carried out"}}
        return answer


class Calls:
    """Every `ctx` call of a run, by its `op`: `http` (egress) or `data` (extension data)."""

    def __init__(self, egress: Egress, data: DataCalls) -> None:
        self.egress = egress
        self.data = data

    def __call__(self, call: dict[str, Any], deadline: float) -> dict[str, Any]:
        op = call.get("op")
        if op == "data":
            return self.data(call, deadline)
        return self.egress(call, deadline)


def _result_body(
    job: Job, outcome: Outcome, uses: list[dict[str, Any]], log: Log, context: dict[str, Any]
) -> str:
    """The result message of a run, always: a result the worker cannot encode (whatever the job made
    of its output or error) becomes a failure that still carries the run's credential uses, for the
    audit, and what of its logs can be encoded. No run turns into a lost worker (a redelivery would
    end it `WorkerLost` and drop its uses and logs)."""
    try:
        return fit_result(result_message(job, outcome, uses))
    except Exception as error:  # noqa: BLE001 - any fault here would lose the result and its uses
        log({"level": "ERROR", "event": "result-not-encodable", **context, "error": repr(error)})
    failed = Outcome(
        status="failed",
        error={"type": "ResultNotEncodable", "message": "the run's result could not be encoded; its output is dropped"},
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        duration_ms=outcome.duration_ms,
        cpu_ms=outcome.cpu_ms,
        max_rss_kb=outcome.max_rss_kb,
        calls=outcome.calls,
    )
    for name in ("stdout", "stderr"):
        text = getattr(outcome, name)
        if isinstance(text, str):
            encodable = _encodable(text)
            setattr(failed, name, text if encodable else f"[execfabric: {name} dropped: it could not be encoded]\n")
    failed.truncated = bool(outcome.truncated)
    failed.sandbox = outcome.sandbox if isinstance(outcome.sandbox, dict) else {}
    try:
        return fit_result(result_message(job, failed, uses))
    except Exception as error:  # noqa: BLE001 - the last resort keeps the uses and nothing else of the job's
        log({"level": "ERROR", "event": "result-not-encodable", **context, "error": repr(error)})
    failed.stdout = failed.stderr = ""
    failed.sandbox = {}
    return fit_result(result_message(job, failed, [use for use in uses if _encodable(use)]))


def _encodable(value: object) -> bool:
    try:
        encode({"value": value})
    except Exception:  # noqa: BLE001 - whatever the encoder refuses
        return False
    return True


def _security_event(
    log: Log, ports: Ports, keys: MessageKeys, what: str, message_id: object, **fields: Any
) -> None:
    """Logs a refused message and reports it (signed) through the recording path, which records it in
    the platform's audit as a security event. A report that cannot be sent is logged, not retried."""
    log({"level": "WARN", "event": "message-refused", "securityEvent": what, "messageId": message_id, **fields})
    report = encode(
        {
            "kind": "security",
            "event": what,
            "source": "queue:script-executions",
            "detail": {"messageId": str(message_id or ""), **{key: str(value)[:500] for key, value in fields.items()}},
        }
    )
    try:
        ports.send(report, keys.sign("report", report))
    except Exception as error:  # the refusal stands either way
        log({"level": "ERROR", "event": "security-report-not-sent", "messageId": message_id, "error": repr(error)})


def process_record(
    record: object,
    *,
    ports: Ports,
    runner: Runner,
    keys: MessageKeys,
    tenant_id: str | None,
    remaining_ms: Callable[[], int] | None,
    log: Log,
    clock: Callable[[], float],
) -> bool:
    """Handles one SQS record; False means "leave it on the queue" (infrastructure failure or poison)."""
    message_id = record.get("messageId") if isinstance(record, Mapping) else None
    body = record.get("body") if isinstance(record, Mapping) else None
    try:
        if not isinstance(body, str) or not isinstance(record, Mapping):
            raise JobError("the record has no body")
        job = parse_job(body, mac_of(record), keys, clock())
    except ForgedJobError as error:
        _security_event(log, ports, keys, "forged-job", message_id, error=str(error))
        return True
    except JobError as error:
        log({"level": "ERROR", "event": "poison-message", "messageId": message_id, "error": str(error)})
        return False
    if tenant_id is not None and job.tenant_id != tenant_id:
        _security_event(
            log, ports, keys, "job-for-another-tenant", message_id, jobTenant=job.tenant_id, invocationTenant=tenant_id
        )
        return True

    def send(message: str) -> None:
        ports.send(message, keys.sign("report", message))

    context = {"messageId": message_id, "jobId": job.job_id}
    try:
        now = clock()
        claimed = ports.claim(job.job_id, int(now) + CLAIM_TTL_SECONDS, now)
        # Already claimed, and the claim shows no sign of life for a while: the attempt that claimed it
        # died (its worker crashed, or could not report). The job is not run again; the run fails with
        # the cause now, instead of at its deadline. A live attempt beats the claim every second.
        last = None if claimed else ports.last_sign_of_life(job.job_id)
        lost = last is not None and now - last > LOST_AFTER_SECONDS
    except Exception as error:  # the port's own failure, whatever its client raised
        log({"level": "ERROR", "event": "claim-failed", **context, "error": repr(error)})
        return False
    if lost:
        log({"level": "WARN", "event": "attempt-lost", **context})
        try:
            send(encode(lost_message(job, clock())))
        except Exception as error:  # left for the next redelivery (or the sweep)
            log({"level": "ERROR", "event": "result-not-sent", **context, "error": repr(error)})
            return False
        return True
    if not claimed:
        log({"level": "INFO", "event": "duplicate-skipped", **context})
        return True

    started_at = clock()

    def report_started() -> None:
        # Only for a job still running after a heartbeat interval: a shorter one goes from queued to
        # its end with its result alone (one message and three table writes fewer per run), and the
        # result carries startedAt either way.
        try:
            send(encode(started_message(job, started_at)))
        except Exception as error:  # informative only
            log({"level": "WARN", "event": "started-not-sent", **context, "error": repr(error)})

    limits = job.limits
    timeout = _effective_timeout(job, remaining_ms)
    if timeout < limits.timeoutSeconds:
        log({"level": "WARN", "event": "timeout-clamped", **context, "timeoutSeconds": timeout})
        limits = limits.with_timeout(timeout)
    egress = Egress(job, ports, log, context)
    calls = Calls(egress, DataCalls(job, ports, log, context))
    # While it runs: its output goes out as live log reports, and a cancel on its claim stops it.
    live = LiveLog(job, send, log, context).start()
    watch = Heartbeat(ports.heartbeat, job.job_id, log, context, clock, on_alive=report_started).start()
    request = RunRequest(
        source=job.asset.source,
        input=job.input,
        limits=limits,
        execution_id=job.execution_id,
        tenant_id=job.tenant_id,
        skill_id=job.skill_id,
        relay=calls,
        params=job.params,
        on_output=live.feed,
        stop=watch.stop,
    )
    try:
        outcome = runner.run(request)
    except SandboxError as error:
        # Claimed already, so a redelivery would be skipped: report the failure as the job's result.
        log({"level": "ERROR", "event": "sandbox-failed", **context, "error": str(error)})
        outcome = _sandbox_failure(error, started_at, clock)
    except Exception as error:  # noqa: BLE001 - the sandbox's own bug: still the job's result, never a lost run
        log({"level": "ERROR", "event": "sandbox-failed", **context, "error": repr(error)})
        outcome = _sandbox_failure(SandboxError(type(error).__name__), started_at, clock)
    finally:
        watch.close()
        live.finish()

    uses = egress.uses()
    if any(use.get("inFlight") for use in uses):
        log({"level": "WARN", "event": "egress-in-flight", **context, "uses": sum(1 for use in uses if use.get("inFlight"))})
    body = _result_body(job, outcome, uses, log, context)
    for attempt in range(RESULT_SEND_ATTEMPTS):
        try:
            send(body)
            break
        except Exception as error:  # retried here: a redelivery would be skipped by the claim
            log({"level": "ERROR", "event": "result-not-sent", **context, "attempt": attempt + 1, "error": repr(error)})
            if attempt + 1 == RESULT_SEND_ATTEMPTS:
                return False
            time.sleep(RESULT_RETRY_SECONDS * 2**attempt)
    log({"level": "INFO", "event": "job-finished", **context, "status": outcome.status, "ms": outcome.duration_ms})
    return True
