"""Exec: run a command inside a running container, interactively.

`POST /containers/{id}/exec` creates the exec, `POST /exec/{id}/start` starts it on a
hijacked connection (a raw two-way stream; see `EngineClient.hijack`), `POST /exec/{id}/resize`
resizes its TTY and `GET /exec/{id}/json` tells whether it still runs and its exit code.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import EngineUnreachable, InvalidArgument
from .framing import STREAM_NAMES, SYSTEMERR, FrameDemuxer

if TYPE_CHECKING:
    from .client import EngineClient

# ConsoleSize on exec create exists from API 1.42; older engines need a resize after start.
CONSOLE_SIZE_SINCE = (1, 42)
MAX_TTY_SIDE = 10_000
# The engine does not end an exec when its client goes away (a TTY keeps the command alive),
# so an interactive session marks its processes with this variable and ends them itself.
SESSION_VAR = "DASHBOARD_EXEC_SESSION"
# Run in the container (as its user) to signal every process carrying one session's mark.
_SIGNAL_SESSION = (
    'for d in /proc/[0-9]*; do case "$(cat "$d/environ" 2>/dev/null)" in '
    '*"$1"*) kill -"$2" "${d#/proc/}" 2>/dev/null;; esac; done'
)


def _tty_size(rows: object, cols: object) -> tuple[int, int]:
    return _tty_side(rows), _tty_side(cols)


def _tty_side(v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_TTY_SIDE:
        raise InvalidArgument(f"a terminal side is a whole number from 1 to {MAX_TTY_SIDE}")
    return v


class ExecAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def create(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        tty: bool = True,
        stdin: bool = True,
        env: Sequence[str] | None = None,
        user: str | None = None,
        workdir: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> str:
        """Create an exec in a running container; returns its id. `size` is (rows, cols)."""
        if not cmd or not all(isinstance(a, str) for a in cmd):
            raise InvalidArgument("an exec needs a command: a non-empty list of strings")
        body: dict[str, Any] = {
            "Cmd": list(cmd),
            "AttachStdin": stdin,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
        }
        if env:
            body["Env"] = list(env)
        if user:
            body["User"] = user
        if workdir:
            body["WorkingDir"] = workdir
        if size is not None and tty and self._c.negotiate() >= CONSOLE_SIZE_SINCE:
            body["ConsoleSize"] = list(_tty_size(*size))
        return self._c.post_json("/containers/{}/exec", container_id, json=body)["Id"]

    def start(self, exec_id: str, *, tty: bool, size: tuple[int, int] | None = None) -> ExecSession:
        """Start an exec on a connection of its own; the session is its two-way stream."""
        sock, rest = self._c.hijack(
            "POST", "/exec/{}/start", exec_id, json={"Detach": False, "Tty": tty}
        )
        session = ExecSession(self, exec_id, sock, rest, tty)
        if size is not None and tty and self._c.negotiate() < CONSOLE_SIZE_SINCE:
            # No ConsoleSize before 1.42: the TTY starts at the engine's default size.
            with contextlib.suppress(Exception):
                self.resize(exec_id, *size)
        return session

    def open(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        tty: bool = True,
        size: tuple[int, int] | None = None,
        user: str | None = None,
        workdir: str | None = None,
    ) -> ExecSession:
        """An interactive session: create and start an exec whose processes carry a mark,
        so that `ExecSession.end()` can stop them when the person goes away."""
        mark = f"{SESSION_VAR}={secrets.token_hex(16)}"
        exec_id = self.create(
            container_id,
            cmd,
            tty=tty,
            stdin=True,
            env=[mark],
            user=user,
            workdir=workdir,
            size=size,
        )
        session = self.start(exec_id, tty=tty, size=size)
        session.container_id = container_id
        session.mark = mark
        session.user = user
        return session

    def resize(self, exec_id: str, rows: int, cols: int) -> None:
        rows, cols = _tty_size(rows, cols)
        self._c.request("POST", "/exec/{}/resize", exec_id, params={"h": rows, "w": cols})

    def inspect(self, exec_id: str) -> dict[str, Any]:
        return self._c.get_json("/exec/{}/json", exec_id)

    def run(
        self, container_id: str, cmd: Sequence[str], timeout: float = 30.0
    ) -> tuple[int | None, dict[str, bytes]]:
        """Run a command to its end without a TTY; (exit code, {"stdout": ..., "stderr": ...})."""
        exec_id = self.create(container_id, cmd, tty=False, stdin=False)
        out: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        with self.start(exec_id, tty=False) as session:
            session.settimeout(timeout)
            while (parts := session.read()) is not None:
                for stream, data in parts:
                    out[stream] = out.get(stream, b"") + data
        return session.exit_code(), out


class ExecSession:
    """A started exec. Read in one thread and write in another; `close()` from any thread.

    With a TTY the output is raw bytes; without one it is framed (stdout and stderr apart).
    Input is never framed.
    """

    def __init__(
        self, api: ExecAPI, exec_id: str, sock: socket.socket, leftover: bytes, tty: bool
    ) -> None:
        self.api = api
        self.id = exec_id
        self.tty = tty
        self._sock = sock
        self._leftover = leftover
        self._demux = None if tty else FrameDemuxer()
        self._closed = threading.Event()
        # Set by ExecAPI.open: what `end()` needs to find the session's processes.
        self.container_id = ""
        self.mark = ""
        self.user: str | None = None

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def settimeout(self, seconds: float | None) -> None:
        self._sock.settimeout(seconds)

    def read(self) -> list[tuple[str, bytes]] | None:
        """The next output as (stream, bytes) pairs; None once the stream has ended."""
        while True:
            if self._leftover:
                data, self._leftover = self._leftover, b""
            else:
                try:
                    data = self._sock.recv(65536)
                except OSError as exc:
                    if self._closed.is_set():
                        return None
                    raise EngineUnreachable(f"exec stream broke: {exc}") from exc
            if not data:
                return None
            if self._demux is None:
                return [("stdout", data)]
            parts = [
                ("error" if kind == SYSTEMERR else STREAM_NAMES[kind], payload)
                for kind, payload in self._demux.feed(data)
            ]
            if parts:
                return parts

    def write(self, data: bytes) -> None:
        """Send input to the command (blocks while the engine does not take it)."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            if not self._closed.is_set():
                raise EngineUnreachable(f"exec stream broke: {exc}") from exc

    def close_stdin(self) -> None:
        """End of input: the command reads EOF; its output keeps coming."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    def resize(self, rows: int, cols: int) -> None:
        self.api.resize(self.id, rows, cols)

    def exit_code(self, wait: float = 2.0) -> int | None:
        """The command's exit code, once the engine has noticed it ended (None if it has not
        within `wait` seconds: the stream can end a moment before the process is reaped)."""
        deadline = time.monotonic() + wait
        while True:
            info = self.api.inspect(self.id)
            if not info.get("Running"):
                return info.get("ExitCode")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def close(self) -> None:
        """End the session: the engine closes the command's TTY (or stdin), which ends a shell."""
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()

    def end(self, grace: float = 1.0) -> bool:
        """Close the session and make sure its command ends: if it still runs (the engine
        leaves a TTY command running when its client goes), send its processes SIGHUP, as a
        terminal hang-up would, then SIGKILL after `grace` seconds. True once it has ended.

        Needs `sh` and `cat` in the container; without them the command may keep running.
        """
        self.close()
        if self.exit_code(wait=0.3) is not None or not (self.container_id and self.mark):
            return True
        for signal in ("HUP", "KILL"):
            with contextlib.suppress(Exception):
                helper = self.api.create(
                    self.container_id,
                    ["sh", "-c", _SIGNAL_SESSION, "sh", self.mark, signal],
                    tty=False,
                    stdin=False,
                    user=self.user,
                )
                self.api._c.request(
                    "POST", "/exec/{}/start", helper, json={"Detach": True, "Tty": False}
                )
            if self.exit_code(wait=grace) is not None:
                return True
        return False

    def __enter__(self) -> ExecSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
