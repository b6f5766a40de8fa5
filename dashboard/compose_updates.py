"""Updating a compose project's container to the newest image: `compose pull` then
`compose up -d --no-deps` of its service, with the real compose binary on the project's
files in the stacks directory (as the project editor's Pull and Up), so that compose keeps
knowing the container (its config hash, its labels). A project that is not in the stacks
directory (made by the CLI elsewhere) is refused with the way to adopt it.

Then, as for a lone container, the service's new containers must be running (and healthy,
with a healthcheck) within IMAGE_UPDATE_TIMEOUT; otherwise the update is rolled back: the
old image (still on the engine: the pull only moved the tag) is tagged under the reference
again and compose recreates the service from it, so the project's files, its config hash
and compose's view of it are as before the update, with the old digest running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from engine_client import EngineClient, EngineError
from engine_client.containers import Step
from engine_client.image_update import UpdateReport, wait_settled

from . import stacks
from .compose_runs import checked_folder, compose_problem, make_run
from .engines import Host, client_for, get_host
from .streams.compose_run import RunRefused

OUTPUT_TAIL = 5
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def update_service(
    host_name: str,
    project: str,
    service: str,
    report: UpdateReport,
    on_phase: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Pull and bring up `service` of `project`; `report` (the container's) says how it went.
    `on_phase` is told "pull", "recreate" (the up), "wait" and "roll back" as they start."""
    phase = on_phase or (lambda _name: None)
    try:
        folder = checked_folder(host_name, project)
    except RunRefused as exc:
        report.outcome = "failed"
        report.reason = (
            f"{exc}: adopt the project on its page first, then its updates run through compose"
        )
        return report
    if problem := compose_problem():
        report.outcome, report.reason = "failed", problem
        return report
    host = get_host(host_name)
    try:
        with stacks.project_lock(folder):
            for name, args in (
                ("pull", ("pull", service)),
                ("recreate", ("up", "-d", "--no-deps", service)),
            ):
                phase(name)
                if not _compose(host, project, folder, args, report):
                    return report
            client = client_for(host)
            phase("wait")
            why = _wait(client, project, service)
            if not why:
                report.steps.append(Step("the new container runs", "done"))
                report.outcome = "updated"
                return report
            report.steps.append(Step("the new container runs", "failed", why))
            phase("roll back")
            _roll_back(host, client, project, service, folder, report, why)
    except stacks.ProjectBusy as exc:
        report.outcome, report.reason = "failed", str(exc)
    return report


def _compose(
    host: Host, project: str, folder: Path, args: tuple[str, ...], report: UpdateReport
) -> bool:
    """One compose run, its step in the report; False (the report says why) if it failed."""
    run = make_run(host, project, folder, args)
    lines = run.run()
    tail = " / ".join(line.strip() for line in lines[-OUTPUT_TAIL:] if line.strip())
    if run.exit_status != 0:
        report.steps.append(Step(run.command, "failed", tail))
        report.outcome = "failed"
        report.reason = f"{run.command}: {run.outcome}: {tail}"
        return False
    report.steps.append(Step(run.command, "done"))
    return True


def _service_containers(client: EngineClient, project: str, service: str) -> list[str]:
    labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
    return [c["Id"] for c in client.containers.list(all=True, filters={"label": labels})]


def _wait(client: EngineClient, project: str, service: str) -> str:
    """'' when every container of the service runs (healthy, with a healthcheck) within the
    timeout, else why not."""
    ids = _service_containers(client, project, service)
    if not ids:
        return "compose left no container of the service"
    timeout = float(settings.IMAGE_UPDATE_TIMEOUT)
    for cid in ids:
        if why := wait_settled(client, cid, timeout):
            return why
    return ""


def _roll_back(
    host: Host,
    client: EngineClient,
    project: str,
    service: str,
    folder: Path,
    report: UpdateReport,
    why: str,
) -> None:
    """The old image under the reference again, and the service recreated from it."""
    report.reason = why
    what = f"roll back: tag the old image as {report.reference} again"
    try:
        client.images.tag(report.old_image, report.reference)
    except EngineError as exc:
        report.steps.append(Step(what, "failed", exc.message))
        report.outcome = "failed"
        report.reason += f" (and the rollback failed: {exc.message})"
        return
    report.steps.append(Step(what, "done"))
    # --force-recreate: compose's config is unchanged; the image under the tag is not.
    args = ("up", "-d", "--no-deps", "--force-recreate", service)
    if not _compose(host, project, folder, args, report):
        report.outcome = "failed"
        report.reason = f"{why} (and the rollback failed: {report.reason})"
        return
    report.steps[-1] = Step(f"roll back: {report.steps[-1].what}", "done")
    report.outcome = "rolled_back"
