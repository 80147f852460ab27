"""What a job reports: output, failures with a script-only trace, logs and metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import LAYER, ROOT, Sandbox, run


def test_returns_main_output_logs_and_context(sandbox: Sandbox) -> None:
    source = """
import execfabric

def main(inputs, ctx):
    name = execfabric.require(inputs, "name", str)
    print("printing", name)
    ctx.log("logging " + name)
    return {
        "greeting": "hello " + name,
        "ids": [ctx.execution_id, ctx.tenant_id, ctx.skill_id],
        "left": ctx.remaining_seconds(),
        "cwd_is_workdir": __import__("os").getcwd() == ctx.workdir,
    }
"""
    outcome = run(sandbox, source, {"name": "ada"}, timeoutSeconds=7)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.output["greeting"] == "hello ada"
    assert outcome.output["ids"] == ["exec-1", "acme", "skill-1"]
    assert 0 < outcome.output["left"] <= 7
    assert outcome.output["cwd_is_workdir"] is True
    # ctx.log at info is ordinary output (stdout, after what print wrote), not a problem (stderr).
    assert outcome.stdout.startswith("printing ada\n")
    assert outcome.stdout.endswith(" logging ada\n")
    assert outcome.stderr == ""
    assert outcome.truncated is False
    assert outcome.error is None
    assert outcome.duration_ms >= 0 and outcome.max_rss_kb > 0


def test_ctx_log_levels_choose_the_stream_and_an_unknown_level_is_refused(sandbox: Sandbox) -> None:
    source = """
def main(inputs, ctx):
    ctx.log("all fine")
    ctx.log("running low", level="warning")
    ctx.log("gave up on one", level="error")
    try:
        ctx.log("what", level="loud")
    except ValueError as error:
        return {"refused": str(error)}
    return {"refused": None}
"""
    outcome = run(sandbox, source, {}, timeoutSeconds=7)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.output == {"refused": "ctx.log level must be one of info, warning, error, not 'loud'"}
    assert outcome.stdout.endswith(" all fine\n") and "WARNING" not in outcome.stdout
    lines = outcome.stderr.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["WARNING running low", "ERROR gave up on one"]


def test_an_exception_fails_with_type_message_and_a_script_only_trace(sandbox: Sandbox) -> None:
    source = """
import json

def helper(value):
    return json.loads(value)

def main(inputs, ctx):
    try:
        helper("{not json")
    except ValueError as error:
        raise KeyError("missing thing") from error
"""
    outcome = run(sandbox, source)
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error["type"] == "KeyError"
    assert outcome.error["message"] == "'missing thing'"
    trace = outcome.error["trace"]
    assert 'File "script.py", line 11, in main' in trace
    assert 'File "script.py", line 5, in helper' in trace
    assert "json.decoder.JSONDecodeError" in trace
    assert "direct cause" in trace
    for leak in (str(ROOT), str(LAYER), "execfabric_runtime", "child.py", "site-packages", "/lib/python3"):
        assert leak not in trace


def test_a_return_value_that_is_not_json_fails_clearly(sandbox: Sandbox) -> None:
    outcome = run(sandbox, "def main(inputs, ctx):\n    return {'when': {1, 2}}\n")
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error["type"] == "OutputError"
    assert "JSON-serialisable" in outcome.error["message"] and "set" in outcome.error["message"]
    nan = run(sandbox, "def main(inputs, ctx):\n    return float('nan')\n")
    assert nan.status == "failed" and nan.error is not None and nan.error["type"] == "OutputError"


def test_errors_at_module_level_and_missing_main_fail(sandbox: Sandbox) -> None:
    broken = run(sandbox, "import no_such_module_here\n\ndef main(inputs, ctx):\n    pass\n")
    assert broken.status == "failed" and broken.error is not None
    assert broken.error["type"] == "ModuleNotFoundError"
    no_main = run(sandbox, "x = 1\n")
    assert no_main.status == "failed" and no_main.error is not None
    assert no_main.error["type"] == "ScriptError"
    syntax = run(sandbox, "def main(inputs, ctx)\n    pass\n")
    assert syntax.status == "failed" and syntax.error is not None
    assert syntax.error["type"] == "SyntaxError"


def test_leaving_early_is_a_failure_not_a_crash_of_the_runner(sandbox: Sandbox) -> None:
    exited = run(sandbox, "import sys\ndef main(inputs, ctx):\n    sys.exit(3)\n")
    assert exited.status == "failed" and exited.error is not None and exited.error["type"] == "SystemExit"
    hard = run(sandbox, "import os\ndef main(inputs, ctx):\n    print('bye')\n    os._exit(3)\n")
    assert hard.status == "failed" and hard.error is not None
    assert hard.error["type"] == "ProcessExited" and "code 3" in hard.error["message"]
    assert hard.stdout == "bye\n"
    signalled = run(sandbox, "import os, signal\ndef main(inputs, ctx):\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
    assert signalled.status == "failed" and signalled.error is not None
    assert signalled.error["type"] == "ProcessDied" and "SIGSEGV" in signalled.error["message"]


def test_cpu_metrics_leave_out_the_warm_up(sandbox: Sandbox) -> None:
    idle = run(sandbox, "def main(inputs, ctx):\n    return None\n")
    busy = run(sandbox, "def main(inputs, ctx):\n    return sum(i * i for i in range(3_000_000))\n")
    assert idle.status == busy.status == "succeeded"
    assert busy.cpu_ms > idle.cpu_ms
    assert idle.cpu_ms < 50


def test_a_job_loads_no_module_its_zygote_had_not_loaded(sandbox: Sandbox) -> None:
    # The zygote imports what jobs and the runtime's own set-up use, so that each forked child finds
    # it warm: a module a child loads itself costs every job a file read and an unmarshal (the ASCII
    # codec of the runtime's /proc reads did, until the zygote loaded it).
    import subprocess
    import sys

    probe = (
        "import runpy, sys\n"
        f"runpy.run_path({str(LAYER / 'execfabric_runtime' / 'zygote_main.py')!r}, run_name='probe')\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-I", "-S", "-c", probe], check=True, capture_output=True, text=True)
    zygote = set(loaded.stdout.split())
    job = run(sandbox, "import sys\n\ndef main(inputs, ctx):\n    return sorted(sys.modules)\n")
    assert job.status == "succeeded", job.error
    assert set(job.output) - zygote == set()


def test_a_script_that_reaches_for_the_network_is_told_how_to_call_out(sandbox: Sandbox) -> None:
    # A job has no network; what a script meets trying (no socket, no route, no name resolution) is
    # a bare "Permission denied", unless the failure says why and what to use instead.
    hint = "a script has no network of its own: call an HTTP resource the platform governs with ctx.http("
    for source in (
        'import urllib.request\ndef main(inputs, ctx):\n    urllib.request.urlopen("http://example.com")\n',
        'import urllib.request\ndef main(inputs, ctx):\n    urllib.request.urlopen("http://127.0.0.1:80")\n',
        'import socket\ndef main(inputs, ctx):\n    socket.create_connection(("10.0.0.1", 80), timeout=1)\n',
    ):
        outcome = run(sandbox, source)
        assert outcome.status == "failed" and outcome.error is not None, source
        assert hint in outcome.error["message"], (source, outcome.error)
    # The script's own PermissionError, no socket in sight, is reported as it is.
    own = run(sandbox, 'def main(inputs, ctx):\n    raise PermissionError(13, "not yours")\n')
    assert own.error is not None and own.error["message"] == "[Errno 13] not yours"


def test_a_script_s_own_exception_cannot_turn_its_failure_into_the_runners(sandbox: Sandbox) -> None:
    # The network hint reads what an exception wraps; a script's properties there are its own code,
    # never run by the runner (they made a script's failure a RunnerError with the script's words).
    source = """
import socket

class Sly(PermissionError):
    @property
    def reason(self):
        raise RuntimeError("the runner broke")
    @property
    def errno(self):
        raise RuntimeError("the runner broke")

def main(inputs, ctx):
    if inputs["how"] == "chain":
        error = PermissionError(13, "socket refused")
        for _ in range(3000):
            try:
                raise PermissionError(13, "socket refused") from error
            except PermissionError as linked:
                error = linked
        raise error
    raise Sly(13, "socket refused")
"""
    sly = run(sandbox, source, {"how": "sly"})
    assert sly.status == "failed" and sly.error is not None
    assert sly.error["type"] == "Sly" and "the runner broke" not in sly.error["message"], sly.error
    chain = run(sandbox, source, {"how": "chain"}, timeoutSeconds=10)
    assert chain.status == "failed" and chain.error is not None, (chain.status, chain.error)
    assert chain.error["type"] == "PermissionError"


FORGE_THEN_RUN_ON = """
import os, stat, time

def main(inputs, ctx):
    # The result pipe: the one write-only pipe that is not stdout or stderr.
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if fd > 2 and stat.S_ISFIFO(info.st_mode):
            try:
                os.write(fd, b'{"status":"succeeded","output":{"forged":true}}\\n')
                break
            except OSError:
                continue
    print("still running after my result", flush=True)
    time.sleep(30)
"""


def test_a_result_a_script_writes_itself_does_not_outlive_its_timeout(sandbox: Sandbox) -> None:
    """A script may write a result line of its own (no more than returning would), but a job the
    sandbox had to stop at its deadline is `timed_out`, whatever its result pipe said: the forged
    `succeeded` line was read first and the run recorded success after the kill."""
    outcome = run(sandbox, FORGE_THEN_RUN_ON, timeoutSeconds=2)
    assert "still running after my result" in outcome.stdout  # the forged line went out first
    assert outcome.status == "timed_out", (outcome.status, outcome.output)
    assert outcome.output is None and outcome.error is not None and outcome.error["type"] == "TimeoutError"


def test_a_result_a_script_writes_itself_does_not_outlive_a_cancel(sandbox: Sandbox) -> None:
    """The same for an operator's cancel: the stop decides, not the line the script wrote."""
    import threading

    from execfabric_runtime import Limits, RunRequest

    from conftest import DEFAULT_LIMITS

    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    outcome = sandbox.run(
        RunRequest(
            source=FORGE_THEN_RUN_ON,
            input={},
            limits=Limits.parse({**DEFAULT_LIMITS, "timeoutSeconds": 20}),
            execution_id="exec-1",
            tenant_id="acme",
            skill_id="skill-1",
            stop=stop,
        )
    )
    assert outcome.status == "cancelled", (outcome.status, outcome.output)
    assert outcome.output is None and outcome.error == {"type": "Cancelled", "message": "the run was cancelled while it ran"}


def test_a_job_that_ended_on_its_own_keeps_its_result(sandbox: Sandbox) -> None:
    """A job whose own process ended before any stop keeps the result it wrote, forged or not."""
    source = FORGE_THEN_RUN_ON.replace("time.sleep(30)", "os._exit(0)")
    outcome = run(sandbox, source, timeoutSeconds=5)
    assert outcome.status == "succeeded" and outcome.output == {"forged": True}, (outcome.status, outcome.error)


#: Writes the line `inputs["line"]` on the result pipe (the one write-only pipe that is not stdout or
#: stderr) and leaves before main() returns, as an attacker's script does.
FORGE_AND_LEAVE = """
import fcntl, os

def main(inputs, ctx):
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd in (0, 1, 2):
            continue
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if flags & os.O_ACCMODE == os.O_WRONLY and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, inputs["line"].encode() + b"\\n")
    os._exit(0)
"""


@pytest.mark.parametrize(
    "line",
    [
        '{"status":"succeeded","output":NaN}',
        '{"status":"succeeded","output":{"x":[Infinity]}}',
        '{"status":"succeeded","output":-Infinity}',
        '{"status":"succeeded","output":1e400}',
        '{"status":"failed","error":{"type":"E","message":NaN}}',
    ],
)
def test_a_result_line_with_a_number_json_cannot_carry_is_malformed(sandbox: Sandbox, line: str) -> None:
    """Python's parser takes NaN and Infinity; nothing after the worker can encode them (the result
    message is strict JSON): the worker failed to send the result and the run ended WorkerLost. The
    line is the script's (written after it started): its fault, never the platform runner's."""
    outcome = run(sandbox, FORGE_AND_LEAVE, {"line": line})
    assert outcome.status == "failed", (outcome.status, outcome.output)
    assert outcome.output is None
    assert outcome.error is not None and outcome.error["type"] == "ScriptError"
    assert outcome.error["message"].startswith("the script's result line is malformed"), outcome.error
    json.dumps(outcome.error, allow_nan=False)


@pytest.mark.parametrize(
    "forged",
    [
        {"status": "killed", "error": {"type": "LimitExceeded", "message": "out of memory", "limit": "memory"}},
        {"status": "timed_out", "error": {"type": "TimeoutError", "message": "slow"}},
        {"status": "cancelled", "error": {"type": "Cancelled", "message": "by admin"}},
        {"status": "SUCCEEDED", "output": 1},
        ["succeeded"],
    ],
)
def test_a_job_cannot_claim_a_status_the_platform_observes(sandbox: Sandbox, forged: Any) -> None:
    outcome = run(sandbox, FORGE_AND_LEAVE, {"line": json.dumps(forged)})
    assert outcome.status == "failed", (outcome.status, outcome.error)
    assert outcome.error is not None and "limit" not in outcome.error
    # The script wrote that line: a RunnerError is the platform runner's alone.
    assert outcome.error["type"] == "ScriptError" and "malformed" in outcome.error["message"]


def test_a_job_s_failure_is_the_script_s_never_a_limit_or_the_platform_s(sandbox: Sandbox) -> None:
    forged = {"status": "failed", "error": {"type": "WorkerLost", "message": "the runtime stopped", "limit": "memory"}}
    outcome = run(sandbox, FORGE_AND_LEAVE, {"line": json.dumps(forged)})
    assert outcome.status == "failed"
    assert outcome.error == {"type": "ScriptError", "message": "WorkerLost: the runtime stopped"}
    # The same holds for an exception the script raises with such a name.
    raised = run(sandbox, "class LimitExceeded(Exception):\n    pass\n\ndef main(inputs, ctx):\n    raise LimitExceeded('memory')\n")
    assert raised.status == "failed" and raised.error is not None
    assert raised.error["type"] == "ScriptError" and raised.error["message"] == "LimitExceeded: memory"
    assert "limit" not in raised.error


@pytest.mark.parametrize(
    "kind",
    [
        "TimeoutError",  # what a real timeout says (the sandbox's own)
        "LimitExceeded\u200b",  # a zero-width space: shown as LimitExceeded
        "\u2060Cancelled",
        "limitexceeded",
        "Worker Lost",
        "ＬｉｍｉｔＥｘｃｅｅｄｅｄ",  # fullwidth
        "Rejected",
    ],
)
def test_a_job_cannot_report_a_type_that_reads_as_the_platform_s(sandbox: Sandbox, kind: str) -> None:
    forged = {"status": "failed", "error": {"type": kind, "message": "stopped"}}
    outcome = run(sandbox, FORGE_AND_LEAVE, {"line": json.dumps(forged)})
    assert outcome.status == "failed"
    assert outcome.error == {"type": "ScriptError", "message": f"{kind}: stopped"}


def test_a_script_s_own_timeout_error_is_a_script_error_and_a_real_timeout_is_not(sandbox: Sandbox) -> None:
    raised = run(sandbox, "def main(inputs, ctx):\n    raise TimeoutError('upstream slow')\n")
    assert raised.status == "failed" and raised.error is not None
    assert raised.error["type"] == "ScriptError" and raised.error["message"] == "TimeoutError: upstream slow"
    real = run(sandbox, "import time\ndef main(inputs, ctx):\n    time.sleep(30)\n", timeoutSeconds=1)
    assert real.status == "timed_out" and real.error is not None and real.error["type"] == "TimeoutError"


def test_the_output_limit_is_measured_by_the_sandbox_not_the_job(sandbox: Sandbox) -> None:
    """A line the job writes itself skips the runner's own checks: the sandbox measures the output."""
    line = json.dumps({"status": "succeeded", "output": "é" * 600})  # 1 202 bytes of UTF-8 JSON
    outcome = run(sandbox, FORGE_AND_LEAVE, {"line": line}, outputBytes=1_000)
    assert outcome.status == "killed" and outcome.output is None
    assert outcome.error is not None and outcome.error["limit"] == "output"
    assert "1202 bytes" in outcome.error["message"]
    fits = run(sandbox, FORGE_AND_LEAVE, {"line": line}, outputBytes=1_202)
    assert fits.status == "succeeded" and fits.output == "é" * 600


def test_only_what_the_runner_wrote_before_the_script_started_is_its_own() -> None:
    from execfabric_runtime.limits import Limits
    from execfabric_runtime.sandbox import Capture, _Raw, interpret

    def raw(result: bytes | None, runner_result: bytes | None) -> _Raw:
        return _Raw(
            result=result,
            runner_result=runner_result,
            baseline_cpu_ms=0.0,
            result_oversize=False,
            calls=0,
            stdout=Capture(100),
            stderr=Capture(100),
            exit={"exitCode": 70, "signal": None, "cpuMs": 1, "maxRssKb": 1},
            timed_out=False,
            zygote_lost=False,
            cancelled=False,
            started_at=1.0,
            finished_at=2.0,
            duration_ms=1000,
        )

    limits = Limits.parse({"timeoutSeconds": 5, "memoryMb": 128, "outputBytes": 100, "logBytes": 100})
    fault = b'{"status":"failed","error":{"type":"RunnerError","message":"lock-down failed"}}'
    before = interpret(raw(None, fault), limits)
    assert before.status == "failed" and before.error == {"type": "RunnerError", "message": "lock-down failed"}
    after = interpret(raw(fault, None), limits)
    assert after.status == "failed" and after.error == {"type": "ScriptError", "message": "RunnerError: lock-down failed"}


CALL_WITH_NAN = """
import fcntl, json, os, time

def main(inputs, ctx):
    result_fd = job_fd = None
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd in (0, 1, 2):
            continue
        try:
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            continue
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            if mode == os.O_WRONLY:
                result_fd = fd
            elif mode == os.O_RDONLY:
                job_fd = fd
    call = '{"call":900001,"op":"data","collection":"c1","action":"put","key":"k","json":"x","expectedVersion":NaN}'
    os.write(result_fd, call.encode() + b"\\n")
    began = time.monotonic()
    reply = b""
    while not reply.endswith(b"\\n"):
        reply += os.read(job_fd, 65536)
    try:
        ctx.data.collection("c1").get("k")
        after = "answered"
    except Exception as error:
        after = type(error).__name__ + ": " + str(error)
    return {"reply": json.loads(reply), "seconds": time.monotonic() - began, "after": after}
"""


def test_a_call_with_a_number_json_cannot_carry_is_refused_and_the_run_goes_on(sandbox: Sandbox) -> None:
    """Python's parser took it and relayed it; Node could not read the host's line, never answered, and
    every later call of the run waited for its deadline."""
    relayed: list[dict[str, Any]] = []

    def relay(call: dict[str, Any], _deadline: float) -> dict[str, Any]:
        relayed.append(call)
        return {"ok": False, "error": {"type": "CollectionNotDeclared", "message": "no"}}

    from execfabric_runtime import Limits, RunRequest

    from conftest import DEFAULT_LIMITS

    outcome = sandbox.run(
        RunRequest(
            source=CALL_WITH_NAN,
            input={},
            limits=Limits.parse({**DEFAULT_LIMITS, "timeoutSeconds": 20}),
            execution_id="exec-1",
            tenant_id="acme",
            skill_id="skill-1",
            relay=relay,
        )
    )
    assert outcome.status == "succeeded", (outcome.status, outcome.error)
    reply = outcome.output["reply"]
    assert reply["reply"] == 900001 and reply["ok"] is False
    assert reply["error"]["type"] == "CallRefused" and "NaN" in reply["error"]["message"]
    assert outcome.output["seconds"] < 5
    assert "CollectionNotDeclared" in outcome.output["after"]
    # Only the later, well-formed call was relayed.
    assert [call["call"] for call in relayed] == [1]
