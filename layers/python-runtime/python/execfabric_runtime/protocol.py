"""The control channel between a Sandbox (in the worker process) and its zygote: one JSON object per
SOCK_SEQPACKET packet, with pipe descriptors attached to `ready` packets (SCM_RIGHTS).

zygote → sandbox   {"event": "ready", "pid", "workdir", "uid"}  + fds [job_w, result_r, stdout_r, stderr_r]
                   {"event": "exit", "pid", "exitCode", "signal", "cpuMs", "maxRssKb"}
                   {"event": "lost", "pid"}  an idle child died before it was used
sandbox → zygote   {"op": "configure", "config"}  first, once: what the zygote is to be
                   {"op": "take", "pid"}   the slot is in use (replaced after its job ends)
                   {"op": "kill", "pid"}   kill the job's whole process tree (timeout)
                   {"op": "stop"}

Job data never crosses this channel: the sandbox writes it straight into the child's job pipe."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

MAX_PACKET = 65536
FDS_PER_SLOT = 4
#: On a job's result pipe (not this channel): the line the runner writes once the job is set up, just
#: before any job code runs. A result line before it is the runner's own; every line after it is the
#: job's, whatever it says (the script owns the pipe from then on).
SCRIPT_STARTS = b'{"script":"starts"}'


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and its descriptors; `(None, [])` when the other side has gone."""
    data, fds, _flags, _address = socket.recv_fds(sock, MAX_PACKET, FDS_PER_SLOT)
    if not data:
        for fd in fds:
            _close(fd)
        return None, []
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("control message is not an object")
    return message, list(fds)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
