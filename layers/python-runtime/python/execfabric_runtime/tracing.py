"""Tracebacks that show the script's own frames and nothing of the runner or the host's files."""

from __future__ import annotations

import traceback

from .check import SCRIPT_FILENAME

MAX_TRACE_CHARS = 16_384
MAX_MESSAGE_CHARS = 4_096


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} characters truncated]"


def exception_type(error: BaseException) -> str:
    cls = type(error)
    if cls.__module__ in ("builtins", "__execfabric_script__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_message(error: BaseException) -> str:
    try:
        return clip(str(error), MAX_MESSAGE_CHARS)
    except Exception:  # a custom __str__ may itself fail
        return f"<unprintable {type(error).__name__}>"


def _only_script_frames(summary: traceback.TracebackException, seen: set[int]) -> None:
    if id(summary) in seen:
        return
    seen.add(id(summary))
    kept = [frame for frame in summary.stack if frame.filename == SCRIPT_FILENAME]
    summary.stack = traceback.StackSummary.from_list(kept)
    for linked in (summary.__cause__, summary.__context__):
        if linked is not None:
            _only_script_frames(linked, seen)
    for nested in getattr(summary, "exceptions", None) or []:  # ExceptionGroup members
        _only_script_frames(nested, seen)


def script_trace(error: BaseException) -> str:
    """The traceback of `error` restricted to frames of the script (named SCRIPT_FILENAME)."""
    try:
        summary = traceback.TracebackException.from_exception(error, capture_locals=False)
        _only_script_frames(summary, set())
        return clip("".join(summary.format()), MAX_TRACE_CHARS)
    except Exception:
        return f"{exception_type(error)}: {exception_message(error)}\n"


def full_trace(error: BaseException) -> str:
    """Unfiltered trace, for classifying an error inside the child (never reported)."""
    try:
        return "".join(traceback.format_exception(error))
    except Exception:
        return ""
