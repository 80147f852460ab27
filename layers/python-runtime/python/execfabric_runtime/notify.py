"""The zygote's answers to its jobs' sysinfo(2), through seccomp user notifications.

sysinfo(2) gives anyone the machine's 1/5/15-minute load averages and its number of processes:
every other tenant's activity, as it happens (`os.getloadavg()` asks it, not `/proc/loadavg`). No
mount covers a system call, and refusing it breaks glibc's `sysconf(_SC_PHYS_PAGES)`, which does
not check the call's failure. So where the zygote can write into its jobs' memory (root: it holds
CAP_SYS_PTRACE over them), a job's filter hands the call to the zygote (`seccomp.RET_USER_NOTIF`),
and the zygote answers what the job's masked `/proc/loadavg` says: no load, one process. The
machine's memory and uptime are given as they are, as `/proc/meminfo` and `/proc/stat` give them.

Each job child installs its filter with a listener when its job arrives and hands the listener to
the zygote over a socket made for it when it was forked (closed before any job code runs); the
zygote answers on it until the job ends. A job may ask at most `MAX_ANSWERS` times: each answer is
the zygote's CPU, not the job's, so past that the zygote closes the listener and the call fails
(ENOSYS), as it does once the zygote is gone.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import select
import struct

from . import osutil

#: Answers a job gets; a library asks a handful of times, a loop asking forever gets ENOSYS.
MAX_ANSWERS = 10_000

# linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif), _IOWR('!', 1, struct seccomp_notif_resp)
_IOCTL_NOTIF_RECV = 0xC0502100
_IOCTL_NOTIF_SEND = 0xC0182101
#: _IOW('!', 2, __u64): whether a notification's caller is still in the call it was made for.
_IOCTL_NOTIF_ID_VALID = 0x40082102
#: struct seccomp_notif: id, pid, flags, then struct seccomp_data (nr, arch, ip, args[6]).
_NOTIF = struct.Struct("=QIIiIQ6Q")
#: A notification's id, as NOTIF_ID_VALID takes it.
_ID = struct.Struct("=Q")
#: struct seccomp_notif_resp: id, val, error, flags.
_RESPONSE = struct.Struct("=QqiI")


class _SysInfo(ctypes.Structure):
    """struct sysinfo on a 64-bit kernel (x86_64 and aarch64 alike)."""

    _fields_ = [
        ("uptime", ctypes.c_long),
        ("loads", ctypes.c_ulong * 3),
        ("totalram", ctypes.c_ulong),
        ("freeram", ctypes.c_ulong),
        ("sharedram", ctypes.c_ulong),
        ("bufferram", ctypes.c_ulong),
        ("totalswap", ctypes.c_ulong),
        ("freeswap", ctypes.c_ulong),
        ("procs", ctypes.c_ushort),
        ("pad", ctypes.c_ushort),
        ("totalhigh", ctypes.c_ulong),
        ("freehigh", ctypes.c_ulong),
        ("mem_unit", ctypes.c_uint),
        ("_f", ctypes.c_char * 4),
    ]


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def neutral_sysinfo() -> bytes | None:
    """The answer a job gets: the zygote's own sysinfo(2) with the load averages 0 and one process."""
    libc = osutil.libc()
    if libc is None:
        return None
    info = _SysInfo()
    if libc.sysinfo(ctypes.byref(info)) != 0:
        return None
    info.loads[0] = info.loads[1] = info.loads[2] = 0
    info.procs = 1
    return bytes(info)


def _write_into(pid: int, address: int, data: bytes) -> int:
    """Writes `data` at `address` in process `pid` (this zygote's pid namespace): 0, or an errno."""
    libc = osutil.libc()
    if libc is None:
        return errno.ENOSYS
    buffer = ctypes.create_string_buffer(data, len(data))
    local = _IoVec(ctypes.addressof(buffer), len(data))
    remote = _IoVec(address, len(data))
    libc.process_vm_writev.restype = ctypes.c_ssize_t
    written = libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if written == len(data):
        return 0
    return (ctypes.get_errno() or errno.EFAULT) if written < 0 else errno.EFAULT


def answer(listener: int) -> bool:
    """Answers one pending notification on `listener` (readable): the neutral sysinfo written where
    the job asked, or the error the real call would give (EFAULT for an address it cannot write).
    A notification whose caller has gone (killed, or interrupted by a signal and asking again) is
    passed over. False once no process uses the filter any more (the job has exited: the listener
    then polls readable, a hang-up, until it is closed, and nothing more can come on it).

    The caller is blocked in the call until answered, so the pid names it while it is written to.
    Right before the write the notification is checked still valid (`NOTIF_ID_VALID`, the kernel's
    own guard for this): a caller killed since, whose pid could have been given to another process
    of the same sandbox, is passed over, not written into. What is left is the few microseconds
    between that check and the write, in which the namespace's pids would have to wrap around."""
    notification = bytearray(_NOTIF.size)  # the kernel wants it zeroed
    try:
        fcntl.ioctl(listener, _IOCTL_NOTIF_RECV, notification, True)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.EINTR, errno.EAGAIN):
            return not _hung_up(listener)
        raise
    ident, pid, _flags, _nr, _arch, _ip, address, *_rest = _NOTIF.unpack(notification)
    respond(listener, ident, pid, address)
    return True


def respond(listener: int, ident: int, pid: int, address: int) -> bool:
    """Answers notification `ident` of process `pid`, which asked for sysinfo(2) into `address`;
    False, and nothing written, if its caller is no longer in that call."""
    data = neutral_sysinfo()
    if not still_asking(listener, ident):
        return False
    # Only sysinfo(2) is handed here (the filter's one notifying rule).
    failure = errno.ENOSYS if data is None else _write_into(pid, address, data)
    response = bytearray(_RESPONSE.pack(ident, 0, -failure, 0))
    try:
        fcntl.ioctl(listener, _IOCTL_NOTIF_SEND, response, True)
    except OSError as error:
        if error.errno != errno.ENOENT:  # the caller has gone since
            raise
        return False
    return True


def still_asking(listener: int, ident: int) -> bool:
    """Whether notification `ident`'s caller is still in the call it was made for (NOTIF_ID_VALID)."""
    try:
        fcntl.ioctl(listener, _IOCTL_NOTIF_ID_VALID, _ID.pack(ident))
    except OSError as error:
        if error.errno == errno.ENOENT:  # killed, or interrupted by a signal, since it asked
            return False
        raise
    return True


def _hung_up(listener: int) -> bool:
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    return any(events & select.POLLHUP for _fd, events in poller.poll(0))
