"""The worker's side of the sandbox: starts the zygote (clean environment, `-I -S`), hands a job to a
pre-forked child through that child's own pipes, answers the job's `ctx` calls through a relay the
caller provides, enforces the wall-clock timeout, caps what it reads and turns what happened into an
Outcome (which records the containment the job ran under).

A Sandbox runs one job at a time (as a Lambda container does); callers that want parallelism use
several Sandboxes. It is the process that talks to AWS, so it makes itself non-dumpable: a job running
under the same uid (Lambda) cannot read its memory or /proc/<pid>/environ.
"""

from __future__ import annotations

import json
import math
import os
import queue
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import osutil, protocol
from .containment import Plan
from .limits import Limits

ZYGOTE_ENTRY = Path(__file__).with_name("zygote_main.py")
ZYGOTE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
#: Job uids are this + pid: far above the ranges distributions hand to users and subuid maps.
DEFAULT_UID_BASE = 2_000_000_000
#: The result pipe may carry the output plus an error envelope (message and trace are capped in the child).
RESULT_ENVELOPE_BYTES = 64 * 1024
KILL_GRACE_SECONDS = 5.0
DRAIN_GRACE_SECONDS = 1.0
#: After a job ends, a call it left in flight is waited for until the job's deadline (a relay's own
#: bound) and this much more, and only this much after a cancel or a lost zygote: the relay's answer
#: is what tells the caller whether the call went out and how it ended (a credential use).
RELAY_SETTLE_SECONDS = 1.0
#: How often a run that may be stopped (RunRequest.stop) looks at its stop signal.
STOP_POLL_SECONDS = 0.2
#: Calls a job may make through ctx, and the largest one (the child refuses larger ones itself).
MAX_CALLS_PER_JOB = 1000
MAX_CALL_BYTES = 2 * 1024 * 1024
#: Bytes a job's calls may hold in the worker at once: calls waiting for their turn to be relayed and
#: replies the job has not read yet. A call beyond it is refused at once (a short refusal, at most
#: MAX_CALLS_PER_JOB of them; past that limit a call is refused only while the replies unread are
#: within this bound), so a job that sends calls and never reads their replies holds the worker's
#: memory to this and the one reply being relayed, not a reply for each of its calls.
MAX_PENDING_BYTES = 16 * 1024 * 1024
UNREAD_REPLIES = "too many calls are waiting: read the replies of earlier calls first"
#: Answers a relay for a call: given the call and the job's wall-clock deadline (epoch seconds),
#: returns `{"ok": True, "response": …}` or `{"ok": False, "error": {"type", "message"}}`.
Relay = Callable[[dict[str, Any], float], dict[str, Any]]
CHECK_LIMITS = Limits.parse(
    {"timeoutSeconds": 10, "memoryMb": 512, "outputBytes": 65536, "logBytes": 4096, "processes": 1}
)


#: What a job's own result line may say; the other statuses are the sandbox's to observe.
JOB_STATUSES = ("succeeded", "failed")
#: Error types the platform asserts about a run (the sandbox, the worker, the recorder and the sweep):
#: a job's line cannot claim one.
PLATFORM_ERROR_TYPES = frozenset(
    {
        "ApprovalExpired",
        "ApprovalInvalidated",
        "Cancelled",
        "DeadLettered",
        "HttpResourceChanged",
        "HttpResourceNotGranted",
        "Killed",
        "LimitExceeded",
        "NotStarted",
        "OutputSchemaViolation",
        "OutputTooLarge",
        "ProcessDied",
        "ProcessExited",
        "Rejected",
        "ResultNotEncodable",
        "ResultNotStorable",
        "RunnerError",
        "SandboxError",
        "TimeoutError",
        "UnreadableResult",
        "WorkerLost",
    }
)
#: The same names, as `_plain` reads a type (what a reader would take it for).
_PLATFORM_TYPES_PLAIN = frozenset(name.casefold() for name in PLATFORM_ERROR_TYPES)
MAX_ERROR_TYPE_CHARS = 200


class SandboxError(RuntimeError):
    """The sandbox itself failed (zygote would not start, died, or broke the protocol)."""


class _SlotLost(Exception):
    """The pre-forked child died before it was handed its job."""


@dataclass
class Capture:
    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> bytes:
        """Keeps what fits under the cap; returns the bytes kept (what a live stream may show)."""
        room = self.cap - len(self.data)
        kept = chunk[:room] if room > 0 else b""
        if kept:
            self.data += kept
        self.total += len(chunk)
        return kept

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self, stream: str) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.truncated:
            text += f"\n[execfabric: {stream} truncated: {self.total - self.cap} of {self.total} bytes dropped]\n"
        return text


class _Lines:
    """Splits a pipe's bytes into lines, capping each line; a line over the cap is dropped whole and
    counted (the flag tells which kind of line went over)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.skipping = False
        self.oversize = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not self.skipping:
                if len(self.buffer) + len(piece) > self.cap:
                    self.buffer.clear()
                    self.skipping = True
                    self.oversize += 1
                else:
                    self.buffer += piece
            if end < 0:
                break
            if not self.skipping:
                lines.append(bytes(self.buffer))
            self.buffer.clear()
            self.skipping = False
            start = end + 1
        return lines

    def rest(self) -> bytes | None:
        """An unterminated last line (a child killed mid-write), if any."""
        return bytes(self.buffer) if self.buffer and not self.skipping else None


@dataclass
class RunRequest:
    source: str
    input: dict[str, Any]
    limits: Limits
    execution_id: str
    tenant_id: str
    skill_id: str
    #: Answers the job's ctx calls (ctx.http, ctx.data); None refuses every call.
    relay: Relay | None = None
    #: ctx.params: the tenant parameters the Skill declares, as the job carries them.
    params: dict[str, str] | None = None
    #: Called (on the sandbox's thread; it must not block) with each piece of stdout or stderr the
    #: run keeps, as it arrives: `("stdout" | "stderr", bytes)`. For live logs.
    on_output: Callable[[str, bytes], None] | None = None
    #: Set by another thread to stop the run (a cancel): the job is killed and ends `cancelled`.
    stop: threading.Event | None = None


@dataclass
class Outcome:
    """What one job did. `error` carries type/message and, by status, trace or limit."""

    status: str  # succeeded | failed | timed_out | killed | cancelled
    output: Any = None
    error: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0
    duration_ms: int = 0
    cpu_ms: int = 0
    max_rss_kb: int = 0
    #: The containment the job ran under (Plan.describe()); empty when no job ran.
    sandbox: dict[str, Any] = field(default_factory=dict)
    #: Peak memory of the job's whole process tree (cgroup), when measured.
    tree_peak_kb: int | None = None
    calls: int = 0


@dataclass
class _Slot:
    pid: int
    workdir: str
    uid: int
    job_w: int
    result_r: int
    out_r: int
    err_r: int

    def close(self) -> None:
        for fd in (self.job_w, self.result_r, self.out_r, self.err_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


@dataclass
class _Raw:
    """Everything observed of one child, before interpretation. `result` is the job's last line that is
    not a call, written after the script started (the tenant's word); `runner_result` one the runner
    wrote before any job code ran (its own fault: trusted)."""

    result: bytes | None
    runner_result: bytes | None
    baseline_cpu_ms: float
    result_oversize: bool
    calls: int
    stdout: Capture
    stderr: Capture
    exit: dict[str, Any] | None
    timed_out: bool
    zygote_lost: bool
    cancelled: bool
    started_at: float
    finished_at: float
    duration_ms: int


class Sandbox:
    def __init__(
        self,
        *,
        python: str | None = None,
        jobs_parent: str | None = None,
        uid_base: int = DEFAULT_UID_BASE,
        startup_timeout: float = 10.0,
        network: str = "auto",
        seccomp_filter: bool = True,
        namespaces: bool = True,
        memory_cgroup: bool = True,
        pid_namespace: bool = True,
        unsafe_no_network_isolation: bool = False,
        hidden: list[str] | None = None,
        wipe_all_temp: bool = False,
    ) -> None:
        """`network` picks the rung (`auto`, or `netns`/`userns`/`seccomp` to force one);
        `seccomp_filter=False` leaves the filter off under a namespace rung (tests of that rung alone);
        `namespaces=False` and `memory_cgroup=False` turn those mechanisms off (what a Lambda container
        can do anyway; benchmarks compare each mechanism's cost); `network="none"` turns containment
        off altogether and is refused without `unsafe_no_network_isolation`; `pid_namespace=False` keeps
        jobs in the host's pid namespace (benchmarks measure what the zygote's own costs);
        `unsafe_no_network_isolation` lets jobs run when no rung works (never the default);
        `hidden` adds folders jobs must not see (the platform's data folder) to `/root` and `/home`;
        `wipe_all_temp` (a Lambda container, where /tmp is the worker's alone) empties the shared
        temporary folders after every job when jobs have no tmpfs of their own."""
        self.python = python or sys.executable
        self.jobs_parent = jobs_parent or os.path.join(tempfile.gettempdir(), "execfabric-jobs")
        self.uid_base = uid_base
        self.startup_timeout = startup_timeout
        self.containment = {
            "network": network,
            "seccomp": seccomp_filter,
            "namespaces": namespaces,
            "cgroups": memory_cgroup,
            "pidNamespace": pid_namespace,
            "unsafeNoNetworkIsolation": unsafe_no_network_isolation,
            **({} if hidden is None else {"hidden": ["/root", "/home", *hidden]}),
        }
        self.wipe_all_temp = wipe_all_temp
        self.plan: Plan | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._ready: deque[_Slot] = deque()
        self._exits: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        osutil.make_undumpable()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def zygote_pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None and self._control is not None:
            return
        self._teardown()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Over the control socket, not on the command line: a job is a fork of the zygote, and its
        # /proc/self/cmdline and sys.argv are the zygote's (they named the hidden folders, the
        # platform's data folder among them, and the uid base).
        config = {
            "jobsParent": self.jobs_parent,
            "uidBase": self.uid_base,
            "containment": self.containment,
            "wipeAllTemp": self.wipe_all_temp,
        }
        try:
            self._process = subprocess.Popen(
                [self.python, "-I", "-S", str(ZYGOTE_ENTRY), str(theirs.fileno())],
                env=dict(ZYGOTE_ENV),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
                close_fds=True,
                cwd="/",
                start_new_session=True,
            )
        except OSError as error:
            ours.close()
            raise SandboxError(f"could not start the zygote with {self.python}: {error}") from error
        finally:
            theirs.close()
        self._control = ours
        try:
            protocol.send(ours, {"op": "configure", "config": config})
        except OSError as error:
            self._teardown()
            raise SandboxError(f"the zygote ended before it was configured: {error}") from error
        self._wait_ready(time.monotonic() + self.startup_timeout)

    def _teardown(self) -> None:
        for slot in self._ready:
            slot.close()
        self._ready.clear()
        self._exits.clear()
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            osutil.kill_quietly(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                osutil.kill_quietly(process.pid, signal.SIGKILL, group=True)
                process.wait()

    def close(self) -> None:
        """Stops the zygote; it kills its children and removes its job folders before exiting."""
        with self._lock:
            if self._control is not None:
                try:
                    protocol.send(self._control, {"op": "stop"})
                except OSError:
                    pass
            process = self._process
            if process is not None:
                try:
                    process.wait(timeout=KILL_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
            self._teardown()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- control channel -------------------------------------------------------------------------

    def _read_control(self) -> bool:
        """Handles one control message; False when the zygote has gone."""
        assert self._control is not None
        try:
            message, fds = protocol.receive(self._control)
        except (OSError, ValueError):
            message, fds = None, []
        if message is None:
            return False
        event = message.get("event")
        if event == "hello" and isinstance(message.get("plan"), dict):
            self.plan = Plan.from_json(message["plan"])
        elif event == "ready" and len(fds) == protocol.FDS_PER_SLOT:
            for fd in fds:
                os.set_blocking(fd, False)
            self._ready.append(_Slot(int(message["pid"]), str(message["workdir"]), int(message["uid"]), *fds))
        elif event == "exit":
            self._exits[int(message["pid"])] = message
        elif event == "lost":
            pid = int(message["pid"])
            for slot in [slot for slot in self._ready if slot.pid == pid]:
                self._ready.remove(slot)
                slot.close()
            self._exits[pid] = {"lost": True}
        else:
            for fd in fds:
                os.close(fd)
        return True

    def _wait_ready(self, deadline: float) -> _Slot:
        assert self._control is not None
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError("the zygote did not offer a job process in time")
            self._control.settimeout(remaining)
            try:
                alive = self._read_control()
            except TimeoutError:
                continue
            finally:
                if self._control is not None:
                    self._control.settimeout(None)
            if not alive:
                code = self._process.poll() if self._process else None
                self._teardown()
                raise SandboxError(f"the zygote exited (code {code})")
        return self._ready[0]

    def _take(self) -> _Slot:
        for _attempt in range(2):
            self._ensure_started()
            try:
                self._wait_ready(time.monotonic() + self.startup_timeout)
            except SandboxError:
                self._teardown()
                continue
            slot = self._ready.popleft()
            assert self._control is not None
            protocol.send(self._control, {"op": "take", "pid": slot.pid})
            return slot
        raise SandboxError("the zygote failed twice in a row")

    # -- running a request -----------------------------------------------------------------------

    def _execute(self, payload: bytes, request: RunRequest, deadline: float) -> _Raw:
        with self._lock:
            for _attempt in range(3):
                try:
                    slot = self._take()
                except OSError as error:
                    self._teardown()
                    raise SandboxError(f"the zygote is unreachable: {error}") from error
                try:
                    return self._drive(slot, payload, request, deadline)
                except _SlotLost:
                    continue  # the child died before it could read the job: nothing ran, use the next one
                finally:
                    slot.close()
            raise SandboxError("job processes keep dying before they start")

    def _drive(self, slot: _Slot, payload: bytes, request: RunRequest, job_deadline: float) -> _Raw:
        assert self._control is not None
        limits, relay, on_output, stop = request.limits, request.relay, request.on_output, request.stop
        stdout, stderr = Capture(limits.logBytes), Capture(limits.logBytes)
        # The result line is ASCII-escaped JSON: up to 6 bytes for each byte the limit counts.
        lines = _Lines(max(6 * limits.outputBytes + RESULT_ENVELOPE_BYTES, MAX_CALL_BYTES))
        baseline: float | None = None
        result: bytes | None = None
        runner_result: bytes | None = None
        script_started = False
        calls = 0
        replies: queue.SimpleQueue[tuple[int, dict[str, Any]]] = queue.SimpleQueue()
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # A relay that outlives the run must not write to the wake pipe once it is closed: its fd
        # number may by then be another file's. Closing and writing both hold this lock.
        wake_lock = threading.Lock()
        wake_closed = threading.Event()
        relays: list[threading.Thread] = []
        waiting: list[tuple[dict[str, Any], int]] = []  # calls received while one is being relayed, with their size
        waiting_bytes = 0
        relaying = False
        started_at = time.time()
        begun = time.monotonic()
        deadline = begun + limits.timeoutSeconds
        timed_out = zygote_lost = cancelled = False
        exit_info: dict[str, Any] | None = None
        outbox = bytearray(payload)
        selector = selectors.DefaultSelector()
        readers = {slot.out_r: stdout, slot.err_r: stderr}
        names = {slot.out_r: "stdout", slot.err_r: "stderr"}
        for fd in (*readers, slot.result_r):
            selector.register(fd, selectors.EVENT_READ)
        selector.register(slot.job_w, selectors.EVENT_WRITE)
        selector.register(self._control, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        open_streams = {slot.out_r, slot.err_r, slot.result_r}
        drain_until: float | None = None

        def start_relay(call: dict[str, Any]) -> None:
            def work() -> None:
                try:
                    reply = relay(call, job_deadline) if relay is not None else _refused("no calls are relayed for this run")
                except Exception as error:  # noqa: BLE001 - the relay's own failure is the call's answer
                    reply = {"ok": False, "error": {"type": "RelayError", "message": f"the call could not be relayed: {type(error).__name__}"}}
                replies.put((int(call["call"]), reply))
                with wake_lock:
                    if wake_closed.is_set():
                        return
                    try:
                        os.write(wake_w, b"x")
                    except OSError:
                        pass

            thread = threading.Thread(target=work, name="execfabric-relay", daemon=True)
            relays.append(thread)
            thread.start()

        def answer(number: int, reply: dict[str, Any]) -> None:
            if slot.job_w < 0:
                return
            line = json.dumps({"reply": number, **reply}, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
            outbox.extend(line.encode("ascii") + b"\n")
            try:
                selector.modify(slot.job_w, selectors.EVENT_WRITE)
            except (KeyError, ValueError):
                selector.register(slot.job_w, selectors.EVENT_WRITE)

        def on_line(line: bytes) -> None:
            nonlocal baseline, result, runner_result, script_started, calls, relaying, waiting_bytes
            if baseline is None:
                baseline = _baseline(line)
                return
            if not script_started:
                # Written by the runner before any job code ran: the marker, or the runner's own fault.
                if line == protocol.SCRIPT_STARTS:
                    script_started = True
                else:
                    runner_result = line
                return
            message, problem = _read_json(line)
            if isinstance(message, dict) and isinstance(message.get("call"), int) and not isinstance(message.get("call"), bool):
                calls += 1
                if problem is not None:
                    # Refused here, never relayed: NaN or Infinity is not JSON to Node or DynamoDB.
                    if calls <= MAX_CALLS_PER_JOB or len(outbox) <= MAX_PENDING_BYTES:
                        answer(message["call"], _refused(f"a call must be JSON: {problem}"))
                elif calls > MAX_CALLS_PER_JOB:
                    # Refused, while the job reads its replies; a job that sends calls past its limit
                    # and reads nothing gets no more refusals once MAX_PENDING_BYTES are unread: each
                    # was ~100 bytes of the worker's memory for ~12 of the job's (55 MB sent held 490).
                    if len(outbox) <= MAX_PENDING_BYTES:
                        answer(message["call"], _refused(f"a run may make at most {MAX_CALLS_PER_JOB} calls"))
                elif len(outbox) + waiting_bytes + len(line) > MAX_PENDING_BYTES:
                    answer(message["call"], _refused(UNREAD_REPLIES))
                elif relaying:
                    waiting.append((message, len(line)))
                    waiting_bytes += len(line)
                else:
                    relaying = True
                    start_relay(message)
                return
            result = line  # the last line that is not a call

        try:
            while True:
                now = time.monotonic()
                if exit_info is None and slot.pid in self._exits:
                    exit_info = self._exits.pop(slot.pid)
                    if exit_info.get("lost"):
                        raise _SlotLost()
                    drain_until = now + DRAIN_GRACE_SECONDS
                if exit_info is not None and (not open_streams or (drain_until is not None and now >= drain_until)):
                    break
                if exit_info is None and now >= deadline:
                    if timed_out or zygote_lost or cancelled:
                        break  # no exit report even after the kill: give up on this child
                    timed_out = True
                    self._kill(slot)
                    deadline = now + KILL_GRACE_SECONDS
                    continue
                if exit_info is None and stop is not None and stop.is_set() and not (cancelled or timed_out):
                    cancelled = True
                    self._kill(slot)
                    deadline = min(deadline, now + KILL_GRACE_SECONDS)
                    continue
                limit = (drain_until if exit_info is not None and drain_until is not None else deadline) - now
                if stop is not None and not cancelled:
                    limit = min(limit, STOP_POLL_SECONDS)
                for key, _events in selector.select(timeout=max(0.0, limit)):
                    fd = key.fd
                    if fd == slot.job_w:
                        if not outbox:
                            selector.unregister(fd)
                            continue
                        try:
                            written = os.write(fd, outbox)
                            del outbox[:written]
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            outbox.clear()
                            selector.unregister(fd)
                            os.close(slot.job_w)
                            slot.job_w = -1
                            continue
                        if not outbox:
                            selector.unregister(fd)
                    elif fd == wake_r:
                        try:
                            while os.read(wake_r, 512):
                                pass
                        except BlockingIOError:
                            pass
                        while not replies.empty():
                            number, reply = replies.get()
                            answer(number, reply)
                            relaying = False
                        while waiting and not relaying:
                            call, size = waiting.pop(0)
                            waiting_bytes -= size
                            if len(outbox) > MAX_PENDING_BYTES:
                                answer(int(call["call"]), _refused(UNREAD_REPLIES))
                                continue
                            relaying = True
                            start_relay(call)
                    elif fd in open_streams:
                        try:
                            chunk = os.read(fd, 65536)
                        except BlockingIOError:
                            continue
                        if not chunk:
                            selector.unregister(fd)
                            open_streams.discard(fd)
                        elif fd == slot.result_r:
                            for line in lines.feed(chunk):
                                on_line(line)
                        else:
                            kept = readers[fd].add(chunk)
                            if kept and on_output is not None:
                                try:
                                    on_output(names[fd], kept)
                                except Exception:  # noqa: BLE001 - a live view never breaks the run
                                    on_output = None
                    elif not self._read_control():
                        # The zygote is gone: nobody will report or clean up this child, so kill it here.
                        zygote_lost = True
                        selector.unregister(self._control)
                        self._kill_directly(slot)
                        exit_info = {}
                        drain_until = time.monotonic() + DRAIN_GRACE_SECONDS
                        self._teardown()
                        break
        finally:
            selector.close()
            ended = time.monotonic()
            settle = RELAY_SETTLE_SECONDS
            if not (cancelled or zygote_lost):
                settle += max(0.0, job_deadline - time.time())
            _join(relays, ended + settle)
            with wake_lock:
                wake_closed.set()
                os.close(wake_r)
                os.close(wake_w)
        tail = lines.rest()
        if tail is not None and baseline is not None:
            # Written without its line break (cut off by a kill, or a script's own write).
            if script_started:
                result = tail
            else:
                runner_result = tail
        finished = ended
        return _Raw(
            result=result,
            runner_result=runner_result,
            baseline_cpu_ms=baseline or 0.0,
            result_oversize=lines.oversize > 0 and result is None,
            calls=calls,
            stdout=stdout,
            stderr=stderr,
            exit=exit_info,
            timed_out=timed_out,
            zygote_lost=zygote_lost,
            cancelled=cancelled,
            started_at=started_at,
            finished_at=started_at + (finished - begun),
            duration_ms=round((finished - begun) * 1000),
        )

    def _kill(self, slot: _Slot) -> None:
        try:
            assert self._control is not None
            protocol.send(self._control, {"op": "kill", "pid": slot.pid})
        except OSError:
            self._kill_directly(slot)

    def _kill_directly(self, slot: _Slot) -> None:
        """Kills a job whose zygote is gone, where the job shares this process's pid namespace. In the
        zygote's own namespace the pid it reported names some other process here (or none), and the
        job needs no killing: the kernel kills every process of that namespace when the zygote ends."""
        if self.plan is not None and self.plan.own_pids:
            return
        osutil.kill_quietly(slot.pid, group=True)
        osutil.kill_quietly(slot.pid)

    # -- public API ------------------------------------------------------------------------------

    def run(self, request: RunRequest) -> Outcome:
        """Runs one script. Script failures are Outcomes; only a broken sandbox raises SandboxError."""
        self.start()
        plan = self.plan
        if plan is None or plan.network == "unavailable":
            now = time.time()
            reason = plan.reason if plan is not None else "the zygote did not say how jobs are contained"
            return Outcome(
                status="failed",
                error={"type": "SandboxError", "message": f"the run was refused: {reason}"},
                started_at=now,
                finished_at=now,
                sandbox=plan.describe() if plan is not None else {},
            )
        deadline = time.time() + request.limits.timeoutSeconds
        request_line = json.dumps(
            {
                "kind": "run",
                "source": request.source,
                "input": request.input,
                "limits": request.limits.to_json(),
                "context": {
                    "executionId": request.execution_id,
                    "tenantId": request.tenant_id,
                    "skillId": request.skill_id,
                    "deadline": deadline,
                    "params": dict(request.params or {}),
                },
            },
            ensure_ascii=True,
        )
        payload = request_line.encode("ascii") + b"\n"
        raw = self._execute(payload, request, deadline)
        outcome = interpret(raw, request.limits, signals_filtered=plan.seccomp)
        outcome.sandbox = plan.describe()
        return outcome

    def check(self, source: str) -> dict[str, Any]:
        """`check(source)` run inside a job process, so that even the parser meets the limits."""
        payload = json.dumps({"kind": "check", "source": source, "limits": CHECK_LIMITS.to_json()}).encode() + b"\n"
        request = RunRequest(source=source, input={}, limits=CHECK_LIMITS, execution_id="", tenant_id="", skill_id="")
        raw = self._execute(payload, request, time.time() + CHECK_LIMITS.timeoutSeconds)
        parsed = _parse_result(raw.result)
        if parsed is not None and isinstance(parsed.get("check"), dict):
            return parsed["check"]
        reason = "took too long" if raw.timed_out else "did not complete"
        return {"ok": False, "error": {"message": f"the syntax check {reason}", "line": None, "offset": None}}


def _join(threads: list[threading.Thread], until: float) -> None:
    """Waits for `threads` to end, until `until` (monotonic) at the latest."""
    for thread in threads:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        thread.join(remaining)


def _baseline(line: bytes) -> float:
    """The child's pre-job CPU milliseconds (its first line)."""
    try:
        return float(json.loads(line)["cpuMs"])
    except (ValueError, KeyError, TypeError):
        return 0.0


def _refused(message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"type": "CallRefused", "message": message}}


class _NotFinite(ValueError):
    """A number JSON cannot carry: NaN, Infinity, or one beyond a double's range."""


def _not_finite(token: str) -> Any:
    raise _NotFinite(f"{token} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{text[:40]} is beyond a double's range")
    return value


def _finite_int(text: str) -> int:
    value = int(text)
    if abs(value) > sys.float_info.max:
        raise _NotFinite(f"{text[:40]}… is beyond a double's range")
    return value


def _read_json(data: bytes) -> tuple[Any, str | None]:
    """A line as JSON, read as Node and DynamoDB read it (Python's own parser takes NaN and Infinity,
    which nothing downstream can encode or read): `(value, None)`, or `(what the lenient parser made
    of it, or None; why it is not JSON)`."""
    try:
        return json.loads(data, parse_constant=_not_finite, parse_float=_finite_float, parse_int=_finite_int), None
    except _NotFinite as error:
        try:
            lenient = json.loads(data)
        except (ValueError, RecursionError):
            lenient = None
        return lenient, str(error)
    except (ValueError, RecursionError) as error:
        return None, f"not JSON ({type(error).__name__})"


def _parse_result(data: bytes | None) -> dict[str, Any] | None:
    if not data:
        return None
    parsed, problem = _read_json(data)
    return parsed if problem is None and isinstance(parsed, dict) else None


def _job_line(data: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """The job's result line: `(result, None)`; `(None, why)` when it is malformed; `(None, None)`
    when there is none. A job may say only that it succeeded (with its output) or failed: a limit, a
    timeout, a cancel or a fault of the runner is the platform's to observe, never the job's to say."""
    if data is None:
        return None, None
    parsed, problem = _read_json(data)
    if problem is not None:
        return None, problem
    if not isinstance(parsed, dict):
        return None, "not a JSON object"
    status = parsed.get("status")
    if status not in JOB_STATUSES:
        return None, f"a job reports succeeded or failed, not {status!r:.40}"
    return parsed, None


def _output_size(value: Any) -> int | None:
    """Bytes of the output as the platform's API counts them (compact JSON in UTF-8); None if it
    cannot be written again (nested deeper than the encoder goes)."""
    try:
        compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):
        return None
    return len(compact.encode("utf-8", "surrogatepass"))


def _killed(limit: str, message: str) -> tuple[str, dict[str, Any]]:
    return "killed", {"type": "LimitExceeded", "message": message, "limit": limit}


def interpret(raw: _Raw, limits: Limits, *, signals_filtered: bool = True) -> Outcome:
    """Decides the status of a job from what its child reported and how it ended. What the job's own
    line says is the tenant's word: it may end its run succeeded or failed, and nothing else.

    A job can also end its own process with any signal, so a signal reads as a limit only where the
    sandbox can tell it was the limit's: SIGXCPU (or the hard limit's SIGKILL) when the process's own
    CPU time reached `cpuSeconds`; SIGXFSZ where the job ran under the seccomp filter
    (`signals_filtered`), which refuses every way of sending it or lowering the file-size limit."""
    exit_info = raw.exit or {}
    cpu_ms = max(0, round(float(exit_info.get("cpuMs") or 0) - raw.baseline_cpu_ms))
    runner_fault = _parse_result(raw.runner_result)
    parsed, malformed = _job_line(raw.result)
    oom_killed = int(exit_info.get("oomKills") or 0) > 0
    status: str
    output: Any = None
    error: dict[str, Any] | None = None
    stop = _stop_of(raw, limits)
    if oom_killed:
        # One of the job's processes was killed for the tree's memory: the job hit its limit, whatever
        # the rest of it made of that.
        status, error = _killed(
            "memory", f"the script's processes together used more than {limits.memoryMb} MB of memory"
        )
    elif stop is not None and not isinstance(exit_info.get("exitCode"), int):
        # The sandbox stopped a job that had not ended on its own: the stop decides, whatever its
        # result pipe says. A script can write a result line itself and go on running; read first,
        # that line turned a timeout or an operator's cancel into `succeeded`.
        status, error = stop
    elif runner_fault is not None:
        # Written before any job code ran: the runner's own fault, as it said.
        status = "failed"
        fault = runner_fault.get("error")
        message = fault.get("message") if isinstance(fault, dict) else None
        error = {"type": "RunnerError", "message": str(message or "the runner failed before the script started")}
    elif parsed is not None and parsed["status"] == "succeeded":
        output = parsed.get("output")
        size = _output_size(output)
        if size is None:
            output = None
            status, error = "failed", {
                "type": "ScriptError",
                "message": "the script's result is malformed: its output cannot be written as JSON",
            }
        elif size > limits.outputBytes:
            output = None
            status, error = _killed(
                "output", f"the return value is {size} bytes of JSON, over the limit of {limits.outputBytes}"
            )
        else:
            status = "succeeded"
    elif parsed is not None:
        status, error = "failed", _script_error(parsed.get("error"))
    elif stop is not None:
        status, error = stop
    elif raw.zygote_lost:
        status, error = "failed", {"type": "SandboxError", "message": "the sandbox supervisor stopped during the job"}
    elif raw.result_oversize:
        status, error = _killed("output", f"the script's result exceeded {limits.outputBytes} bytes")
    else:
        sig = exit_info.get("signal")
        code = exit_info.get("exitCode")
        own_cpu_ms = float(exit_info.get("ownCpuMs", exit_info.get("cpuMs")) or 0)
        if sig in (signal.SIGXCPU, signal.SIGKILL) and round(own_cpu_ms) >= limits.cpuSeconds * 1000:
            status, error = _killed("cpu", f"the script used more than {limits.cpuSeconds} seconds of CPU")
        elif sig == signal.SIGXCPU:
            # The job's process ended on SIGXCPU short of its CPU time: not the limit's signal, but
            # one the script sent itself (or asked the kernel for, under a limit it lowered).
            status, error = "failed", {
                "type": "ScriptError",
                "message": (
                    f"the script's process was killed by SIGXCPU after {own_cpu_ms / 1000:.2f} of its "
                    f"{limits.cpuSeconds} seconds of CPU: a signal of the script's own, not the CPU limit"
                ),
            }
        elif sig == signal.SIGXFSZ and signals_filtered:
            # The kernel counts a file's size, not what was written: a seek past the end then a write,
            # or a truncate, reaches the limit with nothing stored.
            status, error = _killed(
                "file-size",
                f"the script made a file larger than its limit of {limits.fileSizeBytes} bytes "
                "(by writing, or by a seek or truncate past the end)",
            )
        elif sig == signal.SIGXFSZ:
            status, error = "failed", {
                "type": "ScriptError",
                "message": (
                    "the script's process was killed by SIGXFSZ, which jobs here (no seccomp filter) can send "
                    f"themselves: it is not reported as the file-size limit of {limits.fileSizeBytes} bytes"
                ),
            }
        elif sig is not None:
            status = "failed"
            error = {"type": "ProcessDied", "message": f"the script's process was killed by {_signal_name(sig)}"}
        elif malformed is not None:
            status = "failed"
            error = {"type": "ScriptError", "message": f"the script's result line is malformed: {malformed}"}
        else:
            status = "failed"
            error = {
                "type": "ProcessExited",
                "message": f"the script's process exited with code {code} before main() returned",
            }
    return Outcome(
        status=status,
        output=output,
        error=error,
        stdout=raw.stdout.text("stdout"),
        stderr=raw.stderr.text("stderr"),
        truncated=raw.stdout.truncated or raw.stderr.truncated,
        started_at=raw.started_at,
        finished_at=raw.finished_at,
        duration_ms=raw.duration_ms,
        cpu_ms=cpu_ms,
        max_rss_kb=int(exit_info.get("maxRssKb") or 0),
        tree_peak_kb=int(exit_info["treePeakKb"]) if isinstance(exit_info.get("treePeakKb"), int) else None,
        calls=raw.calls,
    )


def _stop_of(raw: _Raw, limits: Limits) -> tuple[str, dict[str, Any]] | None:
    """The status of a job the sandbox stopped: cancelled, or timed out (unless its zygote was lost)."""
    if raw.cancelled:
        return "cancelled", {"type": "Cancelled", "message": "the run was cancelled while it ran"}
    if raw.timed_out and not raw.zygote_lost:
        message = f"the script did not finish within {limits.timeoutSeconds:g} seconds"
        return "timed_out", {"type": "TimeoutError", "message": message}
    return None


def _script_error(raw: object) -> dict[str, Any]:
    """The error a job reported, as the script's: its type, message and trace, as strings. Never a
    limit, and never a type the platform asserts (a script's own exception of such a name is reported
    as a ScriptError that names it)."""
    if not isinstance(raw, dict):
        return {"type": "ScriptError", "message": "the job reported a failure without an error"}
    kind = str(raw.get("type") or "Error")[:MAX_ERROR_TYPE_CHARS]
    message = str(raw.get("message") or "")
    if _plain(kind) in _PLATFORM_TYPES_PLAIN:
        kind, message = "ScriptError", f"{kind}: {message}"
    error: dict[str, Any] = {"type": kind, "message": message}
    if isinstance(raw.get("trace"), str):
        error["trace"] = raw["trace"]
    return error


def _plain(kind: str) -> str:
    """A type name as a reader takes it: compatibility forms folded (fullwidth letters), invisible
    characters (format characters such as a zero-width space, whitespace, controls) dropped, case
    ignored. `LimitExceeded\u200b` and `limitexceeded` read as LimitExceeded."""
    folded = unicodedata.normalize("NFKC", kind)
    kept = "".join(char for char in folded if unicodedata.category(char) not in ("Cf", "Cc", "Zs", "Zl", "Zp") and not char.isspace())
    return kept.casefold()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
