"""The terminal: a websocket bridged to an exec session on the engine's hijacked connection.

Browser -> server: binary frames are keystrokes (the command's stdin); text frames are JSON
controls: {"resize": [rows, cols]}, {"eof": true} (end of input, without a TTY).
Server -> browser: binary frames are the command's output; text frames are JSON:
{"status": "..."}, {"error": "..."}, {"exit": code}.

Unlike the stream consumers, a session belongs to one viewer and does its own engine I/O, in
threads of its own (never on the event loop, never in a shared pool): one thread opens the
session and writes input and resizes in order; another reads output and hands it to the
loop, waiting for each send (a slow browser slows the command's output, not the server).
Ending the session (exit, a closed tab, a lost connection) happens off the loop too, and
makes sure the command ends: the engine itself would leave a TTY command running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import shlex
import threading
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from engine_client import EngineError, ProxyRefused

from ..access import can_exec
from ..engines import client_for
from ..models import AuditEntry
from .base import BAD_REQUEST, RevocableMixin, admit

log = logging.getLogger(__name__)


def _said(exc: EngineError) -> str:
    """What the terminal says of an engine error: the engine's words, or, for a socket
    proxy's refusal, that (as the other sections' "Refused by the socket proxy" page)."""
    if isinstance(exc, ProxyRefused):
        return (
            f"Refused by the socket proxy: {exc.message}. Its administrator can allow the "
            "terminal (docs/socket-proxy.md: EXEC=1)."
        )
    return exc.message


BUSY = 4429
MAX_SIDE = 1000
INBOX_SIZE = 1000  # input messages waiting for the engine before the session is dropped
SEND_TIMEOUT = 30.0

_active = 0
_active_lock = threading.Lock()


def parse_exec_query(query: dict[str, str]) -> dict[str, Any]:
    """cmd (shell words, default sh), user, tty (1/0), rows, cols -> checked values."""
    text = query.get("cmd", "").strip() or "sh"
    if len(text) > 4096:
        raise ValueError("the command is too long")
    try:
        cmd = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"the command cannot be read as words: {exc}") from None
    if not cmd:
        raise ValueError("no command")
    user = query.get("user", "").strip()
    if user and (len(user) > 65 or not all(c.isalnum() or c in "_.-:" for c in user)):
        raise ValueError("a user is a name or uid, optionally :group")
    sizes = []
    for key, default in (("rows", 24), ("cols", 80)):
        value = query.get(key, "") or str(default)
        if not value.isdigit() or not 1 <= int(value) <= MAX_SIDE:
            raise ValueError(f"{key} must be a number from 1 to {MAX_SIDE}")
        sizes.append(int(value))
    return {
        "cmd": cmd,
        "user": user or None,
        "tty": query.get("tty", "1") != "0",
        "rows": sizes[0],
        "cols": sizes[1],
    }


class ExecConsumer(RevocableMixin, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue(INBOX_SIZE)
        self.leaving = threading.Event()
        self.counted = False
        user = self.scope.get("user")
        admitted = await admit(self, can_exec)
        if admitted is None:
            return
        self.host, query = admitted
        self.container_id = self.scope["url_route"]["kwargs"]["container_id"]
        try:
            self.options = parse_exec_query(query)
        except ValueError as exc:
            await self.accept()
            await self.send(text_data=json.dumps({"error": str(exc)}))
            await self.close(code=BAD_REQUEST)
            return
        global _active
        with _active_lock:
            busy = _active >= getattr(settings, "EXEC_MAX_SESSIONS", 50)
            if not busy:
                _active += 1
                self.counted = True
        await self.accept()
        if busy:
            await self.send(text_data=json.dumps({"error": "too many terminals open; try later"}))
            await self.close(code=BUSY)
            return
        self.loop = asyncio.get_running_loop()
        self.who = {
            "user_id": getattr(user, "pk", None),
            "username": user.get_username(),
            "remote_addr": (self.scope.get("client") or [""])[0] or "",
        }
        await self.send(text_data=json.dumps({"status": "starting"}))
        threading.Thread(
            target=self._session_main, name=f"exec {self.container_id[:12]}", daemon=True
        ).start()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            self._put(("data", bytes_data))
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        size = message.get("resize")
        if isinstance(size, list) and len(size) == 2:
            rows, cols = size
            if all(isinstance(v, int) and 1 <= v <= MAX_SIDE for v in (rows, cols)):
                self._put(("resize", rows, cols))
        if isinstance(message.get("data"), str):
            self._put(("data", message["data"].encode()))
        if message.get("eof") is True:
            self._put(("eof",))

    async def disconnect(self, code: int) -> None:
        # The session thread ends the exec (blocking I/O): only tell it to, here.
        self.leaving.set()
        self._put(("close",), force=True)
        if self.counted:
            self.counted = False
            global _active
            with _active_lock:
                _active -= 1

    def _put(self, item: tuple[Any, ...], force: bool = False) -> None:
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            if force:
                # Make room: the session ends anyway.
                while True:
                    try:
                        self.inbox.get_nowait()
                    except queue.Empty:
                        break
                self.inbox.put_nowait(item)
            else:
                self._put(("overflow",), force=True)

    # -- in the session's threads -------------------------------------------------------

    def _on_loop(self, coro: Any) -> Any:
        """Run a coroutine on the consumer's loop and wait for it (from a session thread)."""
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError:  # the loop has ended (the server is stopping)
            coro.close()
            raise
        return future.result(SEND_TIMEOUT)

    def _tell(self, **message: Any) -> None:
        if self.leaving.is_set():
            return
        try:
            self._on_loop(self.send(text_data=json.dumps(message)))
        except Exception:  # noqa: BLE001 - the browser went away meanwhile
            self.leaving.set()

    def _audit(self, action: str, params: dict[str, Any], outcome: str, message: str = "") -> None:
        def write() -> None:
            AuditEntry.objects.create(
                user_id=self.who["user_id"],
                username=self.who["username"],
                remote_addr=self.who["remote_addr"][:64],
                host=self.host.name,
                action=action,
                target_id=self.container_id,
                target_name=self.target_name[:255],
                params=params,
                outcome=outcome,
                message=message,
            )

        try:
            self._on_loop(database_sync_to_async(write)())
        except Exception:
            log.exception("could not write the audit entry for %s", action)

    def _session_main(self) -> None:
        client = client_for(self.host)
        opts = self.options
        command = shlex.join(opts["cmd"])
        started = timezone.now()
        params: dict[str, Any] = {"command": command, "tty": opts["tty"], "user": opts["user"]}
        self.target_name = ""
        try:
            summary = client.containers.get_summary(self.container_id)
            if summary:
                self.target_name = (summary.get("Names") or [""])[0].lstrip("/")
            session = client.exec.open(
                self.container_id,
                opts["cmd"],
                tty=opts["tty"],
                user=opts["user"],
                size=(opts["rows"], opts["cols"]),
            )
        except EngineError as exc:
            self._audit("container.exec", params, AuditEntry.FAILED, exc.message)
            self._tell(error=_said(exc))
            self._close_socket(1000)
            return
        params.update(exec_id=session.id, started=started.isoformat())
        self._audit("container.exec", params, AuditEntry.OK)
        self._tell(status="running")
        reader = threading.Thread(
            target=self._read_main,
            args=(session,),
            name=f"exec-out {session.id[:12]}",
            daemon=True,
        )
        reader.start()
        problem = ""
        try:
            while True:
                item = self.inbox.get()
                if item[0] == "close":
                    break
                if item[0] == "overflow":
                    problem = "input came faster than the command took it"
                    self._tell(error="Too much input at once: the session was closed.")
                    break
                try:
                    if item[0] == "data":
                        session.write(item[1])
                    elif item[0] == "resize":
                        session.resize(item[1], item[2])
                    elif item[0] == "eof":
                        session.close_stdin()
                except EngineError as exc:
                    if item[0] != "resize":
                        problem = exc.message
                        break
                    self._tell(error=f"Resize refused: {exc.message}")
        finally:
            try:
                ended = session.end()
            except EngineError:
                ended = False
            reader.join(10)
            try:
                code = session.exit_code(wait=0)
            except EngineError:
                code = None
            finished = timezone.now()
            self._audit(
                "container.exec.end",
                {
                    **params,
                    "ended": finished.isoformat(),
                    "exit_code": code,
                    "seconds": round((finished - started).total_seconds(), 1),
                },
                AuditEntry.OK if ended else AuditEntry.FAILED,
                problem or ("" if ended else "the command could not be stopped; it may still run"),
            )
            self._close_socket(1000)

    def _read_main(self, session: Any) -> None:
        try:
            while (parts := session.read()) is not None:
                if self.leaving.is_set():
                    return
                data = b"".join(chunk for _, chunk in parts)
                try:
                    self._on_loop(self.send(bytes_data=data))
                except Exception:  # noqa: BLE001 - the browser is gone, or stuck for too long
                    self.leaving.set()
                    break
        except EngineError as exc:
            self._tell(error=exc.message)
        if not self.leaving.is_set():
            # The command ended by itself (exit, or the container stopped).
            try:
                code = session.exit_code()
            except EngineError:
                code = None
            self._tell(exit=code)
        self._put(("close",), force=True)

    def _close_socket(self, code: int) -> None:
        if self.leaving.is_set():
            return
        self.leaving.set()
        with contextlib.suppress(Exception):  # already closed
            self._on_loop(self.close(code=code))
