"""Entry of the zygote process: ``python -I -S zygote_main.py <control fd>``; its configuration is
the first message on the control socket (a job, a fork of the zygote, reads the zygote's command line).

`-I -S` keep the user's site-packages, PYTHON* variables and the current folder off sys.path; the only
path added is the layer's own `python/` folder. The process gets a clean environment from its Sandbox
and is never handed credentials."""

import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What scripts commonly import, loaded once here so that every forked job finds it warm.
import base64  # noqa: E402,F401
import collections  # noqa: E402,F401
import csv  # noqa: E402,F401
import dataclasses  # noqa: E402,F401
import datetime  # noqa: E402,F401
import decimal  # noqa: E402,F401
import encodings.ascii  # noqa: E402,F401 - the runtime's own /proc and cgroup reads in each child
import functools  # noqa: E402,F401
import hashlib  # noqa: E402,F401
import itertools  # noqa: E402,F401
import math  # noqa: E402,F401
import random  # noqa: E402,F401
import re  # noqa: E402,F401
import statistics  # noqa: E402,F401
import string  # noqa: E402,F401
import tempfile  # noqa: E402,F401
import textwrap  # noqa: E402,F401
import typing  # noqa: E402,F401
import urllib.parse  # noqa: E402,F401
import uuid  # noqa: E402,F401

import execfabric  # noqa: E402,F401
from execfabric_runtime import child, containment, osutil, protocol  # noqa: E402,F401
from execfabric_runtime.zygote import Zygote, prepare_jobs_root  # noqa: E402


def main() -> None:
    osutil.make_undumpable()
    osutil.one_malloc_arena()
    osutil.become_subreaper()
    parent = os.getppid()
    osutil.die_with_parent(signal.SIGTERM)
    if os.getppid() != parent or parent == 1:
        sys.exit(0)
    control = socket.socket(fileno=int(sys.argv[1]))
    message, fds = protocol.receive(control)
    for fd in fds:
        os.close(fd)
    if message is None or message.get("op") != "configure" or not isinstance(message.get("config"), dict):
        sys.exit(0)  # the Sandbox went away before it said what this zygote is
    config = message["config"]
    settings = containment.Settings.from_json(config.get("containment") or {})
    plan, groups = containment.choose(settings, os.geteuid() == 0, lambda line: print(line, file=sys.stderr))
    # With a mount namespace per job, job folders live in each job's tmpfs; otherwise on the host.
    jobs_root = None if plan.own_files else prepare_jobs_root(config["jobsParent"])
    # Last, so that what is named by this process's pid (its cgroups, its jobs root) is named by the
    # host pid the Sandbox knows, the waiter's; from here on this is the zygote in its namespace.
    host_proc, waiter = containment.enter_pid_namespace([control.fileno()]) if plan.own_pids else (None, None)
    # In the zygote's mount namespace, after its pid namespace's procfs: every job child inherits it.
    uptime = containment.job_proc_view(plan)
    zygote = Zygote(
        control,
        jobs_root,
        int(config["uidBase"]),
        plan,
        groups,
        wipe_all_temp=bool(config.get("wipeAllTemp")),
        host_proc=host_proc,
        waiter=waiter,
        uptime=uptime,
    )
    zygote.serve()


if __name__ == "__main__":
    main()
