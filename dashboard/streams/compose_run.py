"""A compose run as a hub source: compose's output lines as they come, then its exit status.

The run holds the project's lock (dashboard/stacks.py) from start to end, so a second run of
the same project — from this process or another — is refused, never interleaved. Like a pull
it is read to its end even when its last viewer has gone (stopping compose half-way leaves a
project half-made); a viewer who comes back rejoins it by its job id and gets every line
kept so far.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

from engine_client.compose import ComposeRun, ComposeUnavailable
from engine_client.compose_progress import ComposePull

from ..stacks import ProjectBusy, project_lock
from .external_run import ExternalRunSource

log = logging.getLogger(__name__)
KEEP_LINES = 5000


class RunRefused(Exception):
    """The run may not start (its files fail the checks, it already ran): the message says
    why; compose is not run."""


@dataclass
class RunResult:
    command: str = ""
    exit_status: int | None = None
    timed_out: bool = False
    refused: bool = False
    message: str = ""

    @property
    def state(self) -> str:
        if self.refused:
            return "refused"
        return "done" if self.exit_status == 0 and not self.timed_out else "failed"


class ComposeRunSource(ExternalRunSource[ComposeRun]):
    def __init__(
        self,
        job: str,
        folder: Path,
        start_run: Callable[[], ComposeRun],
        on_done: Callable[[RunResult], None] | None = None,
    ) -> None:
        super().__init__(start_run, lambda: project_lock(folder))
        self.job = job
        self.folder = folder
        self.on_done = on_done
        self.result: RunResult | None = None
        self.command = ""
        self.project = ""
        self._result = RunResult()
        self._lines: deque[str] = deque(maxlen=KEEP_LINES)
        # compose's pull lines folded as the images page folds a pull (read in the run's
        # thread only); the page gets snapshots, the last one kept for a late viewer.
        self._pull = ComposePull()
        self._pull_shown: dict[str, Any] | None = None

    def begun(self, run: ComposeRun) -> None:
        self._result.command = self.command = run.command
        self.project = run.project
        self.emit(("started", run.command))

    def line(self, text: str) -> None:
        if self._pull.feed(text):
            self.emit(("pull", self._pull.state.snapshot()))
        self.emit(("line", text))

    def ended(self, run: ComposeRun) -> None:
        self._result.exit_status = run.exit_status
        self._result.timed_out = run.timed_out
        self._result.message = run.outcome

    def failed(self, exc: Exception) -> None:
        result = self._result
        if isinstance(exc, (ProjectBusy, RunRefused)):
            result.refused = True
            result.message = str(exc)
        elif isinstance(exc, ComposeUnavailable):
            result.message = str(exc)
        elif isinstance(exc, OSError):
            result.message = f"compose could not be started: {exc}"
        else:
            log.exception("compose run %s failed", self.job, exc_info=exc)
            result.message = f"{type(exc).__name__}: {exc}"

    def finish(self) -> None:
        self.result = self._result
        if self._pull.seen:
            self._pull.finish(self._result.state == "done")
            self.emit(("pull", self._pull.state.snapshot()))
        self.done.set()
        self.emit(("end",))
        if self.on_done is not None:
            try:
                self.on_done(self._result)
            except Exception:
                log.exception("recording the end of compose run %s failed", self.job)

    # -- on the loop ------------------------------------------------------------------------

    def emit(self, item: Any) -> None:
        # Lines are kept here, in the reading thread, whether anyone watches or not: a
        # viewer who comes back gets them all.
        if item[0] == "line":
            self._lines.append(item[1])
        elif item[0] == "pull":
            self._pull_shown = item[1]
        super().emit(item)

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        lines = [item[1] for item in items if item[0] == "line"]
        ended = any(item[0] == "end" for item in items)
        # Only the newest picture of the pull in a batch matters.
        pulls = [item[1] for item in items if item[0] == "pull"]
        return {
            "html": self._render(
                lines,
                replace=False,
                with_status=ended or not lines,
                pull=pulls[-1] if pulls else None,
            )
        }

    def replay(self) -> list[dict[str, Any]]:
        return [
            {
                "html": self._render(
                    list(self._lines), replace=True, with_status=True, pull=self._pull_shown
                )
            }
        ]

    def _render(
        self, lines: list[str], replace: bool, with_status: bool, pull: dict[str, Any] | None
    ) -> str:
        context = {
            "job": self.job,
            "project": self.project,
            "lines": lines,
            "replace": replace,
            "with_status": with_status,
            "command": self.command,
            "result": self.result,
            "pull": pull,
        }
        return render_to_string("projects/_run_update.html", context)
