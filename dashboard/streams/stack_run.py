"""A run of the docker CLI for a swarm stack (deploy or remove), as a hub source: its output
lines streamed to whoever watches, its exit status at the end, in the run page's message
format (the same page script as a container run once: `static/js/run.js`).

Like a pull, a run goes on to its end when the last viewer leaves (stopping `docker stack
deploy` half-way leaves a stack half updated), and a viewer who comes back joins the same
run (`for_job`). What runs, and what happens at the end, is passed in: the source knows
nothing of stacks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from engine_client.stack_cli import CLIRun
from engine_client.streams import LogLine

from .external_run import ExternalRunSource
from .render import render_line

log = logging.getLogger(__name__)


class CLIRunSource(ExternalRunSource[CLIRun]):
    """Runs `make_run()` (once), holding `lock()` while it runs; `on_done(code, error,
    lines)` is told the outcome (for the audit trail). An exception of the `expected` kinds
    (the stack busy, no CLI) ends the run with its own words; nothing ran then."""

    REPLAY_LINES = 5000

    def __init__(
        self,
        make_run: Callable[[], CLIRun],
        lock: Callable[[], AbstractContextManager[Any]],
        on_done: Callable[[int | None, str, list[str]], None],
        expected: tuple[type[Exception], ...],
    ) -> None:
        super().__init__(make_run, lock)
        self.on_done = on_done
        self.expected = expected  # refusals shown as they are worded (busy, no CLI)
        self._state_lock = threading.Lock()
        self._lines: list[str] = []  # the rendered output, for the replay
        self._texts: list[str] = []  # the plain output, for the audit trail (its tail)
        self._status: dict[str, str] = {"state": "running", "text": "Starting…"}
        self._exit: dict[str, Any] | None = None
        self._code: int | None = None
        self._error = ""

    def begun(self, run: CLIRun) -> None:
        self._set_status("running", "Running…")

    def line(self, text: str) -> None:
        # Line by line: the CLI prints one per step, each should show as it happens (the
        # hub gathers what comes within its batch window).
        self._add([text])

    def ended(self, run: CLIRun) -> None:
        self._code = run.returncode
        if run.timed_out:
            self._error = f"ended after {run.timeout:g} s (the timeout): the process was killed"

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, self.expected):
            self._error = str(exc)
        else:
            log.exception("stack run failed", exc_info=exc)
            self._error = f"{type(exc).__name__}: {exc}"

    def finish(self) -> None:
        code, error = self._code, self._error
        with self._state_lock:
            self._exit = {"code": code, "error": error}
            if error and code is None:
                self._status = {"state": "failed", "text": error}
            elif error:
                self._status = {"state": "failed", "text": f"Exit status {code}: {error}"}
            else:
                self._status = {"state": "exited", "text": f"Exit status {code}"}
        # Recorded before the page is told: an exit status shown is an audited one.
        try:
            self.on_done(code, error, list(self._texts))
        except Exception:
            log.exception("recording the end of a stack run failed")
        self.done.set()
        self.emit(("changed",))

    def _set_status(self, state: str, text: str) -> None:
        with self._state_lock:
            self._status = {"state": state, "text": text}
        self.emit(("changed",))

    def _add(self, lines: list[str]) -> None:
        html = [render_line(LogLine("stdout", text)) for text in lines]
        with self._state_lock:
            self._lines.extend(html)
            self._texts.extend(lines)
            del self._lines[: max(len(self._lines) - self.REPLAY_LINES, 0)]
            del self._texts[: max(len(self._texts) - self.REPLAY_LINES, 0)]
        self.emit(("lines", "".join(html), len(html)))

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        html = "".join(i[1] for i in items if i[0] == "lines")
        count = sum(i[2] for i in items if i[0] == "lines")
        return {"text": self._message(html, count)}

    def replay(self) -> list[dict[str, Any]]:
        with self._state_lock:
            html = "".join(self._lines)
            count = len(self._lines)
        return [{"text": self._message(html, count, replay=True)}]

    def _message(self, html: str, count: int, replay: bool = False) -> str:
        with self._state_lock:
            message: dict[str, Any] = {"lines": html, "n": count, "status": self._status}
            if self._exit is not None:
                message["exit"] = self._exit
        if replay:
            message["replay"] = True
        return json.dumps(message)
