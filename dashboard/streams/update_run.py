"""An update of a selection of containers as a hub job: one container at a time, each one's
pull progress and phase (pull, recreate, wait, roll back) shown live, stopping at the first
that fails or is rolled back; the rest are listed as not tried.

It is a JobSource like a pull: it runs to its end when the page is left, and a page opened
again with the same ticket rejoins it. State lives here, so every message (and every
replay) is the whole picture. What updating one container means, and its audit entry, are
the caller's (`update_one`, `on_report`: dashboard/update_jobs.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from engine_client.images import ProgressState

from .hub import JobSource

log = logging.getLogger(__name__)

UpdateOne = Callable[[str, Callable[[ProgressState], None], Callable[[str], None]], Any]


@dataclass
class Item:
    """One container of the selection: where its update is, and how it ended."""

    id: str
    phase: str = "waiting"  # waiting, pull, recreate, wait, roll back, then the outcome
    progress: dict[str, Any] | None = None
    report: Any = None  # engine_client.image_update.UpdateReport once it ended
    phases: list[str] = field(default_factory=list)


class UpdateRunSource(JobSource):
    def __init__(
        self,
        job: str,
        ids: list[str],
        update_one: UpdateOne,
        on_report: Callable[[Any], None],
        context: dict[str, Any],
    ) -> None:
        super().__init__()
        self.job = job
        self.items = [Item(cid) for cid in ids]
        self.update_one = update_one
        self.on_report = on_report
        self.context = context
        self.finished = False
        self.stopped_at = ""  # the container whose failure stopped the rest
        self._state_lock = threading.Lock()

    def run(self) -> None:
        try:
            for item in self.items:
                self._one(item)
                if not item.report.ok:
                    self.stopped_at = item.id
                    for rest in self.items:
                        if rest.phase == "waiting":
                            rest.phase = "not tried"
                    break
        finally:
            with self._state_lock:
                self.finished = True
            self.done.set()
            self.emit(("changed",))

    def _one(self, item: Item) -> None:
        def on_progress(state: ProgressState) -> None:
            with self._state_lock:
                item.progress = state.snapshot()
            self.emit(("changed",))

        def on_phase(name: str) -> None:
            with self._state_lock:
                item.phase = name
                item.phases.append(name)
            self.emit(("changed",))

        try:
            report = self.update_one(item.id, on_progress, on_phase)
        except Exception as exc:
            # An update never raises for what the engine says: this is a bug, shown as one.
            log.exception("update job %s: %s failed", self.job, item.id)
            from engine_client.image_update import UpdateReport

            report = UpdateReport(item.id, item.id[:12], "", outcome="failed")
            report.reason = f"{type(exc).__name__}: {exc}"
        with self._state_lock:
            item.report = report
            item.phase = report.outcome or "failed"
        try:
            self.on_report(report)
        except Exception:
            log.exception("update job %s: recording %s failed", self.job, item.id)
        self.emit(("changed",))

    def _message(self) -> dict[str, Any]:
        with self._state_lock:
            items = [
                {
                    "id": i.id,
                    "phase": i.phase,
                    "phases": list(i.phases),
                    "progress": dict(i.progress) if i.progress else None,
                    "report": i.report,
                }
                for i in self.items
            ]
            finished = self.finished
        html = render_to_string(
            "updates/_run.html",
            {
                **self.context,
                "job": self.job,
                "items": items,
                "finished": finished,
                "not_tried": sum(1 for i in items if i["phase"] == "not tried"),
                "oob": True,
            },
        )
        return {"html": html}

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        return self._message()

    def replay(self) -> list[dict[str, Any]]:
        return [self._message()]
