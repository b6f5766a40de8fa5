"""Reading the engine's long-lived streams: logs (multiplexed or raw, as the container's TTY
says) and JSON streams (events, stats, pull progress), and where a broken followed log picks
up again. Every stream can be closed promptly from another thread. The framing undone here
is in framing.py; the answers read from a raw connection, in rawhttp.py."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from .errors import EngineUnreachable
from .framing import (
    STDOUT,
    STREAM_NAMES,
    SYSTEMERR,
    ChunkedDecoder,
    FrameDemuxer,
    JSONStreamDecoder,
    LineSplitter,
)
from .rawhttp import RawAnswer, socket_of

# The RFC 3339 timestamp (and its space) the engine puts before each log frame's payload.
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ")


@dataclass(slots=True)
class LogLine:
    stream: str  # "stdout", "stderr" or "error" (an error the engine sent in-band)
    text: str
    timestamp: str = ""


class StreamBody(Protocol):
    """Where a stream's bytes come from. `chunks()` is read in one thread and `close()` may
    come from any other: it ends `chunks()` quietly."""

    @property
    def sock(self) -> socket.socket | None: ...

    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...

    def chunks(self) -> Iterator[bytes]: ...


class ResponseBody:
    """The body of a streamed requests answer, read in large blocks."""

    def __init__(self, resp: requests.Response, url: str = "") -> None:
        self._resp = resp
        self._url = url
        self._closed = threading.Event()
        self.sock = socket_of(resp)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # Closing from another thread may race the reader; whatever it raises, it is closed.
        with contextlib.suppress(Exception):
            self._resp.close()

    def chunks(self) -> Iterator[bytes]:
        raw = self._resp.raw
        # http.client's buffered socket reader, when nothing of the body was read yet.
        http_resp = getattr(raw, "_fp", None)
        fp = getattr(http_resp, "fp", None)
        read1: Callable[[int], bytes] | None = None
        if raw.chunked and getattr(http_resp, "chunk_left", 0) is None:
            read1 = getattr(fp, "read1", None)
        try:
            if read1 is not None:
                decoder = ChunkedDecoder()
                while not decoder.done:
                    block = read1(65536)
                    if not block:
                        break
                    data = decoder.feed(block)
                    if data:
                        yield data
            elif raw.chunked and raw.supports_chunked_reads():
                for chunk in raw.read_chunked(decode_content=False):
                    if chunk:
                        yield chunk
            else:
                while True:
                    chunk = raw.read1(65536)
                    if not chunk:
                        break
                    yield chunk
        except Exception as exc:
            # A close from another thread surfaces as odd errors in the reader (DESIGN.md):
            # that is the end of the stream, not a failure.
            if self._closed.is_set():
                return
            raise EngineUnreachable(
                f"stream from {self._url or 'the engine'} broke: {exc}", self._url
            ) from exc
        finally:
            if not self._closed.is_set():
                self._closed.set()
                self._resp.close()


class EngineStream:
    """A streaming answer: a requests answer read with `stream=True`, or another body (see
    RawJSONStream). Iterate `chunks()` in one thread; `close()` from any other."""

    def __init__(self, body: requests.Response | StreamBody, url: str = "") -> None:
        self._body: StreamBody = (
            ResponseBody(body, url) if isinstance(body, requests.Response) else body
        )
        # The connection under the stream (tests cut it, as a dying engine would).
        self._sock = self._body.sock

    @property
    def closed(self) -> bool:
        return self._body.closed

    def close(self) -> None:
        """End the stream now: the reading thread sees its end, without an error."""
        self._body.close()

    def chunks(self) -> Iterator[bytes]:
        return self._body.chunks()

    def __enter__(self) -> EngineStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogStream(EngineStream):
    """Container (or service/task) logs, multiplexed or raw as the container's TTY says."""

    def __init__(
        self,
        body: requests.Response | StreamBody,
        tty: bool,
        timestamps: bool = False,
        url: str = "",
    ) -> None:
        super().__init__(body, url)
        self.tty = tty
        self.timestamps = timestamps

    def batches(self) -> Iterator[list[LogLine]]:
        """Lists of complete lines, one list per chunk read; a last partial line at the end."""
        splitters: dict[str, LineSplitter] = {}
        demux = None if self.tty else FrameDemuxer()
        # Streams whose last frame ended inside a line: a long line is stored in parts, and
        # each part's frame comes with a timestamp of its own (Podman's k8s-file splits at
        # a few KiB; Docker at 16 KiB). The line is one line, with its first timestamp.
        partial: set[str] = set()
        for chunk in self.chunks():
            parts = [(STDOUT, chunk)] if demux is None else demux.feed(chunk)
            batch: list[LogLine] = []
            for kind, payload in parts:
                name = STREAM_NAMES[kind]
                if kind == SYSTEMERR:
                    batch.append(LogLine("error", payload.decode("utf-8", "replace").rstrip()))
                    continue
                if demux is not None and self.timestamps:
                    if name in partial and (m := _TIMESTAMP.match(payload)):
                        payload = payload[m.end() :]
                    if payload.endswith(b"\n"):
                        partial.discard(name)
                    elif payload:
                        partial.add(name)
                splitter = splitters.get(name)
                if splitter is None:
                    splitter = splitters[name] = LineSplitter()
                for raw_line in splitter.feed(payload):
                    batch.append(self._line(name, raw_line))
            if batch:
                yield batch
        tail = [
            self._line(name, rest)
            for name, s in splitters.items()
            if (rest := s.flush()) is not None
        ]
        if tail:
            yield tail

    def lines(self) -> Iterator[LogLine]:
        for batch in self.batches():
            yield from batch

    def _line(self, stream: str, raw: bytes) -> LogLine:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = raw.decode("utf-8", "replace")
        if self.timestamps:
            ts, sep, rest = text.partition(" ")
            if sep:
                return LogLine(stream, rest, ts)
        return LogLine(stream, text)


class JSONStream(EngineStream):
    """Events, stats, pull/push progress: one JSON document after another."""

    # Applied to each batch of decoded documents (e.g. Podman's events renamed as Docker's).
    transform: Callable[[list[Any]], list[Any]] | None = None

    def objects(self) -> Iterator[Any]:
        decoder = JSONStreamDecoder()
        for chunk in self.chunks():
            docs = decoder.feed(chunk)
            yield from (self.transform(docs) if self.transform and docs else docs)


def timestamp_to_unix(ts: str) -> str | None:
    """'2024-05-01T10:20:30.123456789Z' -> '1714558830.123456789' (the engine's `since`
    format, to the nanosecond); None when it is not such a timestamp."""
    from datetime import datetime

    date, dot, rest = ts.partition(".")
    frac = ""
    if dot:
        digits = ""
        for ch in rest:
            if not ch.isdigit():
                break
            digits += ch
        frac, tz = digits, rest[len(digits) :]
    else:
        date, tz = ts[:19], ts[19:]
    tz = "+00:00" if tz in ("Z", "") else tz
    try:
        seconds = int(datetime.fromisoformat(date[:19] + tz).timestamp())
    except ValueError:
        return None
    return f"{seconds}.{(frac + '000000000')[:9]}"


def after(unix: str) -> str:
    """The smallest engine time after `unix` ('sec.nanos'): to resume without a repeat."""
    sec, _, nanos = unix.partition(".")
    n = int((nanos + "000000000")[:9]) + 1
    return f"{int(sec) + n // 10**9}.{n % 10**9:09d}"


class LogResume:
    """Where a followed log picks up after its stream broke, with no gap and no repeat.

    Docker stamps log lines to the nanosecond, Podman to the second: either way the log is
    read again from the last line's own timestamp (the engines' `since` includes it), and
    as many lines carrying that timestamp as were already seen are dropped.
    """

    def __init__(self) -> None:
        self.timestamp = ""
        self.count = 0  # lines seen with that timestamp
        self._skip = 0

    def feed(self, batch: list[LogLine]) -> list[LogLine]:
        """The lines of `batch` not seen before; remembers where the log stands."""
        if self._skip:
            kept = []
            for line in batch:
                if self._skip and line.timestamp == self.timestamp:
                    self._skip -= 1
                    continue
                self._skip = 0
                kept.append(line)
            batch = kept
        for line in batch:
            if not line.timestamp:
                continue
            if line.timestamp == self.timestamp:
                self.count += 1
            else:
                self.timestamp, self.count = line.timestamp, 1
        return batch

    def since(self) -> str | None:
        """The `since` to read on from (None: nothing seen yet); expects the lines again."""
        unix = timestamp_to_unix(self.timestamp) if self.timestamp else None
        if unix is not None:
            self._skip = self.count
        return unix


class RawJSONStream(JSONStream):
    """A JSON stream read from a raw connection whose answer head may come late: Podman's
    events send no head at all until the first event, so a requests call would block until
    then, unable to be closed or to tell that it is connected.

    `idle` is called when nothing came for `idle_seconds`, and after each read: documents it
    returns are sent as if the engine had (events Podman never sends)."""

    def __init__(
        self,
        sock: socket.socket,
        url: str = "",
        idle: Callable[[], list[Any]] | None = None,
        idle_seconds: float = 5.0,
    ) -> None:
        encoded = None if idle is None else _encoded(idle)
        super().__init__(RawAnswer(sock, url, idle=encoded, idle_seconds=idle_seconds), url)


def _encoded(idle: Callable[[], list[Any]]) -> Callable[[], bytes]:
    def produce() -> bytes:
        return "".join(json.dumps(doc) + "\n" for doc in idle()).encode()

    return produce


class RawLogStream(LogStream):
    """A followed log read from a raw connection: Podman sends no answer head for a followed
    log until the container writes a line, so a silent container's log could neither be said
    connected nor closed, and the request would time out."""

    def __init__(
        self, sock: socket.socket, tty: bool, timestamps: bool = False, url: str = ""
    ) -> None:
        super().__init__(RawAnswer(sock, url), tty, timestamps, url)
