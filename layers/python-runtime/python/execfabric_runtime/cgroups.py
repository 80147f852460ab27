"""Memory totals per job with a cgroup (root only): every process a job starts is charged to the job's
own memory cgroup, so the limit is on the whole tree's resident memory (and its tmpfs pages), not on
one process's address space as RLIMIT_AS is.

The zygote makes one parent group at start (`execfabric-<pid namespace>-<pid>`, under its own memory
cgroup, so the host's accounting still holds), and each pre-forked child a group of its own
(`job-<pid>`), which
the child joins while it is still root. The limit is written when the job arrives, by the child
before it drops privileges; the zygote reads the peak and the OOM-kill count after the job, then
removes the group. cgroup v2 is used where its memory controller is enabled, v1's memory controller
otherwise; with neither, jobs keep only their per-process limits.

CPU, where the cpu controller can be used (v2: enabled for the same parent; v1: its own `cpu`
hierarchy, a parent and per-job groups named the same way): all jobs together weigh half a busy
task of the platform's (`cpu.weight` 50 / `cpu.shares` 512), and each job weighs the same as every
other within that. The shares only act when the CPUs are contended (an idle machine lends jobs all
of it): a job that spins in many processes then slows neither the platform's API nor another
tenant's job more than one job's share, whatever number of processes or threads it runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

V2_ROOT = "/sys/fs/cgroup"
V1_MEMORY_ROOTS = ("/sys/fs/cgroup/memory",)
V1_CPU_ROOTS = ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct")
#: What all jobs together weigh against one of the platform's busy tasks (default 100 / 1024).
JOBS_CPU_WEIGHT = 50
JOBS_CPU_SHARES = 512


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


def _own_v1_path(controller: str) -> str | None:
    """This process's cgroup path in v1's hierarchy of `controller`."""
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


@dataclass
class JobUsage:
    peak_kb: int
    oom_kills: int


class MemoryGroups:
    """The zygote's parent group and its per-job children."""

    def __init__(self, version: int, parent: str, cpu_parent: str | None = None, cpu: bool = False) -> None:
        self.version = version
        self.parent = parent
        #: v1 only: the jobs' parent in the cpu hierarchy (v2 shares `parent`).
        self.cpu_parent = cpu_parent
        #: Whether jobs are weighed by a cpu group (see the module's docstring).
        self.cpu = cpu
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
        sweep_orphans(V2_ROOT)
        parent = os.path.join(V2_ROOT, name)
        os.mkdir(parent, 0o755)
        try:
            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory")
        except OSError:
            os.rmdir(parent)
            raise
        cpu = False
        if "cpu" in controllers:
            try:
                _write(os.path.join(parent, "cgroup.subtree_control"), "+cpu")
                _write(os.path.join(parent, "cpu.weight"), str(JOBS_CPU_WEIGHT))
                cpu = True
            except OSError:
                cpu = False  # memory totals still hold; jobs share the CPU as plain processes
        return cls(2, parent, cpu=cpu)

    @classmethod
    def _create_v1(cls, name: str) -> MemoryGroups | None:
        parent = _make_v1_parent("memory", V1_MEMORY_ROOTS, "memory.limit_in_bytes", name)
        if parent is None:
            return None
        cpu_parent = _create_v1_cpu(name)
        return cls(1, parent, cpu_parent=cpu_parent, cpu=cpu_parent is not None)

    def job_path(self, pid: int) -> str:
        return os.path.join(self.parent, f"job-{pid}")

    def join(self, pid: int) -> None:
        """Called in the child (still root): makes its group and moves itself into it."""
        path = self.job_path(pid)
        os.mkdir(path, 0o755)
        _write(os.path.join(path, "cgroup.procs"), str(pid))
        if self.cpu_parent is not None:
            cpu_path = os.path.join(self.cpu_parent, f"job-{pid}")
            os.mkdir(cpu_path, 0o755)
            _write(os.path.join(cpu_path, "cgroup.procs"), str(pid))

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
        if self.cpu_parent is not None:
            self.stale.append(os.path.join(self.cpu_parent, f"job-{pid}"))
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
        for path in (self.parent, self.cpu_parent):
            if path is not None:
                _remove_tree(path)


def _remove_tree(parent: str) -> bool:
    """Removes a zygote's parent group and the job groups left in it (a spare child's, never used),
    once their processes are gone; False while any is still busy."""
    try:
        jobs = [name for name in os.listdir(parent) if name.startswith("job-")]
    except OSError:
        return False
    for name in jobs:
        try:
            os.rmdir(os.path.join(parent, name))
        except OSError:
            pass
    try:
        os.rmdir(parent)
    except OSError:
        return False
    return True


def _pid_namespace() -> str:
    """This process's pid namespace, as the inode `/proc/self/ns/pid` names (`pid:[4026531836]`);
    "0" where it cannot be read."""
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "0"
    inode = link.partition("[")[2].rstrip("]")
    return inode if inode.isdigit() else "0"


def group_name() -> str:
    """The name of this zygote's parent groups: `execfabric-<pid namespace>-<pid>`. A pid means
    something in its own namespace only: two platforms in different pid namespaces may share one
    cgroup tree (containers without a cgroup namespace of their own), and each must tell the other's
    groups from those of its own zygotes that are gone."""
    return f"execfabric-{_pid_namespace()}-{os.getpid()}"


def sweep_orphans(base: str) -> None:
    """Removes the groups of zygotes that are gone (killed before they could clean up): those named
    for this pid namespace (`group_name`) whose pid has no process. Another namespace's are left, whose
    pids this one cannot see. Names of the earlier form, `execfabric-<pid>`, which only earlier
    versions make, are swept by their pid alone, as those versions did."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    ours = _pid_namespace()
    for name in names:
        rest = name.removeprefix("execfabric-")
        namespace, _, pid = rest.rpartition("-")
        if name == rest or not pid.isdigit() or namespace not in ("", ours):
            continue
        if os.path.exists(f"/proc/{pid}"):
            continue
        _remove_tree(os.path.join(base, name))


def _make_v1_parent(controller: str, roots: tuple[str, ...], probe: str, name: str) -> str | None:
    """Makes the zygote's parent `name` below this process's own group in v1's hierarchy of
    `controller` (the first of `roots` that has `probe`), after sweeping the groups of zygotes that
    are gone; None where there is no such hierarchy. A refused mkdir raises."""
    own = _own_v1_path(controller)
    for root in roots:
        if own is None or not os.path.exists(os.path.join(root, probe)):
            continue
        base = os.path.join(root, own.lstrip("/"))
        sweep_orphans(base)
        parent = os.path.join(base, name)
        os.mkdir(parent, 0o755)
        return parent
    return None


def _create_v1_cpu(name: str) -> str | None:
    """The jobs' parent in v1's cpu hierarchy, with its shares; None where there is none to use."""
    try:
        parent = _make_v1_parent("cpu", V1_CPU_ROOTS, "cpu.shares", name)
    except OSError:
        return None
    if parent is None:
        return None
    try:
        _write(os.path.join(parent, "cpu.shares"), str(JOBS_CPU_SHARES))
    except OSError:
        os.rmdir(parent)
        return None
    return parent


def _field(text: str, name: str) -> int:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name and parts[1].isdigit():
            return int(parts[1])
    return 0
