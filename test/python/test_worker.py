"""The script worker's processing: verified jobs, claims, signed started/result messages, duplicates,
forged and poison messages, relayed ctx.http calls, the check action and fitting results into one SQS
message. Real sandbox, in-memory ports."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from typing import Any

import pytest
from conftest import Sandbox
from execfabric_runtime import Outcome
from script_worker.jobs import JobError, parse_job
from script_worker.messages import MAX_MESSAGE_BYTES, fit_result, result_message
from script_worker.processing import CLAIM_TTL_SECONDS, LOST_AFTER_SECONDS, UnsupportedEventError, process_event
from script_worker.signing import MAC_ATTRIBUTE, MessageKeys

SOURCE = "def main(inputs, ctx):\n    print('adding')\n    return {'sum': inputs['a'] + inputs['b']}\n"
KEYS = MessageKeys(jobs="j" * 40, reports="r" * 40)
NOW = 1_800_000_000.0
NOW_ISO = "2027-01-15T08:00:00.000Z"


class MemoryPorts:
    def __init__(self, *, fail_claim: bool = False, fail_send: bool = False) -> None:
        self.claims: dict[str, int] = {}
        self.sent: list[dict[str, Any]] = []
        self.relayed: list[dict[str, Any]] = []
        self.data_relayed: list[dict[str, Any]] = []
        self.fail_claim = fail_claim
        self.fail_send = fail_send
        self.stops: set[str] = set()
        self.alive: dict[str, float] = {}
        self.beats = 0

    def claim(self, job_id: str, expires_at_epoch: int, now: float) -> bool:
        if self.fail_claim:
            raise ConnectionError("dynamodb unreachable")
        if job_id in self.claims:
            return False
        self.claims[job_id] = expires_at_epoch
        self.alive[job_id] = now
        return True

    def last_sign_of_life(self, job_id: str) -> float | None:
        return self.alive.get(job_id)

    def heartbeat(self, job_id: str, now: float) -> bool:
        self.beats += 1
        self.alive[job_id] = now
        return job_id in self.stops

    def send(self, body: str, mac: str) -> None:
        if self.fail_send:
            raise ConnectionError("sqs unreachable")
        assert len(body.encode("utf-8")) <= MAX_MESSAGE_BYTES
        assert KEYS.verify("report", body, mac), "every report is signed with the reports key"
        self.sent.append(json.loads(body))

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        if target == "data-relay":
            self.data_relayed.append(payload)
            call = payload["call"]
            if call["action"] == "get":
                return {"ok": True, "record": {"key": call["key"], "json": '{"n": 12345678901234567890}', "version": 4, "updatedAt": NOW_ISO}, "extra": "dropped"}
            return {"ok": False, "error": {"type": "VersionConflict", "message": "moved", "currentVersion": 5}}
        assert target == "http-executor"
        self.relayed.append(payload)
        use = {"resourceId": "hr-000000000001", "resourceVersion": 1, "method": "GET", "path": payload["call"]["path"], "status": 200, "at": NOW_ISO, "durationMs": 3}
        return {"ok": True, "response": {"status": 200, "headers": {}, "body": '{"answer": 7}', "truncated": False}, "use": use}


def job(execution_id: str = "ex-1", source: str = SOURCE, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "python-script",
        "jobId": f"acme:{execution_id}",
        "executionId": execution_id,
        "tenantId": "acme",
        "skillId": "adder",
        "asset": {"id": "script-1", "version": 3, "sha256": hashlib.sha256(source.encode()).hexdigest(), "source": source},
        "input": {"a": 2, "b": 40},
        "limits": {"timeoutSeconds": 5, "memoryMb": 256, "outputBytes": 1_048_576, "logBytes": 65_536},
        "requestedAt": "2026-01-01T00:00:00.000Z",
        "issuedAt": NOW_ISO,
    }
    body.update(overrides)
    return body


def record(index: int, body: object, mac: str | None = "sign") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    signature = KEYS.sign("job", text) if mac == "sign" else mac
    attributes = {} if signature is None else {MAC_ATTRIBUTE: {"stringValue": signature, "dataType": "String"}}
    return {"messageId": f"m-{index}", "body": text, "eventSource": "aws:sqs", "messageAttributes": attributes}


def sqs_event(*bodies: object) -> dict[str, Any]:
    return {"Records": [record(index, body) for index, body in enumerate(bodies)]}


def quiet(_entry: dict[str, Any]) -> None:
    pass


def process(event: dict[str, Any], ports: MemoryPorts, sandbox: Sandbox, tenant: str | None = "acme", log: Any = quiet) -> dict[str, Any]:
    return process_event(event, ports=ports, runner=sandbox, keys=KEYS, tenant_id=tenant, log=log, clock=lambda: NOW)


def test_a_job_is_claimed_run_and_reported(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    response = process(sqs_event(job()), ports, sandbox)
    assert response == {"batchItemFailures": []}
    assert ports.claims == {"acme:ex-1": 1_800_000_000 + CLAIM_TTL_SECONDS}
    # Shorter than a heartbeat interval: no `started`, the result alone carries when it started.
    (result,) = ports.sent
    assert result["metrics"]["startedAt"].endswith("Z") and "T" in result["metrics"]["startedAt"]
    assert result["kind"] == "result" and result["status"] == "succeeded"
    assert result["sandbox"]["network"] in ("netns", "userns", "seccomp")
    assert result["output"] == {"sum": 42}
    assert result["logs"] == {"stdout": "adding\n", "stderr": "", "truncated": False}
    # treePeakKb: the whole process tree's peak, where a memory cgroup measures it (root).
    assert set(result["metrics"]) - {"treePeakKb"} == {"startedAt", "finishedAt", "durationMs", "cpuMs", "maxRssKb"}
    assert "error" not in result


def test_a_duplicate_delivery_is_acknowledged_without_running_again(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    process(sqs_event(job()), ports, sandbox)
    again = process(sqs_event(job()), ports, sandbox)
    assert again == {"batchItemFailures": []}
    assert [message["kind"] for message in ports.sent] == ["result"]


def test_script_failures_are_results_not_batch_failures(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    source = "def main(inputs, ctx):\n    raise ValueError('bad input')\n"
    response = process(sqs_event(job(source=source), job("ex-2", source="def main(i, c):\n    while True: pass\n", limits={"timeoutSeconds": 0.5, "memoryMb": 128, "outputBytes": 1024, "logBytes": 1024})), ports, sandbox)
    assert response == {"batchItemFailures": []}
    results = [message for message in ports.sent if message["kind"] == "result"]
    assert [result["status"] for result in results] == ["failed", "timed_out"]
    assert results[0]["error"]["type"] == "ValueError" and results[0]["error"]["message"] == "bad input"


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps(job(kind="http")),
        json.dumps(job(jobId="globex:ex-1")),
        json.dumps(job(input=[1, 2])),
        json.dumps(job(limits={"timeoutSeconds": 5})),
        json.dumps(job(limits={"timeoutSeconds": 99999, "memoryMb": 256, "outputBytes": 1, "logBytes": 1})),
        json.dumps({**job(), "asset": {**job()["asset"], "sha256": "0" * 64}}),
    ],
)
def test_poison_messages_are_failed_for_redrive_and_never_claimed(sandbox: Sandbox, body: str) -> None:
    ports = MemoryPorts()
    response = process(sqs_event(job("ok-1"), body), ports, sandbox)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert list(ports.claims) == ["acme:ok-1"]


def test_infrastructure_failures_are_batch_item_failures(sandbox: Sandbox) -> None:
    no_claims = MemoryPorts(fail_claim=True)
    assert process(sqs_event(job()), no_claims, sandbox) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert no_claims.sent == []
    no_results = MemoryPorts(fail_send=True)
    assert process(sqs_event(job()), no_results, sandbox) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}


def test_the_check_action_returns_the_check_result(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    assert process({"action": "check", "source": SOURCE}, ports, sandbox) == {"ok": True}
    failed = process({"action": "check", "source": "def main(a, b)\n"}, ports, sandbox)
    assert failed["ok"] is False and failed["error"]["line"] == 1
    assert process({"action": "check", "source": 42}, ports, sandbox)["ok"] is False
    assert ports.sent == [] and ports.claims == {}


def test_unknown_events_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(UnsupportedEventError):
        process({"hello": "world"}, MemoryPorts(), sandbox)


def parsed_job(body: dict[str, Any]) -> Any:
    text = json.dumps(body)
    return parse_job(text, KEYS.sign("job", text), KEYS, NOW)


def test_parse_job_names_the_offending_field() -> None:
    with pytest.raises(JobError) as raised:
        parsed_job(job(skillId=""))
    assert raised.value.field == "skillId"
    for bad in (0, -1, True, "3", 1.5):
        with pytest.raises(JobError) as raised:
            parsed_job(job(skillRevision=bad))
        assert raised.value.field == "skillRevision"


def test_the_result_names_the_skill_revision_of_its_job(sandbox: Sandbox) -> None:
    # The recorder writes a result naming its run's Skill revision without reading the run first.
    ports = MemoryPorts()
    process(sqs_event(job(skillRevision=4)), ports, sandbox)
    (result,) = ports.sent
    assert (result["skillId"], result["skillRevision"]) == ("adder", 4)
    older = MemoryPorts()
    process(sqs_event(job("ex-2")), older, sandbox)
    assert "skillRevision" not in older.sent[0]


@pytest.mark.parametrize(
    "forged",
    [
        record(0, job(), mac=None),
        record(0, job(), mac="v1.AAAA"),
        record(0, job(), mac=KEYS.sign("report", json.dumps(job()))),
        record(0, job(), mac=MessageKeys(jobs="x" * 40, reports="y" * 40).sign("job", json.dumps(job()))),
        record(0, job(issuedAt="2020-01-01T00:00:00.000Z")),
        record(0, job(issuedAt="2030-01-01T00:00:00.000Z")),
    ],
    ids=["unsigned", "garbage", "signed-as-report", "other-key", "stale", "future"],
)
def test_a_job_that_does_not_verify_is_dropped_unclaimed_and_logged(sandbox: Sandbox, forged: dict[str, Any]) -> None:
    ports = MemoryPorts()
    logged: list[dict[str, Any]] = []
    assert process({"Records": [forged]}, ports, sandbox, log=logged.append) == {"batchItemFailures": []}
    assert ports.claims == {}
    assert [entry.get("securityEvent") for entry in logged] == ["forged-job"]
    # Reported, signed, through the recording path (which records it as a security event).
    assert ports.sent == [
        {"kind": "security", "event": "forged-job", "source": "queue:script-executions", "detail": ports.sent[0]["detail"]}
    ]
    assert ports.sent[0]["detail"]["messageId"] == "m-0"


def test_a_job_for_another_tenant_than_the_invocation_is_dropped(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    logged: list[dict[str, Any]] = []
    assert process(sqs_event(job()), ports, sandbox, tenant="globex", log=logged.append) == {"batchItemFailures": []}
    assert ports.claims == {}
    assert logged[0]["securityEvent"] == "job-for-another-tenant"
    assert [(message["kind"], message["event"]) for message in ports.sent] == [("security", "job-for-another-tenant")]


def grant(*resources: tuple[str, str], declared: tuple[str, ...] = ()) -> dict[str, str]:
    body = json.dumps(
        {
            "v": 1,
            "tenantId": "acme",
            "executionId": "ex-1",
            "skillId": "adder",
            "declared": list(declared) or [rid for rid, _ in resources],
            "resources": [{"id": rid, "name": name, "version": 2} for rid, name in resources],
            "issuedAt": NOW_ISO,
            "expiresAt": "2030-01-01T00:00:00.000Z",
        }
    )
    return {"body": body, "mac": KEYS.sign("grant", body)}


EGRESS_SOURCE = """
import execfabric, os
def main(inputs, ctx):
    answers = {}
    for resource in ["crm", "hr-000000000001", "undeclared", "hr-000000000009"]:
        try:
            answers[resource] = ctx.http(resource, "GET", "/things/1").json()
        except execfabric.EgressError as error:
            answers[resource] = error.type
    visible = repr(ctx.__slots__) + repr(dict(os.environ)) + repr([getattr(ctx, name, None) for name in dir(ctx)])
    return {"answers": answers, "grantVisible": inputs["mac"] in visible}
"""


def test_ctx_http_is_relayed_with_the_grant_and_its_uses_are_reported(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    sealed = grant(("hr-000000000001", "crm"), declared=("hr-000000000001", "hr-000000000009"))
    body = job(source=EGRESS_SOURCE, egress=sealed, input={"mac": sealed["mac"]})
    assert process(sqs_event(body), ports, sandbox) == {"batchItemFailures": []}
    result = ports.sent[-1]
    assert result["status"] == "succeeded", result
    assert result["output"]["answers"] == {
        "crm": {"answer": 7},
        "hr-000000000001": {"answer": 7},
        "undeclared": "EgressNotDeclared",
        # Declared but no longer granted: the executor says so (here the stand-in answers for it).
        "hr-000000000009": {"answer": 7},
    }
    assert result["output"]["grantVisible"] is False
    assert [payload["grant"] for payload in ports.relayed] == [sealed] * 3
    assert ports.relayed[0]["call"] == {"resource": "crm", "method": "GET", "path": "/things/1"}
    assert [use["path"] for use in result["egress"]] == ["/things/1"] * 3
    # Each relay carries the job's deadline, which the executor cuts the upstream call at: within
    # the job's timeout of when it ran, the same for every call of the run.
    deadlines = {payload["deadlineMs"] for payload in ports.relayed}
    assert len(deadlines) == 1
    (deadline_ms,) = deadlines
    assert isinstance(deadline_ms, int)
    started_ms = time.time() * 1000
    assert started_ms - 60_000 < deadline_ms < started_ms + body["limits"]["timeoutSeconds"] * 1000


class SlowPorts(MemoryPorts):
    """An http-executor that takes `delay` seconds to answer (a slow upstream), ignoring the call's
    timeout as an AWS Lambda invoke does; `refuse` answers at once without a use (refused before the
    credential went out); `fail` raises after the delay (the relay broke)."""

    def __init__(self, delay: float, *, refuse: bool = False, fail: bool = False) -> None:
        super().__init__()
        self.delay, self.refuse, self.fail = delay, refuse, fail
        self.answered = threading.Event()

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        if self.refuse:
            return {"ok": False, "error": {"type": "HttpRequestRefused", "message": "no", "egress": True}}
        time.sleep(self.delay)
        try:
            if self.fail:
                raise ConnectionError("the executor went away")
            return super().relay(payload, timeout, target)
        finally:
            self.answered.set()


#: e2: a thread's call in flight when the main thread leaves with os._exit.
EXIT_WHILE_IN_FLIGHT = """
import os, threading, time
def main(inputs, ctx):
    threading.Thread(target=lambda: ctx.http("crm", "GET", "/slow"), daemon=True).start()
    time.sleep(0.3)
    os._exit(0)
"""
#: e3: the run times out during the call.
TIMEOUT_IN_FLIGHT = """
def main(inputs, ctx):
    ctx.http("crm", "GET", "/slow")
    return {}
"""
#: e4: a thread's call outlives a normal return.
RETURN_WHILE_IN_FLIGHT = """
import threading, time
def main(inputs, ctx):
    threading.Thread(target=lambda: ctx.http("crm", "GET", "/slow"), daemon=True).start()
    time.sleep(0.3)
    return {"done": True}
"""


def _run_slow(sandbox: Sandbox, source: str, ports: SlowPorts, timeout: int) -> dict[str, Any]:
    limits = {"timeoutSeconds": timeout, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536}
    body = job(source=source, egress=grant(("hr-000000000001", "crm")), limits=limits)
    assert process(sqs_event(body), ports, sandbox) == {"batchItemFailures": []}
    return ports.sent[-1]


@pytest.mark.parametrize("source", [EXIT_WHILE_IN_FLIGHT, RETURN_WHILE_IN_FLIGHT], ids=["os-exit", "return"])
def test_a_call_in_flight_when_the_job_ends_is_waited_for_and_its_use_reported(sandbox: Sandbox, source: str) -> None:
    """The result was built when the job ended; the relay, on its own thread, added the use later: the
    upstream had the credential, the run's egress and the audit never showed it."""
    ports = SlowPorts(2.5)
    result = _run_slow(sandbox, source, ports, timeout=20)
    assert ports.answered.is_set()
    assert result["egress"] == [
        {"resourceId": "hr-000000000001", "resourceVersion": 1, "method": "GET", "path": "/slow", "status": 200, "at": NOW_ISO, "durationMs": 3}
    ]


@pytest.mark.parametrize(
    ("source", "timeout", "status"),
    [
        (EXIT_WHILE_IN_FLIGHT, 2, None),
        (RETURN_WHILE_IN_FLIGHT, 2, "succeeded"),
        (TIMEOUT_IN_FLIGHT, 2, "timed_out"),
    ],
    ids=["os-exit", "return", "timeout"],
)
def test_a_call_still_in_flight_past_the_deadline_is_reported_as_begun(
    sandbox: Sandbox, source: str, timeout: int, status: str | None
) -> None:
    """The wait is bounded by the job's deadline (the relay's own bound): a relay that outlives it (an
    upstream slower than the run, a Lambda invoke that ignores the timeout) is reported as it began."""
    ports = SlowPorts(timeout + 4.0)
    began = time.monotonic()
    result = _run_slow(sandbox, source, ports, timeout=timeout)
    assert time.monotonic() - began < timeout + 3.5
    assert not ports.answered.is_set()
    if status is not None:
        assert result["status"] == status, result
    (use,) = result["egress"]
    assert use["inFlight"] is True and use["status"] == 0
    assert {key: use[key] for key in ("resourceId", "resourceVersion", "method", "path")} == {
        "resourceId": "hr-000000000001",
        "resourceVersion": 2,
        "method": "GET",
        "path": "/slow",
    }
    assert use["at"].endswith("Z") and use["durationMs"] >= 0
    ports.answered.wait(10)


def test_a_relay_that_breaks_leaves_its_use_in_flight_and_a_refused_call_is_no_use(sandbox: Sandbox) -> None:
    broken = _run_slow(sandbox, TIMEOUT_IN_FLIGHT, SlowPorts(0.1, fail=True), timeout=10)
    assert broken["status"] == "failed" and "RelayError" in broken["error"]["message"], broken["error"]
    assert [(use["path"], use["inFlight"]) for use in broken["egress"]] == [("/slow", True)]
    refused = _run_slow(sandbox, TIMEOUT_IN_FLIGHT, SlowPorts(0, refuse=True), timeout=10)
    assert refused["status"] == "failed"
    assert "egress" not in refused


def test_a_relay_that_outlives_its_run_never_writes_to_a_reused_descriptor(sandbox: Sandbox) -> None:
    """The relay thread wrote to the wake pipe's fd number after the run had closed it."""
    from execfabric_runtime import Limits, RunRequest

    from conftest import DEFAULT_LIMITS

    release, done = threading.Event(), threading.Event()

    def relay(call: dict[str, Any], _deadline: float) -> dict[str, Any]:
        release.wait(30)
        done.set()
        return {"ok": True, "response": {"status": 200, "headers": {}, "body": "", "truncated": False}}

    outcome = sandbox.run(
        RunRequest(
            source=TIMEOUT_IN_FLIGHT,
            input={},
            limits=Limits.parse({**DEFAULT_LIMITS, "timeoutSeconds": 1}),
            execution_id="exec-1",
            tenant_id="acme",
            skill_id="skill-1",
            relay=relay,
        )
    )
    assert outcome.status == "timed_out"
    pipes = [os.pipe2(os.O_NONBLOCK) for _ in range(4)]  # the lowest free numbers: the wake pipe's among them
    try:
        release.set()
        assert done.wait(10)
        time.sleep(0.2)
        for read_end, _write_end in pipes:
            with pytest.raises(BlockingIOError):
                os.read(read_end, 16)
    finally:
        for pair in pipes:
            for fd in pair:
                os.close(fd)


def test_a_skill_without_egress_relays_nothing(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    process(sqs_event(job(source=EGRESS_SOURCE, input={"mac": "none"})), ports, sandbox)
    assert ports.relayed == []
    assert set(ports.sent[-1]["output"]["answers"].values()) == {"EgressNotDeclared"}


def _outcome(**fields: Any) -> Outcome:
    return Outcome(status="succeeded", started_at=1.0, finished_at=2.0, duration_ms=1000, **fields)


def test_results_over_the_message_size_lose_logs_first() -> None:
    parsed = parsed_job(job())
    big_logs = _outcome(output={"small": True}, stdout="o" * MAX_MESSAGE_BYTES, stderr="é" * (MAX_MESSAGE_BYTES // 3))
    body = fit_result(result_message(parsed, big_logs))
    assert len(body) <= MAX_MESSAGE_BYTES
    message = json.loads(body)
    assert message["status"] == "succeeded" and message["output"] == {"small": True}
    assert message["logs"]["truncated"] is True
    assert message["logs"]["stdout"].startswith("ooo") and "cut to fit" in message["logs"]["stdout"]


def test_an_output_too_big_for_a_message_becomes_killed_output() -> None:
    parsed = parsed_job(job())
    huge = _outcome(output="x" * MAX_MESSAGE_BYTES, stdout="some logs\n")
    message = json.loads(fit_result(result_message(parsed, huge)))
    assert message["status"] == "killed"
    assert message["error"]["limit"] == "output"
    assert "output" not in message
    assert message["logs"]["stdout"] == "some logs\n"


class UnencodableRunner:
    """A runner whose outcome the result message cannot carry (the NaN a forged result line brought in
    once), after one ctx.http call; or one that breaks with an error of its own."""

    def __init__(self, breaks: bool = False) -> None:
        self.breaks = breaks

    def run(self, request: Any) -> Outcome:
        call = {"call": 1, "op": "http", "resource": "crm", "method": "GET", "path": "/marker"}
        assert request.relay(call, time.time() + 5)["ok"] is True
        if self.breaks:
            raise KeyError("a bug in the sandbox")
        return _outcome(output={"n": float("nan")}, stdout="kept\n", stderr="also kept\n")

    def check(self, source: str) -> dict[str, Any]:
        raise AssertionError("not used")


@pytest.mark.parametrize("breaks", [False, True])
def test_a_run_always_gets_a_result_that_carries_its_credential_uses(breaks: bool) -> None:
    """A result the worker could not encode left the invocation failed and the result unsent: the
    run ended WorkerLost at its redelivery, and its ctx.http credential use was never audited."""
    ports = MemoryPorts()
    logged: list[dict[str, Any]] = []
    body = job(egress=grant(("hr-000000000001", "crm")))
    response = process_event(
        sqs_event(body), ports=ports, runner=UnencodableRunner(breaks), keys=KEYS, tenant_id="acme", log=logged.append, clock=lambda: NOW
    )
    assert response == {"batchItemFailures": []}
    (result,) = ports.sent
    assert result["status"] == "failed" and "output" not in result
    assert result["error"]["type"] == ("SandboxError" if breaks else "ResultNotEncodable")
    assert [use["path"] for use in result["egress"]] == ["/marker"]
    if not breaks:
        assert result["logs"]["stdout"] == "kept\n" and result["logs"]["stderr"] == "also kept\n"
    assert any(entry.get("event") in ("result-not-encodable", "sandbox-failed") for entry in logged)


DATA_SOURCE = """
import execfabric

def main(inputs, ctx):
    ledger = ctx.data.collection("ledger")
    record = ledger.get("a")
    try:
        ledger.put("a", {"n": 1}, expected_version=4)
        conflict = None
    except execfabric.ConflictError as error:
        conflict = [error.type, error.current_version]
    try:
        ctx.data.collection("secrets").get("root")
        undeclared = "reached"
    except execfabric.DataError as error:
        undeclared = error.type
    smuggled = ctx._call("data", {"action": "get", "collection": "ledger", "key": "b", "tenantId": "globex"})
    return {
        "value": [record.key, record.version, record.value["n"] == 12345678901234567890],
        "conflict": conflict,
        "undeclared": undeclared,
        "smuggledKeys": sorted(smuggled),
        "params": dict(ctx.params),
    }
"""


def data_grant(*collections: str) -> dict[str, str]:
    body = json.dumps({"v": 1, "tenantId": "acme", "executionId": "ex-1", "skillId": "adder", "collections": list(collections), "issuedAt": NOW_ISO, "expiresAt": NOW_ISO})
    return {"body": body, "mac": KEYS.sign("data-grant", body)}


def test_ctx_data_is_relayed_with_the_data_grant_to_the_data_relay_only(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    sealed = data_grant("ledger")
    body = job(source=DATA_SOURCE, data=sealed, params={"region": "eu"})
    assert process(sqs_event(body), ports, sandbox) == {"batchItemFailures": []}
    result = ports.sent[-1]
    assert result["status"] == "succeeded", result
    assert result["output"] == {
        "value": ["a", 4, True],
        "conflict": ["VersionConflict", 5],
        "undeclared": "CollectionNotDeclared",
        # Only the relay's answer fields reach the script; nothing it adds, nothing the script smuggled.
        "smuggledKeys": ["ok", "record", "reply"],
        "params": {"region": "eu"},
    }
    assert ports.relayed == []
    assert [payload["grant"] for payload in ports.data_relayed] == [sealed] * 3
    assert ports.data_relayed[1]["call"] == {"action": "put", "collection": "ledger", "key": "a", "json": '{"n":1}', "expectedVersion": 4}
    assert ports.data_relayed[2]["call"] == {"action": "get", "collection": "ledger", "key": "b"}


def test_a_skill_without_collections_relays_no_data_call(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    process(sqs_event(job(source=DATA_SOURCE)), ports, sandbox)
    result = ports.sent[-1]
    assert result["status"] == "failed"
    assert result["error"]["type"] == "execfabric.DataError"
    assert "CollectionNotDeclared" in result["error"]["message"]
    assert ports.data_relayed == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"a": 1}, "params.a"), ([["a", "b"]], "params"), ({"a": "x" * 5000}, "params.a"), ({f"p{i}": "v" for i in range(65)}, "params")],
)
def test_params_that_are_not_a_small_map_of_strings_are_refused(params: Any, field: str) -> None:
    body = json.dumps(job(params=params))
    with pytest.raises(JobError) as raised:
        parse_job(body, KEYS.sign("job", body), KEYS, NOW)
    assert raised.value.field == field


# -- while a job runs: live logs and stop requests ---------------------------------------------------

STREAMING = """
import sys, time

def main(inputs, ctx):
    for n in range(5):
        print(f"line {n}", flush=True)
        sys.stderr.write(f"warn {n}\\n")
        sys.stderr.flush()
        time.sleep(0.6)
    sys.stdout.buffer.write("caf".encode() + b"\\xc3")
    sys.stdout.flush()
    time.sleep(1.2)
    sys.stdout.buffer.write(b"\\xa9 done\\n")
    sys.stdout.flush()
    return {"ok": True}
"""

SLEEPER = """
import time

def main(inputs, ctx):
    print("started", flush=True)
    time.sleep(30)
    print("never", flush=True)
    return {"ok": True}
"""


def streamed(ports: MemoryPorts, stream: str) -> str:
    chunks = [chunk for message in ports.sent if message["kind"] == "log" for chunk in message["chunks"]]
    return "".join(chunk["text"] for chunk in chunks if chunk["stream"] == stream)


def test_a_short_job_sends_its_result_alone_and_reads_no_stop_request(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    process(sqs_event(job()), ports, sandbox)
    assert [message["kind"] for message in ports.sent] == ["result"]
    assert ports.beats == 0


def test_a_longer_job_streams_its_output_whole_in_order_before_its_result(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    process(sqs_event(job(source=STREAMING)), ports, sandbox)
    kinds = [message["kind"] for message in ports.sent]
    # Still running after a heartbeat interval: `started` goes out once, with the first live log.
    assert kinds.count("started") == 1 and kinds[-1] == "result" and kinds.count("log") >= 2
    (started,) = [message for message in ports.sent if message["kind"] == "started"]
    assert started.pop("reportId") != ports.sent[-1]["reportId"]
    assert started == {
        "kind": "started",
        "jobId": "acme:ex-1",
        "executionId": "ex-1",
        "tenantId": "acme",
        "skillId": "adder",
        "startedAt": NOW_ISO,
    }
    logs = [message for message in ports.sent if message["kind"] == "log"]
    assert all(message["executionId"] == "ex-1" and message["tenantId"] == "acme" for message in logs)
    seqs = [chunk["seq"] for message in logs for chunk in message["chunks"]]
    assert seqs == list(range(1, len(seqs) + 1))
    result = ports.sent[-1]
    assert result["status"] == "succeeded"
    # The stream is whole: what was streamed is what the result kept, a character split between two
    # writes included.
    assert streamed(ports, "stdout") == result["logs"]["stdout"]
    assert streamed(ports, "stderr") == result["logs"]["stderr"]
    assert result["logs"]["stdout"].endswith("café done\n")
    assert ports.beats >= 2


def test_a_stop_request_on_the_claim_kills_the_job_and_reports_it_cancelled(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    ports.stops.add("acme:ex-stop")
    process(sqs_event(job("ex-stop", source=SLEEPER, limits={"timeoutSeconds": 60, "memoryMb": 256, "outputBytes": 65536, "logBytes": 65536})), ports, sandbox)
    result = ports.sent[-1]
    assert result["kind"] == "result" and result["status"] == "cancelled"
    assert result["error"]["type"] == "Cancelled"
    assert "never" not in result["logs"]["stdout"]
    assert result["metrics"]["durationMs"] < 30_000


def test_a_heartbeat_that_cannot_be_written_leaves_the_job_running() -> None:
    from script_worker.live import Heartbeat

    reads: list[str] = []

    def broken(job_id: str, now: float) -> bool:
        reads.append(job_id)
        raise ConnectionError("claims table unreachable")

    logged: list[dict[str, Any]] = []
    watch = Heartbeat(broken, "acme:ex-1", logged.append, {}, time.time, interval=0.05).start()
    import time as _time

    _time.sleep(0.3)
    watch.close()
    assert len(reads) >= 2 and not watch.stop.is_set()
    assert [entry["event"] for entry in logged] == ["heartbeat-failed"]


@pytest.mark.parametrize("text", ["", "a" * 20_000, "é" * 9_000, "x" + "😀" * 5_000])
def test_log_pieces_never_split_a_character_and_respect_the_limit(text: str) -> None:
    from script_worker.live import MAX_CHUNK_BYTES, _pieces

    pieces = _pieces(text, MAX_CHUNK_BYTES)
    assert "".join(pieces) == text
    assert all(0 < len(piece.encode()) <= MAX_CHUNK_BYTES for piece in pieces)


def test_a_copy_of_a_job_whose_attempt_died_fails_its_run_without_running_it_again(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    # An attempt claimed the job long ago and has not beaten its claim since: it died.
    ports.claim("acme:ex-1", 1, NOW - LOST_AFTER_SECONDS - 1)
    response = process(sqs_event(job()), ports, sandbox)
    assert response == {"batchItemFailures": []}
    [result] = ports.sent
    assert result["kind"] == "result" and result["status"] == "failed"
    assert result["error"]["type"] == "WorkerLost"
    assert result["executionId"] == "ex-1" and result["tenantId"] == "acme"


@pytest.mark.parametrize("age", [0, LOST_AFTER_SECONDS - 1], ids=["just claimed", "beaten recently"])
def test_a_copy_of_a_job_whose_attempt_is_alive_is_only_skipped(sandbox: Sandbox, age: float) -> None:
    ports = MemoryPorts()
    ports.claim("acme:ex-1", 1, NOW - age)
    assert process(sqs_event(job()), ports, sandbox) == {"batchItemFailures": []}
    assert ports.sent == []


def test_a_copy_of_a_job_a_cancel_claimed_is_only_skipped(sandbox: Sandbox) -> None:
    ports = MemoryPorts()
    ports.claims["acme:ex-1"] = 1  # a cancel's claim: no sign of life, nobody ran it
    assert process(sqs_event(job()), ports, sandbox) == {"batchItemFailures": []}
    assert ports.sent == []
