"""Memory totals per job with a cgroup (root only): every process a job starts is charged to the job's
own memory cgroup, so the limit is on the whole tree's resident memory (and its tmpfs pages), not on
one process's address space as RLIMIT_AS is.

The zygote makes one parent group at start (`execfabric-<pid>`, under its own memory cgroup, so the
host's accounting still holds), and each pre-forked child a group of its own (`job-<pid>`), which
the child joins while it is still root. The limit is written when the job arrives, by the child
before it drops privileges; the zygote reads the peak and the OOM-kill count after the job, then
removes the group. cgroup v2 is used where its memory controller is enabled, v1's memory controller
otherwise; with neither, jobs keep only their per-process limits.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

V2_ROOT = "/sys/fs/cgroup"
V1_MEMORY_ROOTS = ("/sys/fs/cgroup/memory",)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError:
        return None


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _own_path(version: int) -> str | None:
    """This process's cgroup path in the v2 hierarchy (version 2) or v1's memory hierarchy (1)."""
    text = _read("/proc/self/cgroup") or ""
    for line in text.splitlines():
        number, controllers, path = line.split(":", 2)
        if version == 2 and number == "0" and controllers == "":
            return path
        if version == 1 and "memory" in controllers.split(","):
            return path
    return None


@dataclass
class JobUsage:
    peak_kb: int
    oom_kills: int


class MemoryGroups:
    """The zygote's parent group and its per-job children."""

    def __init__(self, version: int, parent: str) -> None:
        self.version = version
        self.parent = parent
        self.stale: list[str] = []

    @property
    def kind(self) -> str:
        return f"cgroup-v{self.version}"

    @classmethod
    def create(cls, name: str) -> MemoryGroups | None:
        """The parent group for this zygote, or None where no memory cgroup can be made."""
        for make in (cls._create_v2, cls._create_v1):
            try:
                groups = make(name)
            except OSError:
                groups = None
            if groups is not None:
                return groups
        return None

    @classmethod
    def _create_v2(cls, name: str) -> MemoryGroups | None:
        controllers = (_read(os.path.join(V2_ROOT, "cgroup.controllers")) or "").split()
        if "memory" not in controllers:
            return None
        # A v2 group with processes cannot enable controllers for its children, so the parent is made
        # at the hierarchy's root (exempt from that rule), where root may write.
        parent = os.path.join(V2_ROOT, name)
        os.mkdir(parent, 0o755)
        try:
            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory")
        except OSError:
            os.rmdir(parent)
            raise
        return cls(2, parent)

    @classmethod
    def _create_v1(cls, name: str) -> MemoryGroups | None:
        own = _own_path(1)
        for root in V1_MEMORY_ROOTS:
            if own is None or not os.path.exists(os.path.join(root, "memory.limit_in_bytes")):
                continue
            base = os.path.join(root, own.lstrip("/"))
            parent = os.path.join(base, name)
            os.mkdir(parent, 0o755)
            return cls(1, parent)
        return None

    def job_path(self, pid: int) -> str:
        return os.path.join(self.parent, f"job-{pid}")

    def join(self, pid: int) -> None:
        """Called in the child (still root): makes its group and moves itself into it."""
        path = self.job_path(pid)
        os.mkdir(path, 0o755)
        _write(os.path.join(path, "cgroup.procs"), str(pid))

    def limit(self, pid: int, limit_bytes: int) -> None:
        """Called in the child when its job arrives, before the privilege drop; no swap beyond the limit."""
        path = self.job_path(pid)
        if self.version == 2:
            _write(os.path.join(path, "memory.max"), str(limit_bytes))
            if os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(os.path.join(path, "memory.swap.max"), "0")
            return
        _write(os.path.join(path, "memory.limit_in_bytes"), str(limit_bytes))
        memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            try:
                _write(memsw, str(limit_bytes))
            except OSError:
                pass  # swap accounting off: the memory limit alone applies

    def kill(self, pid: int) -> bool:
        """SIGKILLs every process in the job's group at once (cgroup v2's `cgroup.kill`): a process the
        job forked cannot slip out by forking while its siblings are killed one by one, as a sweep of
        the zygote's children allows. False where the kernel has no `cgroup.kill` (v1, before 5.14)."""
        path = os.path.join(self.job_path(pid), "cgroup.kill")
        if self.version != 2 or not os.path.exists(path):
            return False
        try:
            _write(path, "1")
        except OSError:
            return False
        return True

    def usage(self, pid: int) -> JobUsage:
        path = self.job_path(pid)
        if self.version == 2:
            peak = _read(os.path.join(path, "memory.peak"))
            events = _read(os.path.join(path, "memory.events")) or ""
            kills = _field(events, "oom_kill")
        else:
            peak = _read(os.path.join(path, "memory.max_usage_in_bytes"))
            kills = _field(_read(os.path.join(path, "memory.oom_control")) or "", "oom_kill")
        peak_bytes = int(peak.strip()) if peak and peak.strip().isdigit() else 0
        return JobUsage(peak_kb=peak_bytes // 1024, oom_kills=kills)

    def remove(self, pid: int) -> None:
        """Removes a job's group once its processes are gone (retried later if the kernel is still busy)."""
        self.stale.append(self.job_path(pid))
        self.sweep()

    def sweep(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            left = []
            for path in self.stale:
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    continue
                except OSError:
                    left.append(path)
            self.stale = left
            if not left:
                return
            time.sleep(0.001)

    def close(self) -> None:
        self.sweep(attempts=50)
        try:
            os.rmdir(self.parent)
        except OSError:
            pass


def _field(text: str, name: str) -> int:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name and parts[1].isdigit():
            return int(parts[1])
    return 0
