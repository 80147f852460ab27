"""The warm parent ("zygote"). Started once, with a clean environment, by a Sandbox:

* chooses the containment mechanisms once (`containment.choose`: the network rung, the private
  file-system view, memory cgroups) and tells the sandbox which (a `hello` event);
* where it can, becomes process 1 of a pid namespace of its own (`containment.enter_pid_namespace`),
  which its jobs share: the pids it forks, waits for and kills are that namespace's, while a job's
  uid is made of the child's pid on the host, unique on the machine (every namespace numbers from 1);
* imports what jobs need, then forks idle children *before* any job exists; each child enters its
  own namespaces (network, IPC, mount with a private tmpfs) and memory cgroup, prepares its folder and
  blocks on its own job pipe, whose write end (with the read ends of its result/stdout/stderr pipes)
  goes straight to the sandbox — job data never passes here. The child applies the job's limits and
  drops its privileges when the job arrives, before any of the job's code runs;
* it keeps a small pool of idle children and forks replacements only after a job's exit has been
  reported, so neither the fork nor the copy-on-write faults it causes sit on a job's clock;
* where it is root with a private view, it answers its jobs' sysinfo(2) itself (`notify.py`): each
  child hands it the listener of its seccomp filter when its job arrives;
* when a job's child exits it kills the job's process group, every process of the job at once (its
  memory cgroup's `cgroup.kill` on cgroup v2; `kill(-1)` as the job's own uid, as root) and every
  other descendant (it is the child subreaper, so daemonised grandchildren come back to it), wipes
  the job folder and the job uid's files in the shared temporary folders, and reports exit status,
  CPU time and peak RSS.

It never reads credentials, creates SDK clients or sees a job's source, input or output.
"""

from __future__ import annotations

import gc
import os
import secrets
import selectors
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from . import containment, notify, osutil, protocol, seccomp
from .cgroups import MemoryGroups
from .child import IDLE_IGNORED
from .containment import Plan

SHARED_TEMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")
CLEAN_CHILD_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
MAX_UNTAKEN_DEATHS = 5


#: The size of a child's tmpfs until its job says how much it may write.
IDLE_DISK_BYTES = 1024 * 1024


@dataclass
class Slot:
    pid: int
    workdir: str | None  # None: inside the child's own mount namespace (gone with it)
    uid: int
    taken: bool = False
    taken_at: float = 0.0
    cpu_ms: float = 0.0
    #: CPU time of the job's own process alone (its threads, none of its children): what RLIMIT_CPU
    #: counts, so what tells a real CPU limit kill from a signal the job sent itself.
    own_cpu_ms: float | None = None
    max_rss_kb: int = 0
    #: The zygote's end of the socket the child hands its filter's listener over, until it has.
    handoff: socket.socket | None = None
    #: The listener of the job's sysinfo(2) notifications, and how many it has had answered.
    listener: int | None = None
    answers: int = 0


class Zygote:
    def __init__(
        self,
        control: socket.socket,
        jobs_root: str | None,
        uid_base: int,
        plan: Plan,
        groups: MemoryGroups | None = None,
        *,
        wipe_all_temp: bool = False,
        pool: int = 2,
        host_proc: int | None = None,
        waiter: int | None = None,
        uptime: int | None = None,
    ) -> None:
        """`host_proc`, `waiter`: when the zygote is process 1 of a pid namespace of its own
        (`containment.enter_pid_namespace`), an open folder of the host's procfs (job uids are made of
        host pids) and the pipe whose end tells it to stop (SIGTERM stops it otherwise). `uptime`: the
        jobs' neutral `/proc/uptime` (`containment.job_proc_view`), refreshed before each fork."""
        self.control = control
        self.pool = max(1, pool)
        self.jobs_root = jobs_root
        self.pid = os.getpid()
        self.root = os.geteuid() == 0
        self.uid_base = uid_base
        self.plan = plan
        self.groups = groups
        self.wipe_all_temp = wipe_all_temp
        self.host_proc = host_proc
        self.waiter = waiter
        self.uptime = uptime
        self.own_uids = plan.uid == "own"
        if self.root and not self.own_uids:
            print(
                f"execfabric zygote: uids {uid_base}+pid are not mapped here; jobs share uid {osutil.NOBODY}",
                file=sys.stderr,
            )
        self.slots: dict[int, Slot] = {}
        self.untaken_deaths = 0
        self.wakeup_r, self.wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.running = True
        self.selector = selectors.DefaultSelector()
        # Where the jobs' /proc counters are masked and the zygote may write into their memory.
        self.answers_sysinfo = (
            self.root and plan.own_files and plan.seccomp and seccomp.probe(listener=True) is None
        )

    # -- the job child ---------------------------------------------------------------------------

    def _job_uid(self, host_pid: int) -> int:
        """A job's uid: its own (`uid_base` + the child's pid on the host) where root and mapped. The
        host pid, not the pid in the zygote's namespace: every zygote's namespace numbers from 1, and
        the uid must be one no other job on the machine has (`_kill_uid` kills all of a uid's
        processes; files in shared folders are wiped by it; RLIMIT_NPROC counts by it)."""
        if not self.root:
            return os.getuid()
        return self.uid_base + host_pid if self.own_uids else osutil.NOBODY

    def _become_job(
        self,
        token: str,
        job_r: int,
        result_w: int,
        out_w: int,
        err_w: int,
        handoff: int | None,
        held: set[signal.Signals],
    ) -> NoReturn:
        """Runs in the freshly forked child; never returns. The child stays privileged until its job
        arrives (`child.serve` applies the job's limits, then drops), so that the namespaces, tmpfs
        and cgroup are made here, off the job's clock."""
        try:
            os.setsid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # Idle, the child is the next job's: a job that may signal it (one of the zygote's uid, in
            # the userns rung) must not end it. Its job gets the defaults back (`JobSetup.enter`).
            for sig in IDLE_IGNORED:
                signal.signal(sig, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            pid = os.getpid()
            host_pid = pid if self.host_proc is None else osutil.own_host_pid(self.host_proc)
            uid = self._job_uid(host_pid)
            # Counted on the host (RLIMIT_NPROC counts the uid's tasks there), before its procfs is closed.
            baseline = 0 if (self.root and self.own_uids) else osutil.tasks_of_uid(uid, self.host_proc)
            keep = {0, 1, 2, job_r, result_w} | ({handoff} if handoff is not None else set())
            for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            workdir = containment.enter_job(self.plan, IDLE_DISK_BYTES)
            if workdir is None:
                assert self.jobs_root is not None
                workdir = os.path.join(self.jobs_root, f"{pid}-{token}")
                os.mkdir(workdir, 0o700)
            if self.groups is not None:
                self.groups.join(pid)
            containment.own_cgroup_view(self.plan)  # after the join: the job's group is its root
            osutil.make_undumpable()
            osutil.die_with_parent(signal.SIGKILL)
            if os.getppid() != self.pid:
                os._exit(71)
            os.chdir(workdir)
            os.environ.clear()
            os.environ.update(CLEAN_CHILD_ENV)
            os.environ.update({"HOME": workdir, "TMPDIR": workdir})
            import tempfile

            tempfile.tempdir = workdir
            sys.stdout.reconfigure(line_buffering=True)
            sys.stderr.reconfigure(line_buffering=True)
            from .child import JobSetup, serve

            setup = JobSetup(
                plan=self.plan,
                pid=pid,
                uid=uid if self.root else None,
                zygote=self.pid,
                groups=self.groups,
                nproc_baseline=baseline,
                handoff=handoff,
            )
            serve(job_r, result_w, workdir, setup)
        except BaseException as error:
            try:
                os.write(2, f"execfabric: job process setup failed: {type(error).__name__}: {error}\n".encode())
            except OSError:
                pass
        os._exit(70)

    def _spawn(self) -> None:
        token = secrets.token_hex(8)
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        handoff, child_handoff = socket.socketpair() if self.answers_sysinfo else (None, None)
        if self.uptime is not None:
            containment.refresh_uptime(self.uptime)
        gc.freeze()  # keep the collector off the shared heap in the child (no copy-on-write storms)
        # Held back across the fork: until the child ignores them (`_become_job`), one sent by a job of
        # the same uid (the userns rung: `kill(-1, SIGHUP)`) ended the next job's child before it ever
        # ran. Pending in the child, they are discarded once ignored; the zygote gets its own after.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, IDLE_IGNORED)
        pid = os.fork()
        if pid == 0:
            self._become_job(
                token, job_r, result_w, out_w, err_w, None if child_handoff is None else child_handoff.fileno(), held
            )
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for fd in (job_r, result_w, out_w, err_w):
            os.close(fd)
        if child_handoff is not None:
            child_handoff.close()
        workdir = None if self.plan.own_files or self.jobs_root is None else os.path.join(self.jobs_root, f"{pid}-{token}")
        host_pid = pid if self.host_proc is None else osutil.host_pid_of(pid, self.host_proc)
        slot = Slot(pid=pid, workdir=workdir, uid=self._job_uid(host_pid), handoff=handoff)
        self.slots[pid] = slot
        if handoff is not None:
            handoff.setblocking(False)
            self.selector.register(handoff, selectors.EVENT_READ, ("handoff", pid))
        try:
            protocol.send(
                self.control,
                {"event": "ready", "pid": pid, "workdir": slot.workdir or containment.JOB_FOLDER, "uid": slot.uid},
                [job_w, result_r, out_r, err_r],
            )
        finally:
            for fd in (job_w, result_r, out_r, err_r):
                os.close(fd)

    def _idle(self) -> list[Slot]:
        return [slot for slot in self.slots.values() if not slot.taken]

    def _replenish(self) -> None:
        """Forks idle children up to the pool size; called when no job is ending, so a fork (and the
        copy-on-write faults that follow it in this process) never delays a job's report."""
        for _ in range(self.pool - len(self._idle())):
            self._spawn()

    # -- the jobs' sysinfo(2) ----------------------------------------------------------------------

    def _on_handoff(self, pid: int) -> None:
        """The child has installed its job's filter: keep its listener (it sends one, then closes)."""
        slot = self.slots.get(pid)
        if slot is None or slot.handoff is None:
            return
        try:
            _message, fds, _flags, _address = socket.recv_fds(slot.handoff, 1, 1)
        except BlockingIOError:
            return
        except OSError:
            fds = []
        self._close_handoff(slot)
        for fd in fds:
            if slot.listener is None:
                slot.listener = fd
                self.selector.register(fd, selectors.EVENT_READ, ("sysinfo", pid))
            else:
                os.close(fd)

    def _on_sysinfo(self, pid: int) -> None:
        slot = self.slots.get(pid)
        if slot is None or slot.listener is None:
            return
        slot.answers += 1
        if slot.answers > notify.MAX_ANSWERS:
            self._close_listener(slot)  # the job's calls fail from here on (ENOSYS)
            return
        try:
            if not notify.answer(slot.listener):
                self._close_listener(slot)  # the job has exited (its reap comes later)
        except OSError:
            self._close_listener(slot)

    def _close_handoff(self, slot: Slot) -> None:
        if slot.handoff is not None:
            self.selector.unregister(slot.handoff)
            slot.handoff.close()
            slot.handoff = None

    def _close_listener(self, slot: Slot) -> None:
        if slot.listener is not None:
            self.selector.unregister(slot.listener)
            os.close(slot.listener)
            slot.listener = None

    def _release(self, slot: Slot) -> None:
        self._close_handoff(slot)
        self._close_listener(slot)

    # -- ending jobs -----------------------------------------------------------------------------

    def _sweep(self, into: Slot | None) -> None:
        """Kills every descendant that is not a live slot, until none is left."""
        for _ in range(1000):
            strays = osutil.children_of(self.pid) - set(self.slots)
            if not strays:
                return
            for pid in strays:
                osutil.kill_quietly(pid)
            time.sleep(0.0005)
            self._reap(into)

    def _kill_uid(self, uid: int) -> None:
        """SIGKILLs every process of a job's own uid at once (root, with a uid per job): a helper that
        becomes that uid calls kill(-1), which the kernel applies to all of them while no fork can
        complete. Where jobs share a uid (or none is theirs alone) nothing is done here."""
        if not (self.root and self.own_uids) or uid < self.uid_base:
            return
        helper = os.fork()
        if helper == 0:
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                # Never as anyone else: kill(-1) as root would signal every process of the machine.
                if os.getresuid() == (uid, uid, uid) and uid != 0:
                    os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        try:
            os.waitpid(helper, 0)
        except ChildProcessError:
            pass

    def _wipe_files_of(self, uid: int) -> None:
        """Removes what a job uid left in the world-writable temporary folders (root mode only)."""
        for root in SHARED_TEMP_ROOTS:
            try:
                entries = list(os.scandir(root))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    continue

    def _finish(self, slot: Slot, status: int) -> None:
        osutil.kill_quietly(slot.pid, group=True)
        self._release(slot)
        # Every process the job left, at once: a fork bomb outruns the sweep below, which kills the
        # zygote's children one by one while their own children fork into the places freed. Whatever
        # the job left is in the zygote's subtree (it is the subreaper: a job's orphans are its
        # children now, killed or not), so a job that left nothing, most of them, costs no helper fork.
        if osutil.children_of(self.pid) - set(self.slots):
            if self.groups is not None:
                self.groups.kill(slot.pid)
            self._kill_uid(slot.uid)
        self._sweep(slot)
        if slot.workdir is not None:
            shutil.rmtree(slot.workdir, ignore_errors=True)
        if not self.plan.own_files:
            if self.root and self.own_uids:
                self._wipe_files_of(slot.uid)
            elif not self.root and self.jobs_root is not None:
                # The jobs root is kept, and the folder holding it (`/tmp/execfabric-jobs`) if any.
                containment.wipe_shared_temp(os.getuid(), slot.taken_at, self.jobs_root, self.wipe_all_temp)
        usage = None
        if self.groups is not None:
            usage = self.groups.usage(slot.pid)
            self.groups.remove(slot.pid)
        exit_code = os.waitstatus_to_exitcode(status)
        protocol.send(
            self.control,
            {
                "event": "exit",
                "pid": slot.pid,
                "exitCode": exit_code if exit_code >= 0 else None,
                "signal": -exit_code if exit_code < 0 else None,
                "cpuMs": round(slot.cpu_ms, 3),
                "ownCpuMs": round(slot.own_cpu_ms if slot.own_cpu_ms is not None else slot.cpu_ms, 3),
                "maxRssKb": slot.max_rss_kb,
                **({} if usage is None else {"treePeakKb": usage.peak_kb, "oomKills": usage.oom_kills}),
            },
        )

    def _reap(self, into: Slot | None = None) -> None:
        while True:
            try:
                # Looked at before it is reaped: a zombie's /proc still holds its own CPU time.
                exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if exited is None:
                return
            pid = exited.si_pid
            if pid in self.slots and not self.slots[pid].taken:
                # Its "take" may be waiting in the socket (the sandbox sends it before the job): read
                # it first, or a job that already ran would be mistaken for an unused child.
                self._drain_control()
            own_cpu_ms = osutil.own_cpu_ms(pid) if pid in self.slots else None
            try:
                pid, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if pid == 0:
                return
            slot = self.slots.pop(pid, None)
            target = slot if slot is not None else into
            if target is not None:
                target.cpu_ms += (usage.ru_utime + usage.ru_stime) * 1000
                target.max_rss_kb = max(target.max_rss_kb, usage.ru_maxrss)
            if slot is not None:
                # Unreadable (it should not be): the rusage of its wait, its reaped children's with it.
                slot.own_cpu_ms = own_cpu_ms if own_cpu_ms is not None else (usage.ru_utime + usage.ru_stime) * 1000
            if slot is None:
                continue
            if slot.taken:
                self.untaken_deaths = 0
                self._finish(slot, status)
                self._replenish()
            else:
                # An idle child died (it should not): clean up and replace it, unless that keeps happening.
                self._release(slot)
                if slot.workdir is not None:
                    shutil.rmtree(slot.workdir, ignore_errors=True)
                if self.groups is not None:
                    self.groups.remove(slot.pid)
                protocol.send(self.control, {"event": "lost", "pid": slot.pid})
                self.untaken_deaths += 1
                if self.untaken_deaths >= MAX_UNTAKEN_DEATHS:
                    print("execfabric zygote: job processes keep dying before use; stopping", file=sys.stderr)
                    self.running = False
                    return
                self._spawn()

    # -- control ---------------------------------------------------------------------------------

    def _drain_control(self) -> None:
        while self.running:
            try:
                self._on_control()
            except BlockingIOError:
                return

    def _on_control(self) -> None:
        message, fds = protocol.receive(self.control)
        for fd in fds:
            os.close(fd)
        if message is None:
            self.running = False
            return
        op = message.get("op")
        pid = message.get("pid")
        slot = self.slots.get(pid) if isinstance(pid, int) else None
        if op == "take" and slot is not None and not slot.taken:
            # A job of the zygote's uid (the userns rung) may have stopped this idle child: it resumes
            # before its job is read, which would otherwise wait to its timeout.
            osutil.kill_quietly(slot.pid, signal.SIGCONT)
            slot.taken = True
            slot.taken_at = time.time()
            if not self._idle():
                self._spawn()
        elif op == "kill" and slot is not None and slot.taken:
            osutil.kill_quietly(slot.pid, group=True)
            osutil.kill_quietly(slot.pid)
        elif op == "stop":
            self.running = False

    def _on_sigchld(self, _signum: int, _frame: Any) -> None:
        pass  # the wakeup fd does the work

    def serve(self) -> None:
        self.control.setblocking(False)
        # Python's own SIGINT handler would end the zygote with a KeyboardInterrupt, and a job of its
        # uid (the userns rung) may send it one; the Sandbox stops the zygote another way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, self._on_sigchld)
        signal.set_wakeup_fd(self.wakeup_w)
        if self.waiter is None:
            signal.signal(signal.SIGTERM, lambda _signum, _frame: setattr(self, "running", False))
        selector = self.selector
        selector.register(self.control, selectors.EVENT_READ, "control")
        selector.register(self.wakeup_r, selectors.EVENT_READ, "wakeup")
        if self.waiter is not None:
            selector.register(self.waiter, selectors.EVENT_READ, "waiter")
        try:
            protocol.send(self.control, {"event": "hello", "plan": self.plan.to_json()})
            self._replenish()
            while self.running:
                for key, _events in selector.select(timeout=1.0):
                    if key.data == "control":
                        self._drain_control()
                    elif key.data == "waiter":
                        self.running = False  # the waiter was asked to stop, or is gone
                    elif isinstance(key.data, tuple):
                        kind, pid = key.data
                        if kind == "sysinfo":
                            self._on_sysinfo(pid)
                        else:
                            self._on_handoff(pid)
                    else:
                        try:
                            while os.read(self.wakeup_r, 512):
                                pass
                        except BlockingIOError:
                            pass
                self._reap()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sandbox has gone
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for pid, slot in list(self.slots.items()):
            osutil.kill_quietly(pid, group=True)
            osutil.kill_quietly(pid)
            self._release(slot)
            if self.groups is not None:
                self.groups.kill(pid)
            if slot.taken:
                self._kill_uid(slot.uid)
        self.slots.clear()
        self._sweep(None)
        self._reap()
        if self.groups is not None:
            self.groups.close()
        if self.jobs_root is not None:
            shutil.rmtree(self.jobs_root, ignore_errors=True)


def _own_folder(path: str) -> bool:
    """Whether `path` is a real folder of this user that no one else may write into."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o022 == 0


def prepare_jobs_root(parent: str) -> str:
    """A fresh folder for this zygote's job folders: traversable but not listable by job uids.

    `parent` is shared by name (`/tmp/execfabric-jobs`), so on a machine with other users it may be
    someone else's: theirs to rename or swap what is made in it (a symlink where a job folder was),
    or simply not writable here (a second user's agent could not start). Unless it is this user's own
    folder that no one else may write into, the job folders go in this user's own folder beside it,
    or, when that name is taken too, in a fresh private folder that is the jobs root itself."""
    os.makedirs(parent, mode=0o711, exist_ok=True)
    if not _own_folder(parent):
        # This user's own by name next to it (kept across starts), else a fresh one each start.
        mine = f"{parent}-{os.geteuid()}"
        try:
            os.mkdir(mine, 0o711)
        except FileExistsError:
            pass
        if _own_folder(mine):
            parent = mine
        else:
            # Fresh and private: the jobs root itself, so closing the zygote removes it with its
            # jobs' folders (nested in it, it stayed behind at every start while the name was taken).
            fresh = tempfile.mkdtemp(prefix=f"execfabric-jobs-{os.geteuid()}-")
            os.chmod(fresh, 0o711)
            return fresh
    for name in os.listdir(parent):  # leftovers of zygotes that died without cleaning up
        owner = name.split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    path = os.path.join(parent, f"{os.getpid()}-{secrets.token_hex(6)}")
    os.mkdir(path, 0o711)
    os.chmod(path, 0o711)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
