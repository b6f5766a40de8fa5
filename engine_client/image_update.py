"""Updating a container to the newest image of its reference: pull, recreate with the same
settings (the edit-and-recreate path: `ContainersAPI.recreate`), wait until it runs (and is
healthy, if it has a healthcheck), else roll back to the old image and settings.

The old image stays on the engine until the new container has proved itself: a rollback
tags it back under the reference and recreates the container from the old inspect, so the
container and the reference are as they were before, and the report says why.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .container_spec import ContainerSpec, other_networks
from .containers import Step
from .errors import EngineError, InvalidArgument, NotFound
from .images import ProgressState
from .validators import parse_reference

if TYPE_CHECKING:
    from .client import EngineClient

POLL_SECONDS = 0.25
# What an update goes through, in order (told to `on_phase`); "roll back" only on a failure.
PHASES = ("pull", "recreate", "wait", "roll back")


@dataclass
class UpdateReport:
    """What an update did, step by step: updated, already up to date, or rolled back."""

    container_id: str
    name: str
    reference: str
    old_image: str = ""
    new_image: str = ""
    new_id: str = ""  # the container now running under the name (old or new)
    steps: list[Step] = field(default_factory=list)
    outcome: str = ""  # "updated", "current", "rolled_back", "failed"
    reason: str = ""  # why it was rolled back or failed

    @property
    def ok(self) -> bool:
        return self.outcome in ("updated", "current")


def _settled(c: dict[str, Any]) -> tuple[bool, str]:
    """(done, why not): running, and healthy if it has a healthcheck."""
    state = c.get("State") or {}
    if not state.get("Running"):
        if state.get("Status") in ("created",) and not state.get("FinishedAt", "").strip("0:TZ-."):
            return False, ""
        code = state.get("ExitCode")
        return True, f"the new container is not running (it exited with code {code})"
    health = (state.get("Health") or {}).get("Status")
    if health in (None, "", "none", "healthy"):
        return True, ""
    if health == "unhealthy":
        log = (state.get("Health") or {}).get("Log") or []
        last = (log[-1].get("Output") or "").strip() if log else ""
        return True, "the new container is unhealthy" + (f": {last[-200:]}" if last else "")
    return False, ""


def wait_settled(
    client: EngineClient,
    container_id: str,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Wait until the container runs (healthy, with a healthcheck); '' or why it did not."""
    deadline = time.monotonic() + timeout
    why = ""
    while True:
        c = client.containers.inspect(container_id)
        done, why = _settled(c)
        if done:
            return why
        if time.monotonic() >= deadline:
            health = ((c.get("State") or {}).get("Health") or {}).get("Status")
            what = f"healthy (still {health})" if health else "running"
            return f"the new container was not {what} within {timeout:g} s"
        sleep(POLL_SECONDS)


def update_container(
    client: EngineClient,
    container_id: str,
    auth: str | None = None,
    timeout: float = 60.0,
    on_progress: Callable[[ProgressState], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Pull the container's image reference and, if that brought a new image, recreate the
    container from it with the same settings, name and networks; then wait (`timeout`) for
    it to run, and be healthy if it has a healthcheck, or roll back. Never raises for what
    the engine says: the report does. `on_phase` is told each phase as it starts (PHASES),
    for a page that shows them live."""
    phase = on_phase or (lambda _name: None)
    raw = client.containers.inspect(container_id)
    name = (raw.get("Name") or "").lstrip("/")
    reference = str((raw.get("Config") or {}).get("Image") or "")
    report = UpdateReport(raw["Id"], name, reference, old_image=raw.get("Image", ""))
    try:
        ref = parse_reference(reference)
    except InvalidArgument as exc:
        report.outcome, report.reason = "failed", f"no reference to update from: {exc}"
        return report
    if ref.digest:
        report.outcome, report.reason = "current", "pinned by digest: nothing newer to pull"
        return report
    try:
        phase("pull")
        state = ProgressState()
        stream = client.images.pull(ref, auth=auth)
        with stream:
            for obj in stream.objects():
                state.feed(obj)
                if on_progress is not None:
                    on_progress(state)
        state.finish()
        if state.error:
            raise EngineError(state.error)
        report.new_image = client.images.inspect(str(ref))["Id"]
    except EngineError as exc:
        report.steps.append(Step(f"pull {reference}", "failed", exc.message))
        report.outcome, report.reason = "failed", f"the pull failed: {exc.message}"
        return report
    report.steps.append(Step(f"pull {reference}", "done"))
    if report.new_image == report.old_image:
        report.outcome, report.new_id = "current", report.container_id
        return report

    phase("recreate")
    old_config = client.images.config(report.old_image)
    spec = ContainerSpec.from_inspect(raw, old_config)
    spec.image = reference
    spec.name = name
    networks = other_networks(raw, spec.network)
    recreated = client.containers.recreate(
        raw["Id"], spec.create_body(raw, keep_identity=True), name, networks=networks
    )
    report.steps.extend(recreated.steps)
    if not recreated.ok:
        failed = recreated.failed
        report.outcome = "failed"
        report.reason = f"{failed.what}: {failed.message}" if failed else "the recreate failed"
        report.new_id = report.container_id
        _retag(client, report.old_image, reference, report)
        return report
    report.new_id = recreated.new_id
    was_running = bool((raw.get("State") or {}).get("Running"))
    phase("wait")
    why = wait_settled(client, recreated.new_id, timeout) if was_running else ""
    if not why:
        report.steps.append(Step("the new container runs", "done"))
        report.outcome = "updated"
        return report
    report.steps.append(Step("the new container runs", "failed", why))
    report.reason = why
    phase("roll back")
    _roll_back(client, raw, spec, recreated.new_id, networks, report)
    return report


def _retag(client: EngineClient, image: str, reference: str, report: UpdateReport) -> None:
    try:
        client.images.tag(image, reference)
        report.steps.append(Step(f"tag the old image as {reference} again", "done"))
    except EngineError as exc:
        report.steps.append(Step(f"tag the old image as {reference} again", "failed", exc.message))


def _roll_back(
    client: EngineClient,
    raw: dict[str, Any],
    spec: ContainerSpec,
    new_id: str,
    networks: dict[str, dict[str, Any]],
    report: UpdateReport,
) -> None:
    """The old image under the reference again, and a container with the old settings."""
    _retag(client, report.old_image, report.reference, report)
    back = client.containers.recreate(
        new_id, spec.create_body(raw, keep_identity=True), report.name, networks=networks
    )
    report.steps.extend(Step(f"roll back: {s.what}", s.outcome, s.message) for s in back.steps)
    if back.ok:
        report.outcome, report.new_id = "rolled_back", back.new_id
        # The new container may have exited already, and recreate keeps the state it finds.
        if not (client.containers.inspect(back.new_id).get("State") or {}).get("Running"):
            try:
                client.containers.start(back.new_id)
                report.steps.append(Step("roll back: start the old container", "done"))
            except EngineError as exc:
                report.steps.append(
                    Step("roll back: start the old container", "failed", exc.message)
                )
        return
    report.outcome = "failed"
    report.reason += " (and the rollback failed: see the steps)"
    with contextlib.suppress(NotFound):
        report.new_id = client.containers.inspect(report.name)["Id"]
