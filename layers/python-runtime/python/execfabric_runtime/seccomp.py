"""A seccomp-BPF filter for job processes, built and installed with ctypes (no libseccomp: the Lambda
image does not promise it, and the program is small enough to read whole).

What the filter refuses, on x86_64 and aarch64 (any other architecture, and x32 or i386 system calls
on x86_64, kill the process):

* ``socket(2)`` of every family, with EACCES: no TCP/UDP, no raw or packet sockets, no netlink, no
  unix sockets by path or abstract name. A job's own channels are pipes, which need no socket.
* ``socketpair(2)`` except ``AF_UNIX``/``SOCK_STREAM`` (what ``asyncio`` and ``multiprocessing``
  use): a connected stream pair reaches nothing outside the process tree, while a datagram pair could
  ``sendto`` any named socket.
* io_uring (it could open and connect sockets without ``socket(2)``), ``ptrace``,
  ``process_vm_readv/writev``, ``pidfd_getfd`` (no reaching into another process of the same uid),
  ``bpf``, ``perf_event_open``, ``userfaultfd``, the kernel keyring, ``mount``/``umount``/the new
  mount API, ``pivot_root``, ``chroot``, ``unshare``/``setns`` and ``clone``/``clone3`` with
  namespace flags: a job cannot build itself another network or mount view.
* ``setsid``: the job is the leader of a session made for it before the filter; a process of it
  that made a session of its own got a scheduling group of its own too (the kernel's autogroup), so
  31 spinning children, each in its own session, took most of the machine's CPU from the platform and
  other tenants' jobs. In the job's one session, its processes share one group's CPU.
* ``seccomp(2)`` asking for a listener (``SECCOMP_FILTER_FLAG_NEW_LISTENER``), with EPERM: a job may
  add filters of its own, but once the zygote had closed its listener (the job's answers used up) a
  job's own listener took sysinfo(2) and let the real call through (``FLAG_CONTINUE``). The newest
  filter's notification wins where two notify.
* Every way of sending a process SIGXFSZ, with EPERM, and of lowering the file-size limit: the
  sandbox reports a job whose process dies of SIGXFSZ as killed by its file-size limit, and a script
  could forge that (``os.kill(os.getpid(), signal.SIGXFSZ)``, from a child or a thread of it,
  ``raise_signal``, ``killpg``); nothing the sandbox can observe afterwards tells the kernel's
  SIGXFSZ from the job's own. Refused: SIGXFSZ in ``kill``, ``tkill``, ``tgkill``,
  ``rt_sigqueueinfo``, ``rt_tgsigqueueinfo``, ``pidfd_send_signal``, in ``fcntl(F_SETSIG)`` (I/O,
  lease and directory notices then arrive as that signal) and as a ``clone`` exit signal (the parent
  gets it when the child ends); ``timer_create`` and ``mq_notify`` with any notice (its signal is in
  memory the filter cannot read: a timer made without one sends SIGALRM; so ``SIGEV_THREAD`` timers,
  and Go's CPU profiler, are refused in jobs); ``setrlimit`` and ``prlimit64`` setting
  ``RLIMIT_FSIZE``, even to its current value (a write past a limit the job lowered itself got the
  kernel's own SIGXFSZ). SIGXCPU is not refused: the sandbox tells the limit's from the job's own by
  the process's own CPU time (``interpret``), and programs use it between their threads (the Boehm
  collector restarts the threads it stopped with SIGXCPU; refused, libgc programs aborted).
* ``inotify_init``/``inotify_init1`` and ``fanotify_init``/``fanotify_mark``, with ENOSYS
  (watchers fall back to polling): a watch on the host's read-only tree saw other tenants' jobs open
  their modules and run their tools (fanotify needs no privilege since Linux 5.13).

Where the zygote answers for it (``notify_sysinfo``: root, a private view), ``sysinfo(2)`` is not run
but handed to the zygote (a user notification, ``notify.py``), which writes a neutral answer: the
machine's load averages and process count are every tenant's activity, and no mount covers a system
call.

It is installed after ``PR_SET_NO_NEW_PRIVS`` and survives ``fork``/``exec``; a job cannot remove it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

from . import osutil

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# BPF opcodes (linux/filter.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_AND_K = 0x54
_RET_K = 0x06

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7FC00000

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3

AF_UNIX = 1
SOCK_STREAM = 1
SOCK_TYPE_MASK = 0xF
X32_SYSCALL_BIT = 0x40000000
#: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
#: The signal a clone's child sends its parent when it ends (the low byte of its flags).
CSIGNAL = 0xFF
#: SIGXFSZ, the signal the sandbox reads as the file-size limit's and a job may not send (the same
#: number on both architectures). SIGXCPU (24) is told apart by CPU time instead.
SIGXFSZ = 25
F_SETSIG = 10
RLIMIT_FSIZE = 1
#: Where each signal-sending call carries its signal number.
SIGNAL_ARGUMENT = {
    "kill": 1,
    "tkill": 1,
    "tgkill": 2,
    "rt_sigqueueinfo": 1,
    "rt_tgsigqueueinfo": 2,
    "pidfd_send_signal": 1,
}

# seccomp_data offsets
_NR = 0
_ARCH = 4


def _arg(index: int) -> int:
    """Offset of the low 32 bits of argument `index` (little-endian on both architectures)."""
    return 16 + 8 * index


def _arg_high(index: int) -> int:
    """Offset of the high 32 bits of argument `index`."""
    return _arg(index) + 4


def _allow_if_null(p: "_Program", index: int) -> None:
    """Allows the call when pointer argument `index` is null (both of its 32-bit halves), else EPERM."""
    p.op(_LD_W_ABS, _arg(index))
    p.op(_JEQ_K, 0, 0, "eperm")
    p.op(_LD_W_ABS, _arg_high(index))
    p.op(_JEQ_K, 0, "allow", "eperm")


@dataclass(frozen=True)
class Arch:
    audit: int
    x32_bit: bool
    numbers: dict[str, int]


_DENIED_NAMES = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "setsid",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
)
#: Refused with ENOSYS, so that libraries fall back (io_uring users to epoll, glibc from clone3 to clone,
#: file watchers to polling). inotify: a watch on the host's read-only tree (the interpreter's library,
#: /usr/bin, /etc) saw every other tenant's job open its modules and run its tools, as it happened;
#: events on an inode cross mount namespaces. aarch64 has no `inotify_init`, only `inotify_init1`.
#: fanotify the same (an attack pass read which modules another tenant's run imported, by name and
#: as it happened, through a mark on the standard library's folder): unprivileged since Linux 5.13.
_ENOSYS_NAMES = (
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "clone3",
    "inotify_init",
    "inotify_init1",
    "fanotify_init",
    "fanotify_mark",
)

_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_send_signal": 424,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}

ARCHES: dict[str, Arch] = {
    "x86_64": Arch(
        audit=0xC000003E,
        x32_bit=True,
        numbers={
            **_COMMON,
            "socket": 41,
            "socketpair": 53,
            "inotify_init": 253,
            "inotify_init1": 294,
            "fanotify_init": 300,
            "fanotify_mark": 301,
            "sysinfo": 99,
            "seccomp": 317,
            "clone": 56,
            "ptrace": 101,
            "pivot_root": 155,
            "chroot": 161,
            "mount": 165,
            "umount2": 166,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "unshare": 272,
            "setsid": 112,
            "perf_event_open": 298,
            "setns": 308,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "bpf": 321,
            "userfaultfd": 323,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "rt_sigqueueinfo": 129,
            "rt_tgsigqueueinfo": 297,
            "fcntl": 72,
            "timer_create": 222,
            "mq_notify": 244,
            "setrlimit": 160,
            "prlimit64": 302,
        },
    ),
    "aarch64": Arch(
        audit=0xC00000B7,
        x32_bit=False,
        numbers={
            **_COMMON,
            "inotify_init1": 26,
            "fanotify_init": 262,
            "fanotify_mark": 263,
            "umount2": 39,
            "mount": 40,
            "pivot_root": 41,
            "chroot": 51,
            "unshare": 97,
            "setsid": 157,
            "ptrace": 117,
            "socket": 198,
            "socketpair": 199,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "clone": 220,
            "sysinfo": 179,
            "perf_event_open": 241,
            "seccomp": 277,
            "setns": 268,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "bpf": 280,
            "userfaultfd": 282,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "rt_sigqueueinfo": 138,
            "rt_tgsigqueueinfo": 240,
            "fcntl": 25,
            "timer_create": 107,
            "mq_notify": 184,
            "setrlimit": 164,
            "prlimit64": 261,
        },
    ),
}


class SeccompError(OSError):
    """The filter could not be built or installed here."""


class _Program:
    """A tiny assembler: instructions with symbolic jump targets, resolved to relative offsets."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def op(self, code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        self.code.append((code, jt, jf, k))

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                if isinstance(target, str):
                    distance = self.labels[target] - index - 1
                    if not 0 <= distance <= 255:
                        raise SeccompError(f"jump to {target} out of range")
                    offsets.append(distance)
                else:
                    offsets.append(int(target))
            out += struct.pack("=HBBI", code, offsets[0], offsets[1], k & 0xFFFFFFFF)
        return bytes(out)


def machine() -> str:
    return platform.machine()


@functools.cache
def build_filter(arch_name: str | None = None, *, notify_sysinfo: bool = False) -> bytes:
    """The filter program for this (or the named) architecture. Cached: the zygote builds it while
    probing, so every job child it forks inherits it and only installs it. With `notify_sysinfo`,
    sysinfo(2) waits for the answer of whoever holds the filter's listener (the zygote)."""
    name = arch_name or machine()
    arch = ARCHES.get(name)
    if arch is None:
        raise SeccompError(f"no seccomp filter for architecture {name}")
    n = arch.numbers
    p = _Program()
    p.op(_LD_W_ABS, _ARCH)
    p.op(_JEQ_K, arch.audit, 0, "kill")
    p.op(_LD_W_ABS, _NR)
    if arch.x32_bit:
        p.op(_JGE_K, X32_SYSCALL_BIT, "kill", 0)
    p.op(_JEQ_K, n["socket"], "eacces", 0)
    p.op(_JEQ_K, n["socketpair"], "socketpair", 0)
    p.op(_JEQ_K, n["clone"], "clone", 0)
    p.op(_JEQ_K, n["seccomp"], "seccomp", 0)
    for name_, index in SIGNAL_ARGUMENT.items():
        p.op(_JEQ_K, n[name_], f"signal_in_{index}", 0)
    p.op(_JEQ_K, n["fcntl"], "fcntl", 0)
    p.op(_JEQ_K, n["timer_create"], "notice_in_1", 0)
    p.op(_JEQ_K, n["mq_notify"], "notice_in_1", 0)
    p.op(_JEQ_K, n["setrlimit"], "setrlimit", 0)
    p.op(_JEQ_K, n["prlimit64"], "prlimit", 0)
    if notify_sysinfo:
        p.op(_JEQ_K, n["sysinfo"], "notify", 0)
    for name_ in _ENOSYS_NAMES:
        if name_ in n:
            p.op(_JEQ_K, n[name_], "enosys", 0)
    for name_ in _DENIED_NAMES:
        p.op(_JEQ_K, n[name_], "eperm", 0)
    p.op(_RET_K, RET_ALLOW)
    p.label("socketpair")
    p.op(_LD_W_ABS, _arg(0))
    p.op(_JEQ_K, AF_UNIX, 0, "eacces")
    p.op(_LD_W_ABS, _arg(1))
    p.op(_AND_K, SOCK_TYPE_MASK)
    p.op(_JEQ_K, SOCK_STREAM, "allow", "eacces")
    p.label("clone")
    p.op(_LD_W_ABS, _arg(0))
    p.op(_JSET_K, CLONE_NAMESPACE_FLAGS, "eperm", 0)
    p.op(_AND_K, CSIGNAL)
    p.op(_JEQ_K, SIGXFSZ, "eperm", "allow")
    for index in sorted(set(SIGNAL_ARGUMENT.values())):
        p.label(f"signal_in_{index}")
        p.op(_LD_W_ABS, _arg(index))
        p.op(_JEQ_K, SIGXFSZ, "eperm", "allow")
    p.label("fcntl")
    p.op(_LD_W_ABS, _arg(1))
    p.op(_JEQ_K, F_SETSIG, 0, "allow")
    p.op(_LD_W_ABS, _arg(2))
    p.op(_JEQ_K, SIGXFSZ, "eperm", "allow")
    p.label("notice_in_1")  # a struct sigevent: allowed only when there is none
    _allow_if_null(p, 1)
    p.label("setrlimit")
    p.op(_LD_W_ABS, _arg(0))
    p.op(_JEQ_K, RLIMIT_FSIZE, "eperm", "allow")
    p.label("prlimit")  # reading the limit (no new value) stays allowed
    p.op(_LD_W_ABS, _arg(1))
    p.op(_JEQ_K, RLIMIT_FSIZE, 0, "allow")
    _allow_if_null(p, 2)
    p.label("seccomp")
    p.op(_LD_W_ABS, _arg(1))
    p.op(_JSET_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, "eperm", "allow")
    p.label("allow")
    p.op(_RET_K, RET_ALLOW)
    p.label("eacces")
    p.op(_RET_K, RET_ERRNO | errno.EACCES)
    p.label("eperm")
    p.op(_RET_K, RET_ERRNO | errno.EPERM)
    p.label("enosys")
    p.op(_RET_K, RET_ERRNO | errno.ENOSYS)
    p.label("kill")
    p.op(_RET_K, RET_KILL_PROCESS)
    if notify_sysinfo:
        p.label("notify")
        p.op(_RET_K, RET_USER_NOTIF)
    return p.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: bytes | None = None, *, listener: bool = False) -> int | None:
    """Installs the filter on the calling thread (and everything it forks or execs afterwards).

    Sets PR_SET_NO_NEW_PRIVS first, which an unprivileged process needs and which is wanted anyway.
    With `listener`, the filter is installed through seccomp(2) with a listener for its user
    notifications, whose descriptor is returned (the caller hands it to its supervisor)."""
    code = program if program is not None else build_filter(notify_sysinfo=listener)
    if not osutil.forbid_new_privileges():
        raise SeccompError("PR_SET_NO_NEW_PRIVS was refused")
    libc = osutil.libc()
    if libc is None:
        raise SeccompError("no libc to call prctl with")
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p).value)
    if listener:
        arch = ARCHES.get(machine())
        if arch is None:
            raise SeccompError(f"no seccomp filter for architecture {machine()}")
        libc.syscall.restype = ctypes.c_long
        fd = libc.syscall(
            ctypes.c_long(arch.numbers["seccomp"]),
            ctypes.c_ulong(SECCOMP_SET_MODE_FILTER),
            ctypes.c_ulong(SECCOMP_FILTER_FLAG_NEW_LISTENER),
            ctypes.byref(prog),
        )
        if fd < 0:
            error = ctypes.get_errno()
            raise SeccompError(error, f"seccomp filter with a listener refused: {os.strerror(error)}")
        return int(fd)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    result = libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)
    if result != 0:
        error = ctypes.get_errno()
        raise SeccompError(error, f"seccomp filter refused: {os.strerror(error)}")
    return None


def probe(*, listener: bool = False) -> str | None:
    """Forks a child that installs the filter and checks that socket() is refused; None if it works,
    else the reason it does not. With `listener`, the filter that hands sysinfo(2) to a listener."""
    try:
        build_filter(notify_sysinfo=listener)
    except SeccompError as error:
        return str(error)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe child
        os.close(read_end)
        message = b"ok"
        try:
            install(listener=listener)
            import socket

            try:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                message = b"socket() was not refused"
            except PermissionError:
                message = b"ok"
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"{type(error).__name__}: {error}".encode()
        os.write(write_end, message[:500])
        os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 512)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    answer = b"".join(chunks).decode("utf-8", "replace")
    return None if answer == "ok" else (answer or "the probe process died")
