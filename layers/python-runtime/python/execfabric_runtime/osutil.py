"""Linux process primitives the sandbox needs and the standard library lacks (prctl through ctypes),
plus the privilege drop and the listing of a process's children. Everything here tolerates a libc
without the call (the sandbox then loses that layer of defence, it does not stop working)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

NOBODY = 65534

_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _libc.prctl.restype = ctypes.c_int
except (OSError, AttributeError):
    _libc = None


def libc() -> ctypes.CDLL | None:
    """The C library, for the calls below and the seccomp filter; None where it cannot be loaded."""
    return _libc


def prctl(option: int, value: int) -> bool:
    """Calls prctl(2); returns False where the call is missing or refused."""
    if _libc is None:
        return False
    return _libc.prctl(option, value, 0, 0, 0) == 0


#: mallopt(3)'s M_ARENA_MAX.
M_ARENA_MAX = -8


def one_malloc_arena() -> bool:
    """Every thread allocates from glibc's main arena (M_ARENA_MAX 1); inherited by every fork. Each
    thread's first allocation otherwise reserved an arena of its own, 64 MB of address space, which
    RLIMIT_AS counts: a job of 256 MB could start four threads (17 MB resident) and the fifth failed
    ("can't start new thread"). Python holds its lock while it allocates, so one arena costs no wait."""
    return _libc is not None and _libc.mallopt(M_ARENA_MAX, 1) == 1


def make_undumpable() -> bool:
    """No core dumps, no ptrace attach by same-uid processes, /proc/<pid>/* owned by root."""
    return prctl(PR_SET_DUMPABLE, 0)


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process instead of init, so none can escape a sweep."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def forbid_new_privileges() -> bool:
    """setuid binaries and file capabilities no longer raise privileges (survives fork and exec)."""
    return prctl(PR_SET_NO_NEW_PRIVS, 1)


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Signal this process when the thread that forked it ends (cleared by fork and credential changes)."""
    return prctl(PR_SET_PDEATHSIG, int(sig))


def drop_privileges(uid: int, gid: int) -> None:
    """Irrevocably become uid/gid with no supplementary groups (only meaningful when running as root)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise PermissionError(f"could not drop privileges to {uid}:{gid}")


def uid_range_mapped(first: int, last: int) -> bool:
    """Whether [first, last] lies inside one range of this user namespace's uid_map."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as handle:
            for line in handle:
                inside, _outside, count = (int(part) for part in line.split())
                if inside <= first and last < inside + count:
                    return True
    except (OSError, ValueError):
        return False
    return False


def pid_max() -> int:
    try:
        with open("/proc/sys/kernel/pid_max", encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return 4_194_304


def children_of(pid: int) -> set[int]:
    """Direct children of a (single-threaded) process."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return {int(part) for part in handle.read().split()}
    except FileNotFoundError:
        return _children_by_scan(pid)
    except OSError:
        return _children_by_scan(pid)


def own_cpu_ms(pid: int) -> float | None:
    """CPU milliseconds of a process's own threads, without the children it reaped (which its wait
    status's rusage includes), as RLIMIT_CPU counts them: its process clock of user plus system time
    (`CPUCLOCK_PROF`, the clock id `~pid << 3`), readable while it is a zombie, before its parent
    reaps it. That is the tick-sampled time the kernel checks the limit against; the precise runtime
    that rusage and /proc report (scaled to it) read 0.86 s for a process the kernel stopped at 1 s."""
    try:
        return time.clock_gettime((~pid) << 3) * 1000
    except (OSError, OverflowError):
        return None


def _children_by_scan(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields resume after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.add(int(entry))
    return found


def tasks_of_uid(uid: int, proc: int | None = None) -> int:
    """Threads whose real uid is uid: what RLIMIT_NPROC counts against. `proc`: an open procfs folder
    to count in (the host's, from inside a pid namespace that /proc shows alone); else /proc."""
    total = 0
    opener = _opener_in(proc)
    for entry in os.listdir("/proc" if proc is None else proc):
        if not entry.isdigit():
            continue
        real_uid = -1
        threads = 1
        try:
            path = f"/proc/{entry}/status" if proc is None else f"{entry}/status"
            with open(path, encoding="ascii", errors="replace", opener=opener) as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        real_uid = int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads = int(line.split()[1])
        except (OSError, ValueError):
            continue
        if real_uid == uid:
            total += threads
    return total


def _opener_in(folder: int | None) -> Any:
    """An `open()` opener that resolves relative names in the open folder `folder` (None: as usual)."""
    return lambda name, flags: os.open(name, flags, dir_fd=folder)


def own_host_pid(proc: int) -> int:
    """This process's pid in the pid namespace of the procfs `proc` was opened on (its `self`)."""
    return int(os.readlink("self", dir_fd=proc))


def host_pid_of(pid: int, proc: int) -> int:
    """The pid, in the pid namespace of the procfs `proc` was opened on, of this process's child `pid`
    (a pid of this process's own namespace): the `Pid:` a pidfd's fdinfo shows there. The child is not
    yet reaped, so the number is still its own."""
    fd = os.pidfd_open(pid)
    try:
        with open(f"self/fdinfo/{fd}", encoding="ascii", opener=_opener_in(proc)) as handle:
            for line in handle:
                if line.startswith("Pid:"):
                    found = int(line.split()[1])
                    if found > 0:
                        return found
    finally:
        os.close(fd)
    raise OSError(f"no host pid for process {pid}")


def kill_quietly(pid: int, sig: int = signal.SIGKILL, *, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# -- namespaces, mounts, capabilities (root, or a user namespace of our own) ------------------------

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


def _checked(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def unshare(flags: int) -> None:
    if _libc is None:
        raise OSError("no libc")
    _checked(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc is None:
        raise OSError("no libc")
    _checked(
        _libc.mount(_bytes(source), target.encode(), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data)),
        f"mount {target}",
    )


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def drop_all_capabilities() -> None:
    """Empties the effective, permitted and inheritable sets (what a process keeps in a user namespace
    it created, even under a non-zero uid)."""
    if _libc is None:
        raise OSError("no libc")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _checked(_libc.capset(ctypes.byref(header), data), "capset")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # none is expected; clear it anyway


def write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
