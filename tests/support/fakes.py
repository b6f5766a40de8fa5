"""Fake engines, only for what a real engine will not do on demand.

FakeEngine answers `/_ping` with whatever API version a test wants (a real daemon's version
is fixed) and records the paths it was asked for; FakeHangingEngine accepts connections and
never answers.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any


def short_socket_path(tag: str) -> str:
    # Unix socket paths must stay short (pytest's tmp_path is too long for them).
    return os.path.join(tempfile.mkdtemp(prefix="fk", dir="/tmp"), f"{tag}.sock")


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeEngine:
    """A unix-socket HTTP server speaking just enough of the Engine API for version tests."""

    def __init__(
        self,
        api_version: str | None,
        min_version: str = "1.12",
        containers: list[dict[str, Any]] | None = None,
        path: str | None = None,
    ) -> None:
        self.path = path or short_socket_path("fake")
        self.url = f"unix://{self.path}"
        self.requests: list[str] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                engine.requests.append(self.path)
                path = self.path.split("?")[0]
                if path == "/_ping":
                    headers = {"Api-Version": api_version} if api_version else {}
                    self._send(200, b"OK", headers)
                elif path == "/version":
                    self._send(
                        200,
                        {"ApiVersion": api_version or "1.43", "MinAPIVersion": min_version},
                    )
                elif path.endswith("/containers/json"):
                    self._send(200, containers or [])
                else:
                    self._send(404, {"message": f"page not found: {path}"})

        self._server = _UnixHTTPServer(self.path, Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        os.unlink(self.path)


class FakeHangingEngine:
    """Accepts connections on a unix socket, reads the request, and never answers."""

    def __init__(self) -> None:
        self.path = short_socket_path("hang")
        self.url = f"unix://{self.path}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(16)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def __enter__(self) -> FakeHangingEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()
        os.unlink(self.path)
        os.rmdir(os.path.dirname(self.path))


class FakeCutEventsClient:
    """A fake: a real engine client whose events stream is cut once, after `after_chunks`
    chunks, and which, asked for events again, resumes from that moment instead of from
    `since`: what the engine sent in between is lost. A real engine always catches up from
    `since`; an engine that restarted cannot, and the cache must not depend on it."""

    def __init__(self, real: Any, after_chunks: int) -> None:
        self._real = real
        self.after = after_chunks
        self.cut = threading.Event()
        self.system = _FakeCutSystem(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _FakeCutSystem:
    def __init__(self, fake: FakeCutEventsClient) -> None:
        self._fake = fake

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake._real.system, name)

    def events(self, since: str | None = None, **kwargs: Any) -> Any:
        import time

        fake = self._fake
        if fake.cut.is_set():
            since = f"{time.time():.9f}"  # the gap's events are lost
        stream = fake._real.system.events(since=since, **kwargs)
        return stream if fake.cut.is_set() else _FakeCuttingStream(stream, fake)


class _FakeCuttingStream:
    def __init__(self, stream: Any, fake: FakeCutEventsClient) -> None:
        self._stream = stream
        self._fake = fake
        self.transform = stream.transform

    def close(self) -> None:
        self._stream.close()

    def chunks(self) -> Any:
        for n, chunk in enumerate(self._stream.chunks(), start=1):
            yield chunk
            if n >= self._fake.after:
                self._fake.cut.set()
                self._stream.close()
                return
