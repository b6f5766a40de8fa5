"""Reading the engine's long-lived streams: multiplexed log frames, raw TTY output, and
JSON streams (events, stats, pull progress). Parsers work on arbitrary chunk boundaries;
every stream can be closed promptly from another thread."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from .errors import EngineError, EngineUnreachable

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
STREAM_NAMES = {STDIN: "stdout", STDOUT: "stdout", STDERR: "stderr", SYSTEMERR: "error"}
_HEADER = 8
# A single frame larger than this is not a log line but a corrupt stream.
MAX_FRAME = 64 * 1024 * 1024


class FrameDemuxer:
    """The 8-byte frame format of non-TTY logs and attach: [type,0,0,0,size(4, big-endian)]."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        while n - pos >= _HEADER:
            kind = buf[pos]
            size = int.from_bytes(buf[pos + 4 : pos + 8], "big")
            if kind > SYSTEMERR or buf[pos + 1 : pos + 4] != b"\0\0\0" or size > MAX_FRAME:
                raise EngineError(f"malformed log frame header {bytes(buf[pos : pos + 8])!r}")
            if n - pos - _HEADER < size:
                break
            start = pos + _HEADER
            out.append((kind, bytes(buf[start : start + size])))
            pos = start + size
        if pos:
            del buf[:pos]
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


class LineSplitter:
    """Bytes in, complete lines out (without the newline); the rest waits for more."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        data = self._rest + data if self._rest else data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        return lines

    def flush(self) -> bytes | None:
        rest, self._rest = self._rest, b""
        return rest or None


class JSONStreamDecoder:
    """Concatenated JSON values (newline-, RS- or un-separated) from arbitrary chunks."""

    _decoder = json.JSONDecoder()
    _SKIP = " \t\r\n\x1e"

    def __init__(self) -> None:
        self._buf = ""
        self._bytes = b""

    def feed(self, data: bytes) -> list[Any]:
        # Decode only complete UTF-8 sequences: a chunk may end inside a character.
        raw = self._bytes + data
        try:
            text = raw.decode("utf-8")
            self._bytes = b""
        except UnicodeDecodeError as exc:
            if exc.start < len(raw) - 3:
                text = raw.decode("utf-8", errors="replace")
                self._bytes = b""
            else:
                text = raw[: exc.start].decode("utf-8")
                self._bytes = raw[exc.start :]
        buf = self._buf + text
        out: list[Any] = []
        pos, n = 0, len(buf)
        while True:
            while pos < n and buf[pos] in self._SKIP:
                pos += 1
            if pos >= n:
                break
            try:
                value, end = self._decoder.raw_decode(buf, pos)
            except json.JSONDecodeError:
                break  # incomplete: wait for more
            if end == n and type(value) in (int, float):
                break  # a number at the very end may go on in the next chunk
            out.append(value)
            pos = end
        self._buf = buf[pos:]
        return out


class ChunkedDecoder:
    """HTTP/1.1 chunked transfer coding, decoded from blocks of any size.

    Reading the socket in large blocks and undoing the chunk framing here is what lets a
    busy log keep up: the engine sends every log line as a chunk of its own, and reading
    them one by one through urllib3 costs more than everything else done with the line.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._left = 0  # payload bytes still to come in the current chunk
        self._crlf = 0  # bytes of the CRLF after a chunk's payload still to skip
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        n = len(buf)
        while pos < n and not self.done:
            if self._left:
                take = min(self._left, n - pos)
                out.append(bytes(buf[pos : pos + take]))
                pos += take
                self._left -= take
                if not self._left:
                    self._crlf = 2
                continue
            if self._crlf:
                skip = min(self._crlf, n - pos)
                pos += skip
                self._crlf -= skip
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if n - pos > 1024:
                    raise EngineError("malformed chunked encoding from the engine")
                break
            size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise EngineError(f"malformed chunk size {size_text[:20]!r}") from None
            pos = eol + 2
            if size == 0:
                self.done = True  # trailers, if any, are of no interest
                break
            self._left = size
        del buf[:pos]
        return b"".join(out)


# The RFC 3339 timestamp (and its space) the engine puts before each log frame's payload.
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ")


@dataclass(slots=True)
class LogLine:
    stream: str  # "stdout", "stderr" or "error" (an error the engine sent in-band)
    text: str
    timestamp: str = ""


class EngineStream:
    """A streaming response. Iterate `chunks()` in one thread; `close()` from any other."""

    def __init__(self, resp: requests.Response, url: str = "") -> None:
        self._resp = resp
        self._url = url
        self._closed = threading.Event()
        self._sock: socket.socket | None = _socket_of(resp)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """End the stream now: the reading thread sees its end, without an error."""
        if self._closed.is_set():
            return
        self._closed.set()
        sock = self._sock
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
        fast = (
            raw.chunked
            and fp is not None
            and hasattr(fp, "read1")
            and getattr(http_resp, "chunk_left", 0) is None
        )
        try:
            if fast:
                decoder = ChunkedDecoder()
                while not decoder.done:
                    block = fp.read1(65536)
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

    def __enter__(self) -> EngineStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogStream(EngineStream):
    """Container (or service/task) logs, multiplexed or raw as the container's TTY says."""

    def __init__(
        self, resp: requests.Response, tty: bool, timestamps: bool = False, url: str = ""
    ) -> None:
        super().__init__(resp, url)
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


def _socket_of(resp: requests.Response) -> socket.socket | None:
    conn = getattr(resp.raw, "connection", None) or getattr(resp.raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    try:  # pragma: no cover - older urllib3 layouts
        return resp.raw._fp.fp.raw._sock  # type: ignore[attr-defined]
    except AttributeError:
        return None


# -- stats maths, as the docker CLI does it ----------------------------------------------


def _num(d: dict[str, Any] | None, *keys: str) -> int:
    cur: Any = d or {}
    for k in keys:
        cur = cur.get(k) if isinstance(cur, dict) else None
    return int(cur or 0)


def cpu_percent(cpu: dict[str, Any] | None, precpu: dict[str, Any] | None) -> float:
    """Δtotal_usage / Δsystem_cpu_usage × online CPUs × 100 (0 unless both deltas > 0)."""
    cpu_delta = _num(cpu, "cpu_usage", "total_usage") - _num(precpu, "cpu_usage", "total_usage")
    sys_delta = _num(cpu, "system_cpu_usage") - _num(precpu, "system_cpu_usage")
    percpu = ((cpu or {}).get("cpu_usage") or {}).get("percpu_usage") or []
    ncpu = _num(cpu, "online_cpus") or len(percpu)
    # A zero precpu (the first streamed sample) would give usage since boot: not a rate.
    if _num(precpu, "system_cpu_usage") and cpu_delta > 0 and sys_delta > 0 and ncpu:
        return cpu_delta / sys_delta * ncpu * 100.0
    return 0.0


def memory_used(mem: dict[str, Any] | None) -> int:
    """usage − total_inactive_file (cgroup v1) or − inactive_file (v2), when smaller."""
    mem = mem or {}
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats:
            inactive = int(stats[key] or 0)
            if inactive < usage:
                return usage - inactive
            return usage
    return usage


def stats_summary(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One stats document -> the numbers people read. CPU % is taken against `previous`'s
    cpu_stats when given (two one-shot samples), else against the document's precpu_stats."""
    pre = (previous or {}).get("cpu_stats") if previous is not None else doc.get("precpu_stats")
    mem = doc.get("memory_stats") or {}
    used = memory_used(mem)
    limit = int(mem.get("limit") or 0)
    rx = tx = 0
    for iface in (doc.get("networks") or {}).values():
        rx += int(iface.get("rx_bytes") or 0)
        tx += int(iface.get("tx_bytes") or 0)
    blk_read = blk_write = 0
    for entry in (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op") or "")[:1].lower()
        if op == "r":
            blk_read += int(entry.get("value") or 0)
        elif op == "w":
            blk_write += int(entry.get("value") or 0)
    return {
        "read": doc.get("read", ""),
        "cpu_percent": cpu_percent(doc.get("cpu_stats"), pre),
        "mem_used": used,
        "mem_limit": limit,
        "mem_percent": (used / limit * 100.0) if limit else 0.0,
        "net_rx": rx,
        "net_tx": tx,
        "blk_read": blk_read,
        "blk_write": blk_write,
        "pids": _num(doc, "pids_stats", "current"),
    }


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
    then, unable to be closed or to tell that it is connected."""

    def __init__(
        self,
        sock: socket.socket,
        url: str = "",
        idle: Callable[[], list[Any]] | None = None,
        idle_seconds: float = 5.0,
    ) -> None:
        self._url = url
        self._closed = threading.Event()
        self._sock = sock
        # Called when nothing came for `idle_seconds`, and after each read: documents it
        # returns are sent as if the engine had (events Podman never sends).
        self._idle = idle
        self._idle_seconds = idle_seconds

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()

    def chunks(self) -> Iterator[bytes]:
        from .client import _raw_error_message, _read_head
        from .errors import error_for_status
        from .flavor import error_status

        sock = self._sock
        if self._idle is not None:
            sock.settimeout(self._idle_seconds)
        head = b""
        decoder: ChunkedDecoder | None = None
        started = False
        try:
            while True:
                try:
                    block = sock.recv(65536)
                except TimeoutError:
                    if self._closed.is_set():
                        return
                    if extra := self._idle() if self._idle is not None else None:
                        yield "".join(json.dumps(doc) + "\n" for doc in extra).encode()
                    continue
                if not block:
                    return
                if not started:
                    head += block
                    if b"\r\n\r\n" not in head:
                        continue
                    status, headers, rest = _read_head(_Replay(head))
                    if status >= 300:
                        sock.settimeout(10)
                        message = _raw_error_message(sock, status, headers, rest)
                        raise error_for_status(error_status(status, message), message)
                    if "chunked" in headers.get("transfer-encoding", "").lower():
                        decoder = ChunkedDecoder()
                    started, block = True, rest
                    if not block:
                        continue
                data = decoder.feed(block) if decoder else block
                if data:
                    yield data
                if decoder and decoder.done:
                    return
                if self._idle is not None and (extra := self._idle()):
                    yield "".join(json.dumps(doc) + "\n" for doc in extra).encode()
        except EngineError:
            if self._closed.is_set():
                return
            raise
        except Exception as exc:
            if self._closed.is_set():
                return
            raise EngineUnreachable(
                f"stream from {self._url or 'the engine'} broke: {exc}", self._url
            ) from exc
        finally:
            self.close()


class RawLogStream(LogStream):
    """A followed log read from a raw connection: Podman sends no answer head for a followed
    log until the container writes a line, so a silent container's log could neither be said
    connected nor closed, and the request would time out."""

    def __init__(
        self, sock: socket.socket, tty: bool, timestamps: bool = False, url: str = ""
    ) -> None:
        self._raw = RawJSONStream(sock, url=url)
        self._url = url
        self._closed = self._raw._closed
        self._sock = sock
        self.tty = tty
        self.timestamps = timestamps

    def close(self) -> None:
        self._raw.close()

    def chunks(self) -> Iterator[bytes]:
        yield from self._raw.chunks()


class _Replay:
    """Bytes already read, offered to `_read_head` as if still on the socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def recv(self, _size: int) -> bytes:
        data, self._data = self._data, b""
        return data
