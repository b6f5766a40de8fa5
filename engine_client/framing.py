"""How the engine frames what it streams, undone on bytes already read: the 8-byte frames
of logs and attach, lines, concatenated JSON documents and HTTP/1.1 chunked coding. Pure:
no I/O here, and every decoder takes its input in chunks cut anywhere."""

from __future__ import annotations

import json
from typing import Any

from .errors import EngineError

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
