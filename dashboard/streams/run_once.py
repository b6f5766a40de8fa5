"""Run once: the hub source behind the run page. It starts a container the create form made
for one run, streams its output to whoever watches, reports its exit code, then removes it
(unless it was asked to be kept). If the last viewer leaves before the end, the run is
called off: the container is removed (killed) then too, unless it is to be kept.

(Kept apart from sources.py, which others edit at the same time; it is a Source like those.)
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from engine_client import EngineClient, EngineError, NotFound

from .hub import Source
from .render import render_lines

RUN_ONCE_LABEL = "dashboard.run-once"  # "remove" or "keep"
EXIT_WAIT_SECONDS = 30.0


class RunOnceSource(Source):
    def __init__(self, client: EngineClient, container_id: str, replay_lines: int = 5000) -> None:
        super().__init__()
        self.client = client
        self.container_id = container_id
        self.replay_lines = replay_lines
        self._replay: deque[tuple[str, int]] = deque()
        self._replay_count = 0
        self._status: dict[str, Any] | None = None
        self._exit: dict[str, Any] | None = None

    def run(self) -> None:
        cid = self.container_id
        remove = False
        finished = False
        try:
            info = self.client.containers.inspect(cid)
            mode = ((info.get("Config") or {}).get("Labels") or {}).get(RUN_ONCE_LABEL)
            if mode not in ("remove", "keep"):
                self.emit(("status", "error", "This container was not made to be run once."))
                return
            remove = mode == "remove"
            if (info.get("State") or {}).get("Status") == "created":
                self.emit(("status", "running", "Starting…"))
                try:
                    self.client.containers.start(cid)
                except EngineError as exc:
                    finished = True
                    self.emit(("status", "failed", f"It did not start: {exc.message}"))
                    return
            self.emit(("status", "running", "Running…"))
            tty = bool((info.get("Config") or {}).get("Tty"))
            stream = self.client.containers.logs(cid, follow=True, tail="all", tty=tty)
            self.closing(stream.close)
            for batch in stream.batches():
                self.emit(("lines", render_lines(batch), len(batch)))
            if self.stopping.is_set():
                return
            # The log ends when the container stops: the wait answers at once.
            result = self.client.containers.wait(cid, timeout=EXIT_WAIT_SECONDS)
            finished = True
            error = (result.get("Error") or {}).get("Message") or ""
            self.emit(("exit", result.get("StatusCode"), error))
        except NotFound:
            self.emit(("status", "gone", "The container is gone."))
            remove = False
        except EngineError as exc:
            self.emit(("status", "error", f"The run was interrupted: {exc.message}"))
        finally:
            if remove:
                self._remove(announce=finished)

    def _remove(self, announce: bool) -> None:
        try:
            self.client.containers.remove(self.container_id, force=True, volumes=True)
        except NotFound:
            return
        except EngineError as exc:
            self.emit(("status", "error", f"Could not remove the container: {exc.message}"))
            return
        if announce:
            self.emit(("removed",))

    # -- on the loop ------------------------------------------------------------------------

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        html: list[str] = []
        count = 0
        for item in items:
            if item[0] == "lines":
                html.append(item[1])
                count += item[2]
            elif item[0] == "status":
                self._status = {"state": item[1], "text": item[2]}
            elif item[0] == "exit":
                self._exit = {"code": item[1], "error": item[2]}
                self._status = {"state": "exited", "text": f"Exited with code {item[1]}"}
            elif item[0] == "removed" and self._exit is not None:
                self._exit["removed"] = True
        return {"text": self._message("".join(html), count)}

    def remember(self, items: list[Any]) -> None:
        for item in items:
            if item[0] == "lines":
                self._replay.append((item[1], item[2]))
                self._replay_count += item[2]
        while self._replay_count > self.replay_lines and len(self._replay) > 1:
            _, n = self._replay.popleft()
            self._replay_count -= n

    def replay(self) -> list[dict[str, Any]]:
        if not self._replay and self._status is None:
            return []
        html = "".join(h for h, _ in self._replay)
        return [{"text": self._message(html, self._replay_count, replay=True)}]

    def _message(self, html: str, count: int, replay: bool = False) -> str:
        message: dict[str, Any] = {"lines": html, "n": count}
        if self._status:
            message["status"] = self._status
        if self._exit:
            message["exit"] = self._exit
        if replay:
            message["replay"] = True
        return json.dumps(message)
