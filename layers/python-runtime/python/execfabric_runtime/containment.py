"""What keeps a job in: the mechanisms the zygote chooses at start, and how each job child enters them.

The network rungs, best first (recorded on every run as ``sandbox.network``):

``netns``   root: each job child has its own network namespace (only a loopback, down), IPC namespace
            and mount namespace, entered before its job arrives, off the job's clock.
``userns``  not root, where the kernel lets an unprivileged user create user namespaces: the zygote
            makes one user + mount namespace of its own at start; each child then gets network, IPC
            and mount namespaces as in ``netns`` and drops every capability before the job.
``seccomp`` neither (Lambda): the job runs under a seccomp filter that refuses every socket
            (``seccomp.py``).
The seccomp filter is installed on every rung where it works, under the namespaces as well (unix
sockets by path and other escape hatches are refused that way too). With no rung the worker refuses
tenant jobs, unless the operator's explicit unsafe switch is set (``none``, logged loudly).

With namespaces the job also sees a filesystem of its own: everything read-only except a private,
size-limited tmpfs on ``/tmp`` (also bound on ``/var/tmp`` and ``/dev/shm``) that holds its folder;
of the host's tree only the system's programs, libraries and configuration show (``SHOWN_AT_TOP``):
every other folder at the top (``/home``, ``/root``, ``/opt``, ``/var``, ``/srv``, the operator's
own…) and the platform's data and project folders are replaced by empty ones that show back only
what the interpreter needs to import the standard library, and every other file at the top, with
the machine's id, is a node no job can open; /sys is an empty tmpfs
(the host's showed every job's cgroup), and the job has a cgroup namespace of its own, rooted at its
job group (`/proc/self/cgroup` reads `/`); /proc's machine-wide counters (load, stall, per-CPU time, IRQs,
forks, paging, disks, ext4's free blocks) are neutral read-only files or empty folders. The tmpfs dies with the job's last process.
The zygote, where it can, is process 1 of a pid namespace of its own (`enter_pid_namespace`): its jobs
see and can name no process but those of its own sandbox, one tenant's, and their pids count only
that sandbox's forks.
Memory of the whole process tree is capped by a cgroup when root (``cgroups.py``); otherwise the
per-process limits bound it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from . import osutil, seccomp
from .cgroups import MemoryGroups, group_name

NETWORK_RUNGS = ("netns", "userns", "seccomp")
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
#: The host name a job sees (its own UTS namespace): the machine's named the host it shares.
JOB_HOSTNAME = "execfabric"
#: Pseudo-terminals a job may hold at once, in a devpts of its own: on the host's, one job held 1,425
#: of the machine's 4,096 and four took every one (no ssh, no terminal, no other tenant's pty).
JOB_PTYS = 16
#: Where a job lives when it has a mount namespace (inside its own tmpfs).
JOB_TMP = "/tmp"
JOB_FOLDER = "/tmp/job"
SHARED_TEMP_BINDS = ("/var/tmp", "/dev/shm")
DEFAULT_HIDDEN = ("/root", "/home")
#: The folders at the top of the host's tree a job sees (read-only): programs, libraries, system
#: configuration, device and kernel interfaces, and /tmp (which a job's own tmpfs covers). Every
#: other entry there is hidden, whatever the machine holds: a deny list missed what an operator keeps
#: elsewhere (an attack pass read /opt, /var/log, a database's folder under /var/lib, another
#: checkout of the platform and a file with the VM's host key at the top).
SHOWN_AT_TOP = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys", "tmp"})
#: Files inside the shown folders that identify the machine, covered like a hidden file.
COVERED_FILES = ("/etc/machine-id",)
#: Emptied folders that keep one empty folder, for what is mounted there later.
KEEP_EMPTY = {"/var": ("tmp",)}
#: File systems left writable in the zygote's view: kernel interfaces (the zygote writes cgroup files;
#: /dev holds /dev/null). Every other mount, tmpfs included, becomes read-only; a job's own tmpfs is
#: mounted on top of that.
WRITABLE_FSTYPES = {"proc", "sysfs", "cgroup", "cgroup2", "devtmpfs", "devpts", "mqueue"}
MOUNT_FLAG_NAMES = {
    "ro": osutil.MS_RDONLY,
    "nosuid": osutil.MS_NOSUID,
    "nodev": osutil.MS_NODEV,
    "noexec": osutil.MS_NOEXEC,
}


class ContainmentError(RuntimeError):
    """A mechanism failed where it was expected to work."""


@dataclass(frozen=True)
class Plan:
    network: str  # netns | userns | seccomp | none | unavailable
    seccomp: bool
    memory: str  # cgroup-v2 | cgroup-v1 | rlimit
    disk: str  # tmpfs | rlimit
    uid: str  # own | nobody | shared
    #: zygote: jobs live in a pid namespace of the zygote's own (it is its process 1); host: the host's.
    pid: str = "host"
    reason: str | None = None  # why tenant jobs are refused (network == "unavailable")

    @property
    def own_network(self) -> bool:
        """Each job child gets a network namespace of its own."""
        return self.network in ("netns", "userns")

    @property
    def own_files(self) -> bool:
        """Each job child gets a mount namespace with its own tmpfs (and the read-only view)."""
        return self.disk == "tmpfs"

    @property
    def own_pids(self) -> bool:
        """The zygote is process 1 of a pid namespace of its own, which its jobs share."""
        return self.pid == "zygote"

    def describe(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "seccomp": self.seccomp,
            "memory": self.memory,
            "disk": self.disk,
            "uid": self.uid,
            "pid": self.pid,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.describe(), "reason": self.reason}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Plan:
        return cls(
            network=str(raw.get("network")),
            seccomp=bool(raw.get("seccomp")),
            memory=str(raw.get("memory")),
            disk=str(raw.get("disk")),
            uid=str(raw.get("uid")),
            pid=str(raw.get("pid") or "host"),
            reason=raw.get("reason") if isinstance(raw.get("reason"), str) else None,
        )


@dataclass
class Settings:
    """What the operator asked for (from the Sandbox's options)."""

    network: str = "auto"  # auto | netns | userns | seccomp | none (none needs the unsafe switch)
    #: The seccomp filter on top of the namespaces too (off only to test a namespace rung alone).
    filter: bool = True
    #: Mount, IPC and network namespaces per job (off: the seccomp rung as Lambda has it).
    namespaces: bool = True
    #: A memory cgroup per job when root.
    cgroups: bool = True
    #: The zygote as process 1 of a pid namespace of its own (off: jobs share the host's; a benchmark
    #: setting, to measure what the namespace costs).
    pid_namespace: bool = True
    unsafe_no_network_isolation: bool = False
    hidden: tuple[str, ...] = DEFAULT_HIDDEN
    own_uids: bool = True

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Settings:
        network = str(raw.get("network") or "auto")
        if network not in ("auto", "none", *NETWORK_RUNGS):
            raise ContainmentError(f"unknown network containment {network!r}; use auto or one of {NETWORK_RUNGS}")
        hidden = raw.get("hidden")
        return cls(
            network=network,
            filter=raw.get("seccomp") is not False,
            namespaces=raw.get("namespaces") is not False,
            cgroups=raw.get("cgroups") is not False,
            pid_namespace=raw.get("pidNamespace") is not False,
            unsafe_no_network_isolation=bool(raw.get("unsafeNoNetworkIsolation")),
            hidden=tuple(str(path) for path in hidden) if isinstance(hidden, list) else DEFAULT_HIDDEN,
            own_uids=bool(raw.get("ownUids", True)),
        )


# -- the zygote, once --------------------------------------------------------------------------------


def _fork_probe(work: Any) -> str | None:
    """Runs `work()` in a forked child (namespaces it enters die with it); None if it returned, else
    what it raised."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - probe child
        os.close(read_end)
        message = b"ok"
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"{type(error).__name__}: {error}".encode()
        os.write(write_end, message[:500])
        os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 512):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    answer = b"".join(chunks).decode("utf-8", "replace")
    return None if answer == "ok" else (answer or "the probe process died")


def _job_namespaces_probe() -> None:
    osutil.unshare(osutil.CLONE_NEWNET | osutil.CLONE_NEWNS | CLONE_NEWIPC | osutil.CLONE_NEWCGROUP)
    osutil.mount("tmpfs", JOB_TMP, "tmpfs", osutil.MS_NOSUID | osutil.MS_NODEV, "size=64k")


def _pid_namespace_probe() -> None:
    """What `enter_pid_namespace` does, in throw-away processes: a pid namespace whose first process
    mounts a procfs of it and reads the host pids of itself and of a child of its own through the
    host's procfs, opened before."""
    host_proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    osutil.unshare(osutil.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - probe child
        works = False
        try:
            _mount_own_procfs()
            child = os.fork()
            if child == 0:
                os._exit(0)
            try:
                works = osutil.host_pid_of(child, host_proc) != child and osutil.own_host_pid(host_proc) != 1
            finally:
                os.waitpid(child, 0)
            works = works and os.getpid() == 1 and os.path.isdir("/proc/1")
        finally:
            os._exit(0 if works else 1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise ContainmentError("a pid namespace's first process could not mount its procfs or read host pids")


def _mount_own_procfs() -> None:
    osutil.mount("proc", "/proc", "proc", osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC)


def enter_pid_namespace(close_in_waiter: list[int]) -> tuple[int, int]:
    """Makes the calling zygote process 1 of a pid namespace of its own; returns, in that process, an
    open folder of the host's procfs (for host pids: job uids are made of them) and the read end of a
    pipe that ends (reads EOF) when the waiter asks the zygote to stop.

    The process that calls it stays outside as a waiter: its pid is the one the Sandbox knows; on
    SIGTERM it closes its end of that pipe, and it exits with the zygote's status. The zygote takes no
    signal to stop: process 1 ignores every signal it does not handle from inside its namespace, and a
    job of the same uid (the userns rung) could send any it handled. It gets SIGKILL when the waiter
    dies, and every process of the namespace dies with the zygote (the kernel kills them when its
    process 1 exits). In the zygote /proc becomes a procfs of the namespace, so that the pids it reads
    there (its children, a sweep) are the ones its fork, wait and kill use; it mounts it in its own
    mount namespace, which only the waiter shares. Its jobs see this namespace alone: no host pid can
    be signalled, probed or read from a job, and the pids its forks get count only this sandbox's.
    The pid namespace is owned by the zygote's user namespace when it has one (not root), so a job's
    own procfs can be mounted there too."""
    host_proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    alive_r, alive_w = os.pipe2(os.O_CLOEXEC)
    osutil.unshare(osutil.CLONE_NEWPID)
    pid = os.fork()
    if pid != 0:
        os.close(alive_r)
        os.close(host_proc)
        for fd in close_in_waiter:
            os.close(fd)
        _wait_as_waiter(pid, alive_w)
    os.close(alive_w)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    osutil.die_with_parent(signal.SIGKILL)
    # The waiter may have died before that line: its end of the pipe is then closed.
    if select.select([alive_r], [], [], 0)[0]:
        os._exit(0)
    _mount_own_procfs()
    return host_proc, alive_r


def _wait_as_waiter(pid: int, stop_w: int) -> NoReturn:
    """The waiter's whole life: on SIGTERM close `stop_w` (the zygote then stops), exit as it did."""
    stopping = [stop_w]

    def stop(_signum: int, _frame: Any) -> None:
        while stopping:
            os.close(stopping.pop())

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(70)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _enter_user_namespace() -> None:
    """The zygote's own user + mount namespace (not root): its uid and gid map to themselves, and it
    holds the capabilities it needs to give each job child namespaces of its own."""
    uid, gid = os.getuid(), os.getgid()
    osutil.unshare(osutil.CLONE_NEWUSER | osutil.CLONE_NEWNS)
    # Writing one's own maps needs a dumpable process; the zygote is made non-dumpable again at once.
    osutil.prctl(osutil.PR_SET_DUMPABLE, 1)
    try:
        osutil.write_file("/proc/self/setgroups", "deny")
        osutil.write_file("/proc/self/uid_map", f"{uid} {uid} 1")
        osutil.write_file("/proc/self/gid_map", f"{gid} {gid} 1")
    finally:
        osutil.make_undumpable()


def choose(settings: Settings, root: bool, log: Any) -> tuple[Plan, MemoryGroups | None]:
    """Probes the mechanisms in throw-away children, enters the zygote-wide part of what works (the
    private file-system view, and for a non-root zygote its user namespace) and returns the plan.

    The file-system view and the network rung are separate choices: a zygote that can make mount
    namespaces gives every job its tmpfs and read-only view, whichever network rung is used (so that
    forcing the seccomp rung as root still keeps each job's files private)."""
    seccomp_problem = seccomp.probe() if settings.network != "none" else "not asked for"
    user = not root
    if settings.namespaces and settings.network != "none":
        views_problem = _fork_probe(lambda: (_zygote_view(settings, user), _job_namespaces_probe()))
        if views_problem is None:
            _zygote_view(settings, user)
    else:
        views_problem = "namespaces are turned off"
    pids_problem = views_problem if settings.pid_namespace else "turned off"
    if pids_problem is None:
        # In the view just entered; the probe's procfs goes in a throw-away mount namespace of it.
        pids_problem = _fork_probe(lambda: (osutil.unshare(osutil.CLONE_NEWNS), _pid_namespace_probe()))
        if pids_problem is not None:
            log(f"execfabric zygote: jobs share the host's pid namespace ({pids_problem})")
    wanted = {"auto": NETWORK_RUNGS, "none": ()}.get(settings.network, (settings.network,))
    problems: list[str] = []
    network = None
    for rung in wanted:
        if rung == "seccomp":
            problem = seccomp_problem
        elif (rung == "netns") != root:
            problem = "needs root" if rung == "netns" else "not used as root (netns is)"
        else:
            problem = views_problem
        if problem is None:
            network = rung
            break
        problems.append(f"{rung}: {problem}")
    reason = None
    if network is None:
        if settings.unsafe_no_network_isolation:
            network = "none"
            log(
                "execfabric zygote: UNSAFE — no network containment is available "
                f"({'; '.join(problems)}); jobs run with the host's network because the operator's "
                "unsafe switch is set"
            )
        else:
            network = "unavailable"
            reason = (
                "no network containment is available on this host (" + "; ".join(problems) + "); tenant jobs "
                "are refused. Run the worker as root, allow unprivileged user namespaces, or use a kernel "
                "with seccomp"
            )
            log(f"execfabric zygote: {reason}")
    groups = MemoryGroups.create(group_name()) if root and settings.cgroups and network != "none" else None
    own = root and settings.own_uids and osutil.uid_range_mapped(2_000_000_000, 2_000_000_000 + osutil.pid_max())
    plan = Plan(
        network=network,
        seccomp=seccomp_problem is None and network != "none" and (settings.filter or network == "seccomp"),
        memory=groups.kind if groups is not None else "rlimit",
        disk="tmpfs" if views_problem is None else "rlimit",
        uid=("own" if own else "nobody") if root else "shared",
        pid="zygote" if pids_problem is None and network != "none" else "host",
        reason=reason,
    )
    return plan, groups


def _mounts() -> list[tuple[str, str, int]]:
    """(mount point, fs type, per-mount flags) of this mount namespace, from /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields = left.split()
            point = _unescape(fields[4])
            flags = 0
            for option in fields[5].split(","):
                flags |= MOUNT_FLAG_NAMES.get(option, 0)
            found.append((point, right.split()[0], flags))
    return found


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040…)."""
    out, index = [], 0
    while index < len(field):
        if field[index] == "\\" and field[index + 1 : index + 4].isdigit():
            out.append(chr(int(field[index + 1 : index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def _zygote_view(settings: Settings, enter_user_namespace: bool) -> None:
    """Gives the zygote (and so every job it forks) a private mount namespace in which the file
    system is read-only and the hidden trees show only what the interpreter imports from."""
    if enter_user_namespace:
        _enter_user_namespace()
    else:
        osutil.unshare(osutil.CLONE_NEWNS)
    osutil.mount(None, "/", None, osutil.MS_REC | osutil.MS_PRIVATE)
    folders, files = _unshown_at_top()
    _hide(_outermost((*folders, *settings.hidden)))
    _cover((*files, *COVERED_FILES))
    _read_only_everywhere()


def _unshown_at_top() -> tuple[list[str], list[str]]:
    """The folders and files at the top of the host's tree that are not in SHOWN_AT_TOP (a link is
    followed to what it names, unless that lies in a shown folder)."""
    shown = [f"/{name}" for name in SHOWN_AT_TOP]
    folders: list[str] = []
    files: list[str] = []
    for entry in os.scandir("/"):
        if entry.name in SHOWN_AT_TOP:
            continue
        target = os.path.realpath(entry.path)
        if target == "/" or any(_within(target, os.path.realpath(path)) for path in shown):
            continue
        if os.path.isdir(target):
            folders.append(target)
        elif os.path.exists(target):
            files.append(target)
    return folders, files


def _within(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def _outermost(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The paths (resolved) none of which lies inside another: a tree inside a hidden one is gone
    with it (what the interpreter needs in it is shown back by the outer one)."""
    kept: list[str] = []
    for path in sorted({os.path.realpath(path) for path in paths}):
        if not any(_within(path, outer) for outer in kept):
            kept.append(path)
    return tuple(kept)


def _cover(files: tuple[str, ...]) -> None:
    """Binds the null device over each file, on a mount that allows no device: opening it is
    refused (EACCES) and its metadata tells nothing of what it held."""
    flags = osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC | osutil.MS_RDONLY
    for path in files:
        if not os.path.exists(path) or os.path.isdir(path):
            continue
        osutil.mount("/dev/null", path, None, osutil.MS_BIND)
        try:
            osutil.mount(None, path, None, osutil.MS_REMOUNT | osutil.MS_BIND | flags)
        except OSError:
            pass  # in a user namespace the device's mount flags may be locked: it reads empty there


def _needed_paths() -> list[str]:
    """What a job's interpreter reads: its installation and every folder on sys.path."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), os.path.dirname(os.path.realpath(sys.executable))}
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            paths.add(os.path.realpath(entry))
    return list(_outermost(tuple(paths)))


def _hide(hidden: tuple[str, ...]) -> None:
    needed = _needed_paths()
    for tree in hidden:
        tree = os.path.realpath(tree)
        if not os.path.isdir(tree) or tree == "/" or any(_within(tree, path) for path in needed):
            continue  # a tree the interpreter needs whole stays
        inside = [path for path in needed if path != tree and _within(path, tree)]
        handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in inside}
        try:
            osutil.mount("tmpfs", tree, "tmpfs", osutil.MS_NOSUID | osutil.MS_NODEV, "size=1m,mode=0755")
            for name in KEEP_EMPTY.get(tree, ()):
                os.mkdir(os.path.join(tree, name), 0o755)
            for path, fd in handles.items():
                os.makedirs(path, mode=0o755, exist_ok=True)
                osutil.mount(f"/proc/self/fd/{fd}", path, None, osutil.MS_BIND | osutil.MS_REC)
            osutil.mount(None, tree, None, osutil.MS_REMOUNT | osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_RDONLY, "size=1m,mode=0755")
        finally:
            for fd in handles.values():
                os.close(fd)


def _read_only_everywhere() -> None:
    for point, fstype, flags in _mounts():
        if fstype in WRITABLE_FSTYPES or flags & osutil.MS_RDONLY or point.startswith(("/proc/", "/sys/")):
            continue
        try:
            osutil.mount(None, point, None, osutil.MS_REMOUNT | osutil.MS_BIND | osutil.MS_RDONLY | flags)
        except OSError:
            continue  # a mount we may not change (locked in a user namespace): it keeps its flags


# -- each job child, before its job -----------------------------------------------------------------


def enter_job(plan: Plan, disk_bytes: int) -> str | None:
    """In a freshly forked child (still privileged): its own namespaces and tmpfs. Returns the job
    folder when the child has a mount namespace, else None (the caller makes a folder on the host)."""
    if not plan.own_files:
        return None
    osutil.unshare(osutil.CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (osutil.CLONE_NEWNET if plan.own_network else 0))
    socket.sethostname(JOB_HOSTNAME)
    _own_ptys()
    osutil.mount("tmpfs", JOB_TMP, "tmpfs", osutil.MS_NOSUID | osutil.MS_NODEV, f"size={disk_bytes},mode=1777")
    for path in SHARED_TEMP_BINDS:
        if os.path.isdir(path):
            osutil.mount(JOB_TMP, path, None, osutil.MS_BIND)
    os.mkdir(JOB_FOLDER, 0o700)
    return JOB_FOLDER


def own_cgroup_view(plan: Plan) -> None:
    """A cgroup namespace of the job's own, rooted at the group it is in now: its `/proc/self/cgroup`
    reads `0::/` (every hierarchy `/`). With the host's view it read its group's path, which names the
    host's groups above the platform, the zygote's pid namespace and pid (`execfabric-<ns>-<pid>`) and
    its own job group. Called in the child once it has joined its job's groups (`MemoryGroups.join`),
    while it is still privileged; the zygote and the child itself keep reading and writing the groups
    through the host's /sys (a cgroup namespace changes what /proc shows, not the mounted tree), and
    from the host `/proc/<pid>/cgroup` of the job still names its group."""
    if plan.own_files:
        osutil.unshare(osutil.CLONE_NEWCGROUP)


def job_proc_view(plan: Plan) -> int | None:
    """Once per zygote, in its own mount namespace (`_zygote_view`), after its pid namespace's procfs:
    the /proc its jobs see, a procfs that shows each job only its own processes (`_own_procfs`) with
    the machine-wide counters masked (`_mask_machine_counters`). A job child's mount namespace is a
    copy of the zygote's, so every child inherits it whole; made in each child instead, these ~25
    mounts and their neutral files cost a child ~2.7 ms of CPU (docs/decisions/python-runtime.md).
    The zygote serves one tenant, so what the masks share is shared by its jobs alone.
    Returns the neutral `uptime`, open for writing, which the zygote refreshes before each fork
    (`refresh_uptime`); None without a mount namespace of the jobs' own (nothing is masked)."""
    if not plan.own_files:
        return None
    _own_procfs()
    return _mask_machine_counters()


def refresh_uptime(uptime: int) -> None:
    """The neutral `/proc/uptime`: the time since boot, now, and no idle time. Written in place before
    each fork, so a job reads at least the time its child was made, as when each child wrote its own;
    it moves only with forks of the same zygote, one tenant's. The text only grows (the seconds do),
    so a write at the start replaces it whole."""
    os.pwrite(uptime, f"{time.clock_gettime(time.CLOCK_BOOTTIME):.2f} 0.00\n".encode("ascii"), 0)


def _own_procfs() -> None:
    """A procfs on /proc that shows a job only the processes it may trace (its own, of its uid:
    `hidepid=2`, "invisible"). Mounted by the zygote (`job_proc_view`), it shows the zygote's pid
    namespace where it has one (`enter_pid_namespace`), else the host's, whose /proc read every other
    job's command line, other tenants' included; the zygote itself, privileged, still sees every
    process in it. A zygote in a user namespace of its own may mount one only in a pid namespace its
    user namespace owns, its own: without one /proc stays the zygote's (docs/decisions/python-runtime.md)."""
    try:
        osutil.mount("proc", "/proc", "proc", osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC, "hidepid=2")
    except OSError:
        pass


#: Machine-wide counters in /proc that move with every other job's work (a load side channel across
#: tenants, and a count of everyone's forks), replaced in each job's view by a neutral read-only file.
#: What is left, and why: docs/decisions/python-runtime.md.
MASKED_PROC_FILES = (
    "loadavg",  # load averages, running/total tasks, the last pid the machine gave out
    "stat",  # per-CPU busy/idle time, context switches, interrupts, forks since boot, tasks running
    "uptime",  # the second field: idle time summed over the CPUs
    "schedstat",  # per-CPU run-queue waits
    "vmstat",  # page faults, paging and swapping of the whole machine
    "interrupts",  # per-CPU interrupt counts (timer, network, disk)
    "softirqs",  # per-CPU softirq counts
    "diskstats",  # every disk's reads and writes
    "locks",  # every file lock on the machine: its holder's pid, device and inode, as they come and go
    "cmdline",  # the kernel's boot arguments (the VM's and its agent's), nothing a job runs by
    "zoneinfo",  # per-zone free pages and allocation counters: most of vmstat again
    "buddyinfo",  # free pages by order, per zone
    "pagetypeinfo",  # the same by migration type
    "sys/fs/file-nr",  # open files on the machine: every job's, as they open and close them
    "sys/fs/inode-nr",  # inodes in use on the machine
    "sys/fs/inode-state",  # the same count again, with more fields
    "cgroups",  # how many groups each controller has on the machine: each job child makes one
    "sys/fs/dentry-state",  # directory entries cached on the machine
    "sys/fs/aio-nr",  # asynchronous I/O contexts in use on the machine
    "sys/kernel/pty/nr",  # pseudo-terminals in use on the machine
    "sys/kernel/random/boot_id",  # this boot of this machine (the boot time in `stat` still tells it)
)
#: Folders of machine-wide counters, replaced by an empty read-only tmpfs.
MASKED_PROC_FOLDERS = (
    "pressure",  # CPU, memory and I/O stall
    "irq",  # per-IRQ `spurious` counts (each device's interrupts, the network queues': /proc/interrupts again)
    "fs",  # per-disk ext4 free blocks by group (`mb_groups`), extent-cache hits (`es_shrinker_info`), jbd2 commits
)
MASK_FLAGS = osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC | osutil.MS_RDONLY


def _neutral_proc_text(name: str) -> str:
    """What a masked file shows: the same format where software parses it, with nothing that moves
    with the machine's load. `stat` keeps its `cpuN` lines (glibc counts them for `os.cpu_count()`
    where /sys is gone; psutil too) and the boot time, with every counter 0; `uptime` is the time since
    boot when the job's child was made (`refresh_uptime`), never idle; `loadavg` an idle machine's;
    `boot_id` one of the zygote's own, the same for its jobs (one tenant's), never the machine's."""
    if name == "loadavg":
        return "0.00 0.00 0.00 1/1 1\n"
    if name == "sys/fs/file-nr":  # allocated, unused, and the machine's maximum (a setting, kept)
        with open("/proc/sys/fs/file-nr", encoding="ascii") as handle:
            return f"0\t0\t{handle.read().split()[-1]}\n"
    if name == "sys/fs/inode-nr":
        return "0\t0\n"
    if name == "sys/fs/inode-state":
        return "0\t0\t0\t0\t0\t0\t0\n"
    if name == "cgroups":  # each controller's hierarchy and switch kept (a setting), one group each
        lines = []
        with open("/proc/cgroups", encoding="ascii") as handle:
            for line in handle:
                fields = line.rstrip("\n").split("\t")
                lines.append(line.rstrip("\n") if line.startswith("#") or len(fields) < 4 else "\t".join([*fields[:2], "1", *fields[3:]]))
        return "\n".join(lines) + "\n"
    if name == "sys/fs/dentry-state":  # the age limit (45 s) is a setting; the rest counts
        return "0\t0\t45\t0\t0\t0\n"
    if name in ("sys/fs/aio-nr", "sys/kernel/pty/nr"):
        return "0\n"
    if name == "sys/kernel/random/boot_id":  # the zygote's own, in the format readers expect
        raw = os.urandom(16).hex()
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}\n"
    if name == "uptime":
        with open("/proc/uptime", encoding="ascii") as handle:
            return f"{handle.read().split()[0]} 0.00\n"
    if name == "stat":
        lines, zeros = [], " ".join(["0"] * 10)
        with open("/proc/stat", encoding="ascii") as handle:
            for line in handle:
                key = line.split(" ", 1)[0]
                if key.startswith("cpu"):
                    lines.append(f"{key} {zeros}" if key != "cpu" else f"cpu  {zeros}")
                elif key == "btime":
                    lines.append(line.rstrip("\n"))
        lines += ["intr 0", "ctxt 0", "processes 0", "procs_running 1", "procs_blocked 0", "softirq 0"]
        return "\n".join(lines) + "\n"
    return ""


def _mask_machine_counters() -> int | None:
    """In the zygote's mount namespace (`job_proc_view`): each of MASKED_PROC_FILES becomes a read-only
    bind of a neutral file, each of MASKED_PROC_FOLDERS an empty read-only tmpfs. The neutral files are
    written to a scratch tmpfs on /tmp, only root's (or, in the userns rung, only the zygote's uid's),
    which every job child covers with its own tmpfs: no path but /proc reaches them. The scratch stays
    writable for the zygote alone, to refresh `uptime` (returned, open; `refresh_uptime`); a job
    cannot write a bind, which is read-only, nor remount or unmount any of it (no capability left).
    In a user namespace a job might make, they are locked mounts the kernel will not unmount, and a
    fresh procfs is refused while parts of /proc are covered."""
    texts = {name: _neutral_proc_text(name) for name in MASKED_PROC_FILES if os.path.isfile(f"/proc/{name}")}
    osutil.mount("tmpfs", JOB_TMP, "tmpfs", osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC, "size=64k,mode=0700")
    uptime = None
    for name, text in texts.items():
        source = os.path.join(JOB_TMP, name.replace("/", "_"))
        fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            if name == "uptime":
                uptime = fd
            else:
                os.close(fd)
        osutil.mount(source, f"/proc/{name}", None, osutil.MS_BIND)
        osutil.mount(None, f"/proc/{name}", None, osutil.MS_REMOUNT | osutil.MS_BIND | MASK_FLAGS)
    for name in MASKED_PROC_FOLDERS:
        if os.path.isdir(f"/proc/{name}"):
            osutil.mount("tmpfs", f"/proc/{name}", "tmpfs", MASK_FLAGS, "size=4k,mode=0555")
    return uptime


def _own_ptys() -> None:
    """A devpts instance of the job's own on /dev/pts, its `ptmx` bound over /dev/ptmx, holding at
    most JOB_PTYS: on the host's instance a job could take every pseudo-terminal of the machine. New
    instances also leave the host's reserve (`kernel/pty/reserve`) to the host's own. Where devpts
    cannot be mounted here, /dev/ptmx is covered instead (opening it is refused)."""
    try:
        osutil.mount(
            "devpts",
            "/dev/pts",
            "devpts",
            osutil.MS_NOSUID | osutil.MS_NOEXEC,
            f"newinstance,ptmxmode=0666,mode=0620,max={JOB_PTYS}",
        )
        osutil.mount("/dev/pts/ptmx", "/dev/ptmx", None, osutil.MS_BIND)
    except OSError:
        _cover(("/dev/ptmx",))


def hide_sys(plan: Plan) -> None:
    """An empty, read-only tmpfs over /sys. With the host's sysfs a job read every cgroup on the
    machine: each job's `cgroup.procs`, live memory usage and limit (other tenants' included) and
    every other group the host has. Nothing a job needs is in /sys (`os.cpu_count()` falls back to
    /proc). Called when the job arrives, after its cgroup is joined and limited through the host's
    view (the zygote, in its own mount namespace, still reads, kills and removes the group there),
    and before the privileges are dropped: the job cannot unmount it."""
    if plan.own_files:
        flags = osutil.MS_NOSUID | osutil.MS_NODEV | osutil.MS_NOEXEC | osutil.MS_RDONLY
        osutil.mount("tmpfs", "/sys", "tmpfs", flags, "size=4k,mode=0555")


def size_job_disk(plan: Plan, disk_bytes: int) -> None:
    """When the job arrives: its tmpfs gets the job's own size limit."""
    if plan.own_files:
        osutil.mount(None, JOB_TMP, None, osutil.MS_REMOUNT | osutil.MS_NOSUID | osutil.MS_NODEV, f"size={disk_bytes}")


def lock_down(plan: Plan, *, uid: int | None, workdir: str, handoff: int | None = None) -> None:
    """The last privileged step before the job runs: drop to the job's uid (root) or every capability
    (user namespace), forbid new privileges, become non-dumpable, then the seccomp filter. With
    `handoff` (a socket to the zygote), the filter hands sysinfo(2) to the zygote: its listener is
    sent over the socket, and both are closed before any of the job's code runs."""
    if uid is not None:
        os.chown(workdir, uid, uid)
        osutil.drop_privileges(uid, uid)
    elif plan.own_files:  # a user namespace of the zygote's: the job keeps its uid, not the capabilities
        osutil.drop_all_capabilities()
    osutil.forbid_new_privileges()
    osutil.make_undumpable()
    if plan.seccomp and handoff is not None:
        listener = seccomp.install(listener=True)
        assert listener is not None
        try:
            with socket.socket(fileno=handoff) as channel:
                channel.setblocking(True)
                socket.send_fds(channel, [b"l"], [listener])
        finally:
            os.close(listener)
    elif plan.seccomp:
        seccomp.install()


# -- after a job, not root ---------------------------------------------------------------------------


SHARED_TEMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


def wipe_shared_temp(
    uid: int, since: float, keep: str, everything: bool, roots: tuple[str, ...] = SHARED_TEMP_ROOTS
) -> None:
    """Without namespaces, what the job left in the shared temporary folders: entries of our uid made
    since the job started, or (`everything`: a Lambda container, where /tmp is ours alone) every entry
    but the jobs folder. `keep` (the zygote's jobs root) stays, and so does an entry holding it."""
    for root in roots:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            if entry.path == keep or keep.startswith(entry.path.rstrip("/") + "/"):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid or (not everything and info.st_ctime < since - 1):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue

