"""Per-job resource limits: what a job may ask for, their bounds, and how the child applies them.

`timeoutSeconds`, `memoryMb`, `outputBytes` and `logBytes` come from the job message; the others are
optional in the message and default to values that suit small scripts."""

from __future__ import annotations

import math
import resource
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MIB = 1024 * 1024


class LimitsError(ValueError):
    """A limits object that is missing a field or holds a value out of bounds."""


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    default: float | None  # None: the job message must carry it


BOUNDS: dict[str, Bound] = {
    "timeoutSeconds": Bound(0.1, 900, None),
    "memoryMb": Bound(64, 10_240, None),
    "outputBytes": Bound(2, 8 * MIB, None),
    "logBytes": Bound(0, 8 * MIB, None),
    "cpuSeconds": Bound(1, 900, None),  # default: derived from timeoutSeconds
    "fileSizeBytes": Bound(0, 1024 * MIB, 64 * MIB),
    # Everything the job may write in all (its tmpfs, where it has one; otherwise only per file).
    "diskBytes": Bound(1 * MIB, 1024 * MIB, 64 * MIB),
    "openFiles": Bound(8, 4096, 64),
    "processes": Bound(1, 256, 32),
}


@dataclass(frozen=True)
class Limits:
    timeoutSeconds: float
    memoryMb: int
    outputBytes: int
    logBytes: int
    cpuSeconds: int
    fileSizeBytes: int
    diskBytes: int
    openFiles: int
    processes: int

    @classmethod
    def parse(cls, raw: object) -> Limits:
        if not isinstance(raw, Mapping):
            raise LimitsError("limits must be an object")
        unknown = set(raw) - set(BOUNDS)
        if unknown:
            raise LimitsError(f"unknown limits: {', '.join(sorted(unknown))}")
        values: dict[str, float] = {}
        for name, bound in BOUNDS.items():
            value = raw.get(name)
            if value is None:
                if name == "cpuSeconds":
                    continue
                if bound.default is None:
                    raise LimitsError(f"limits.{name} is required")
                value = bound.default
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise LimitsError(f"limits.{name} must be a number")
            if not bound.low <= value <= bound.high:
                raise LimitsError(f"limits.{name} must be between {bound.low:g} and {bound.high:g}")
            values[name] = value
        timeout = float(values["timeoutSeconds"])
        # The wall clock is the limit a single-threaded loop meets first; CPU time catches work spread
        # over threads, which can burn more CPU seconds than wall seconds.
        cpu = int(values.get("cpuSeconds", math.ceil(timeout) + 1))
        return cls(
            timeoutSeconds=timeout,
            memoryMb=int(values["memoryMb"]),
            outputBytes=int(values["outputBytes"]),
            logBytes=int(values["logBytes"]),
            cpuSeconds=cpu,
            fileSizeBytes=int(values["fileSizeBytes"]),
            diskBytes=int(values["diskBytes"]),
            openFiles=int(values["openFiles"]),
            processes=int(values["processes"]),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def with_timeout(self, seconds: float) -> Limits:
        return Limits(**{**asdict(self), "timeoutSeconds": seconds})


def _lower(kind: int, value: int) -> None:
    """Sets soft and hard limit, never above the current hard limit (raising it would need privilege)."""
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def apply_file_size(limits: Limits) -> None:
    """Sets the file-size limit, soft and hard: before the job's seccomp filter, which refuses any
    change to it afterwards (a write past a limit the job lowered itself would be the kernel's own
    SIGXFSZ, read as this limit)."""
    _lower(resource.RLIMIT_FSIZE, limits.fileSizeBytes)


def apply(limits: Limits, *, nproc_baseline: int, address_space: bool = True) -> None:
    """Applies the limits to the calling process (a job child, before it runs the script).

    RLIMIT_NPROC counts every task of the real uid: `nproc_baseline` is how many the uid had before the
    job (0 when the job runs under a uid of its own). `address_space`: the memory limit is the
    process's address space (RLIMIT_AS), where no memory cgroup holds the job's tree; where one does,
    the group is the limit (what the tree keeps resident, its tmpfs included), and address space that
    holds no memory (each thread's stack reservation, 8 MB) does not count against it."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft_cpu = limits.cpuSeconds
    _soft, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    # Soft limit: SIGXCPU; the hard one a second later is a SIGKILL nothing can catch.
    cpu_hard = soft_cpu + 1 if hard_cpu == resource.RLIM_INFINITY else min(soft_cpu + 1, hard_cpu)
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft_cpu, cpu_hard), cpu_hard))
    if address_space:
        _lower(resource.RLIMIT_AS, limits.memoryMb * MIB)
    _lower(resource.RLIMIT_NOFILE, limits.openFiles)
    _lower(resource.RLIMIT_NPROC, nproc_baseline + limits.processes)
