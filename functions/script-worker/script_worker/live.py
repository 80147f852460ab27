"""What a run shows and takes while it runs: its output streamed as signed `log` reports (live logs),
and its claim beaten once a second (a sign of life for a redelivered copy, and where a cancel's stop
request is read).

Both work beside the sandbox on their own threads and never slow the job or change its outcome: a
log report that cannot be sent is logged and dropped (the result still carries the run's logs), a
claim that cannot be read is read again a second later. A run shorter than one interval costs
neither a message nor a read."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .jobs import Job
from .messages import MAX_MESSAGE_BYTES, encode

#: A job shorter than this sends no log report at all (its result carries the logs).
LOG_FIRST_FLUSH_SECONDS = 1.0
#: After the first report, output is sent about this often while a job runs.
LOG_FLUSH_SECONDS = 0.5
#: The largest piece of text in one chunk, in UTF-8 bytes (the recorder keeps at most 16 KiB).
MAX_CHUNK_BYTES = 16 * 1024 - 64
#: Chunks one run may stream (the recorder's MAX_LOG_CHUNKS); later output stays in the result only.
MAX_CHUNKS = 2000
#: One log report carries at most this many bytes of chunks (well under a queue message).
MAX_REPORT_BYTES = min(256 * 1024, MAX_MESSAGE_BYTES // 2)
#: How often a running job's claim is beaten (its sign of life) and read for a stop request.
HEARTBEAT_SECONDS = 1.0

Log = Callable[[dict[str, Any]], None]


def _now_iso() -> str:
    return datetime.now(tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pieces(text: str, limit: int) -> list[str]:
    """`text` cut into pieces of at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(len(data), start + limit)
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # back off to the start of a character
        pieces.append(data[start:end].decode("utf-8", "replace"))
        start = end
    return pieces


class LiveLog:
    """Streams one run's kept stdout and stderr as `log` reports, about once a second.

    `feed` is called on the sandbox's thread and only appends under a lock. `finish` stops the
    stream; if anything was streamed, the rest is sent too, so that the stream is whole (the API then
    reads the streamed chunks); otherwise nothing is sent and the result carries the logs alone."""

    def __init__(
        self,
        job: Job,
        send: Callable[[str], None],
        log: Log,
        context: dict[str, Any],
        interval: float = LOG_FLUSH_SECONDS,
    ) -> None:
        self.job = job
        self.send = send
        self.log = log
        self.context = context
        self.interval = interval
        self.seq = 0
        self.streamed = 0
        self.dropped = False
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str]] = []
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="execfabric-live-log", daemon=True)

    def start(self) -> LiveLog:
        self._thread.start()
        return self

    def feed(self, stream: str, data: bytes) -> None:
        decoder = self._decoders.get(stream)
        if decoder is None:
            return
        text = decoder.decode(data)
        if not text:
            return
        with self._lock:
            if self._pending and self._pending[-1][0] == stream:
                self._pending[-1] = (stream, self._pending[-1][1] + text)
            else:
                self._pending.append((stream, text))

    def finish(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        for stream, decoder in self._decoders.items():
            tail = decoder.decode(b"", final=True)
            if tail:
                self.feed_text(stream, tail)
        if self.streamed > 0:
            self._flush()

    def feed_text(self, stream: str, text: str) -> None:
        with self._lock:
            self._pending.append((stream, text))

    def _loop(self) -> None:
        if self._done.wait(max(self.interval, LOG_FIRST_FLUSH_SECONDS)):
            return
        self._flush()
        while not self._done.wait(self.interval):
            self._flush()

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            pending, self._pending = self._pending, []
        at = _now_iso()
        chunks: list[dict[str, Any]] = []
        for stream, text in pending:
            for piece in _pieces(text, MAX_CHUNK_BYTES):
                if self.seq >= MAX_CHUNKS:
                    self.dropped = True
                    return chunks
                self.seq += 1
                chunks.append({"seq": self.seq, "stream": stream, "text": piece, "at": at})
        return chunks

    def _flush(self) -> None:
        chunks = self._take()
        batch: list[dict[str, Any]] = []
        size = 0
        for chunk in chunks:
            chunk_size = len(encode(chunk))
            if batch and size + chunk_size > MAX_REPORT_BYTES:
                self._send(batch)
                batch, size = [], 0
            batch.append(chunk)
            size += chunk_size
        if batch:
            self._send(batch)

    def _send(self, chunks: list[dict[str, Any]]) -> None:
        body = encode(
            {
                "kind": "log",
                "jobId": self.job.job_id,
                "executionId": self.job.execution_id,
                "tenantId": self.job.tenant_id,
                "chunks": chunks,
            }
        )
        try:
            self.send(body)
            self.streamed += len(chunks)
        except Exception as error:  # noqa: BLE001 - a live view never fails the run
            self.log({"level": "WARN", "event": "log-report-not-sent", **self.context, "error": repr(error)})


class Heartbeat:
    """Beats the job's claim about once a second while the job runs (`heartbeat(job_id, now)`, which
    answers whether a stop was requested): the beat tells a redelivered copy of the job that this
    attempt is alive; a stop request (a cancel) sets `stop`. The first beat is one interval after
    the job started (the claim itself is the first sign of life); `on_alive` runs once, just before
    it: a job that ends within the first interval costs no beat and no `started` report."""

    def __init__(
        self,
        beat: Callable[[str, float], bool],
        job_id: str,
        log: Log,
        context: dict[str, Any],
        clock: Callable[[], float],
        interval: float = HEARTBEAT_SECONDS,
        on_alive: Callable[[], None] | None = None,
    ) -> None:
        self.beat = beat
        self.on_alive = on_alive
        self.job_id = job_id
        self.log = log
        self.context = context
        self.clock = clock
        self.interval = interval
        self.stop = threading.Event()
        self._done = threading.Event()
        self._failures = 0
        self._thread = threading.Thread(target=self._loop, name="execfabric-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            if self.on_alive is not None:
                alive, self.on_alive = self.on_alive, None
                alive()
            try:
                requested = self.beat(self.job_id, self.clock())
            except Exception as error:  # noqa: BLE001 - beat again at the next interval
                self._failures += 1
                if self._failures == 1:
                    self.log({"level": "WARN", "event": "heartbeat-failed", **self.context, "error": repr(error)})
                continue
            if requested and not self.stop.is_set():
                self.log({"level": "INFO", "event": "stop-requested", **self.context})
                self.stop.set()
