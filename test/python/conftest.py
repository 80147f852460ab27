"""Shared fixtures of the Python runtime suite: the layer and the worker on sys.path, and one Sandbox
per module whose parent process carries fake platform secrets (jobs must never see them)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "python-runtime" / "python"
WORKER = ROOT / "functions" / "script-worker"
sys.path[:0] = [str(LAYER), str(WORKER)]

from execfabric_runtime import Limits, Outcome, RunRequest, Sandbox  # noqa: E402

FAKE_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key-0001",
    "AWS_SESSION_TOKEN": "fake-session-token-0001",
    "EXECFABRIC_TOKEN_SECRET": "fake-token-secret-0001",
    "EXECFABRIC_CLAIMS_TABLE": "fake-claims-table",
}

IS_ROOT = os.geteuid() == 0
requires_root = pytest.mark.skipif(not IS_ROOT, reason="the privilege drop only happens when the runner is root")

DEFAULT_LIMITS: dict[str, Any] = {"timeoutSeconds": 10, "memoryMb": 256, "outputBytes": 1_048_576, "logBytes": 65_536}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    saved = {name: os.environ.get(name) for name in FAKE_SECRETS}
    os.environ.update(FAKE_SECRETS)
    try:
        with Sandbox() as box:
            yield box
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(box: Sandbox, source: str, inputs: dict[str, Any] | None = None, **limits: Any) -> Outcome:
    return box.run(
        RunRequest(
            source=source,
            input=inputs or {},
            limits=Limits.parse({**DEFAULT_LIMITS, **limits}),
            execution_id="exec-1",
            tenant_id="acme",
            skill_id="skill-1",
        )
    )


def live_descendants(pid: int) -> set[int]:
    """Every live (non-zombie) process below pid."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children", encoding="ascii") as handle:
                children = [int(part) for part in handle.read().split()]
        except OSError:
            continue
        for child in children:
            try:
                with open(f"/proc/{child}/stat", encoding="ascii", errors="replace") as handle:
                    state = handle.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.add(child)
            frontier.append(child)
    return found


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
        return [int(part) for part in handle.read().split()]


def job_parent(box: Sandbox) -> int:
    """The host pid of the process whose children are the sandbox's job processes: the zygote, which
    is the waiter's one child where it is process 1 of a pid namespace of its own (the waiter's pid is
    the one the Sandbox knows)."""
    box.start()
    zygote = box.zygote_pid
    assert zygote is not None and box.plan is not None
    if box.plan.describe().get("pid") != "zygote":
        return zygote
    children = _children(zygote)
    assert len(children) == 1, children
    return children[0]


def job_procfs(box: Sandbox) -> str:
    """Where a pid that a job names (in the zygote's pid namespace) is looked up from here: the /proc of
    the zygote's own view, which shows its namespace; the host's where jobs share it."""
    parent = job_parent(box)
    return "/proc" if parent == box.zygote_pid else f"/proc/{parent}/root/proc"


def ns_pid(pid: int) -> int:
    """A process's pid in its own pid namespace (the last of `NSpid:`), given its host pid."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    raise AssertionError(f"no NSpid for {pid}")


def _real_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@contextmanager
def running_job(box: Sandbox, source: str, inputs: dict[str, Any] | None = None, **limits: Any) -> Iterator[tuple[int, list[Outcome]]]:
    """Runs `source` meanwhile and yields, while its job runs, the job's pid as the host sees it and
    the list its outcome lands in once the block ends. The job is the zygote's one child that has
    dropped to a job uid (idle children are still root), so root only; the script must stay running
    (sleep) long enough to be looked at from outside."""
    zygote = job_parent(box)
    outcome: list[Outcome] = []
    running = threading.Thread(target=lambda: outcome.append(run(box, source, inputs, **limits)))
    running.start()
    try:
        for _ in range(400):
            children = _children(zygote)
            jobs = [pid for pid in children if _real_uid(pid) not in (None, 0)]
            if jobs:
                break
            time.sleep(0.025)
        else:
            raise AssertionError("no job process of the zygote dropped to a job uid")
        yield jobs[0], outcome
    finally:
        running.join()
