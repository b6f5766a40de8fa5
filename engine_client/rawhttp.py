"""HTTP/1.1 spoken by hand on a connection of our own, for what requests cannot do: take
the connection over after the answer's head (exec start, attach), and read an answer whose
head may come late or never (Podman sends none for its events or a followed log until there
is something to say). Also: finding the socket under a requests answer, so that a stream
can be closed from another thread."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping

import requests

from .errors import EngineError, EngineUnreachable, error_for_status
from .flavor import error_status
from .framing import ChunkedDecoder

# An answer's head (or an error's body) longer than this is not the engine talking.
MAX_HEAD = 64 * 1024
USER_AGENT = "docker-dashboard"


def request_head(
    method: str, target: str, host: str, headers: Mapping[str, str] | None = None
) -> bytes:
    """A request's head, up to and including the blank line (`target`: path and query)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_head(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """A complete answer head and what came after it -> (status, headers, the rest).
    Header names are lower-cased."""
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise EngineError(f"the engine answered something that is not HTTP: {lines[0][:100]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read an answer's head from a raw socket: (status, headers, bytes after it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EngineError("the engine closed the connection before answering")
        buf += chunk
        _check_head_size(buf)
    return parse_head(buf)


def _check_head_size(buf: bytes) -> None:
    if len(buf) > MAX_HEAD and b"\r\n\r\n" not in buf:
        raise EngineError("the engine's answer has an oversized head")


def read_error_message(
    sock: socket.socket, status: int, headers: Mapping[str, str], rest: bytes
) -> str:
    """The message of an error answered on a raw socket (its body: length-delimited,
    chunked or to EOF; the engine's JSON `message` when there is one)."""
    return read_error(sock, status, headers, rest)[0]


def read_error(
    sock: socket.socket, status: int, headers: Mapping[str, str], rest: bytes
) -> tuple[str, bool]:
    """(message, whether the engine said it): an error answered on a raw socket. The engine
    says every error as JSON with a `message`; anything else (a socket proxy's own 403 page)
    is passed on as its text."""
    body = rest
    length = headers.get("content-length", "")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    try:
        while len(body) < MAX_HEAD:
            if length.isdigit() and len(body) >= int(length):
                break
            if chunked and body.endswith(b"0\r\n\r\n"):
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass
    if chunked:
        decoded, pos = b"", 0
        while True:
            end = body.find(b"\r\n", pos)
            if end < 0:
                break
            try:
                size = int(body[pos:end].split(b";")[0] or b"0", 16)
            except ValueError:
                break
            if size == 0:
                break
            decoded += body[end + 2 : end + 2 + size]
            pos = end + 2 + size + 2
        body = decoded
    elif length.isdigit():
        body = body[: int(length)]
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"], True
    return text or f"engine answered HTTP {status}", False


def socket_of(resp: requests.Response) -> socket.socket | None:
    """The socket a (streamed) requests answer is read from, if it can be found."""
    conn = getattr(resp.raw, "connection", None) or getattr(resp.raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    # Older urllib3 layouts: through http.client's buffered reader.
    fp = getattr(getattr(getattr(resp.raw, "_fp", None), "fp", None), "raw", None)
    sock = getattr(fp, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class RawAnswer:
    """The answer to a request sent on a connection of our own (EngineClient.send_raw), read
    as it comes: nothing is awaited before `chunks()` is read, an error status raises its
    engine error there, and `close()` from any thread ends it at once.

    `idle`, when given, is called when nothing came for `idle_seconds` and after each read;
    the bytes it returns are passed on as if the engine had sent them.
    """

    def __init__(
        self,
        sock: socket.socket,
        url: str = "",
        idle: Callable[[], bytes] | None = None,
        idle_seconds: float = 5.0,
    ) -> None:
        self.sock = sock
        self._url = url
        self._closed = threading.Event()
        self._idle = idle
        self._idle_seconds = idle_seconds

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()

    def chunks(self) -> Iterator[bytes]:
        sock = self.sock
        idle = self._idle
        if idle is not None:
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
                    if idle is not None and (extra := idle()):
                        yield extra
                    continue
                if not block:
                    return
                if not started:
                    head += block
                    if b"\r\n\r\n" not in head:
                        _check_head_size(head)
                        continue
                    status, headers, rest = parse_head(head)
                    if status >= 300:
                        sock.settimeout(10)
                        message = read_error_message(sock, status, headers, rest)
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
                if idle is not None and (extra := idle()):
                    yield extra
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
