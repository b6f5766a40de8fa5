"""A run of an external program (compose, the docker CLI) as a hub source.

The one shape of both: the run holds a lock (the project's or stack's folder lock,
`stacks.project_lock`) from start to end, so a second run of the same thing — from this
process or another — is refused, never interleaved; the program's lines go out as they
come and its exit status after them; like a pull it runs on to its end when the last viewer
leaves (`JobSource`). What each page is sent, and what is recorded at the end, is the
subclass's: `compose_run.py` (htmx fragments of the project editor) and `stack_run.py` (the
run page's messages, `static/js/run.js`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar

from .hub import JobSource


class Run(Protocol):
    """What the source needs of a run (`engine_client.external.ExternalRun` and the runs
    built on it)."""

    @property
    def exit_status(self) -> int | None: ...

    @property
    def timed_out(self) -> bool: ...

    def lines(self) -> Iterator[str]: ...


R = TypeVar("R", bound=Run)


class ExternalRunSource(JobSource, Generic[R]):
    """Runs `make_run()` once, holding `lock()` while it runs. Subclasses say it: `begun`
    (the run is made, before its first line), `line` (each as it comes), `ended` (it
    exited), `failed` (it could not start or broke: refusals included), then `finish`
    whatever happened (record the outcome, tell the page)."""

    def __init__(
        self, make_run: Callable[[], R], lock: Callable[[], AbstractContextManager[Any]]
    ) -> None:
        super().__init__()
        self.make_run = make_run
        self.lock = lock

    def run(self) -> None:
        try:
            with self.lock():
                run = self.make_run()
                self.begun(run)
                for line in run.lines():
                    self.line(line)
                self.ended(run)
        except Exception as exc:  # noqa: BLE001 - `failed` logs what it did not expect
            self.failed(exc)
        finally:
            self.finish()

    def begun(self, run: R) -> None:
        pass

    def line(self, text: str) -> None:
        raise NotImplementedError

    def ended(self, run: R) -> None:
        raise NotImplementedError

    def failed(self, exc: Exception) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError
