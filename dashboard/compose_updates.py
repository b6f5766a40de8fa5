"""Updating a compose project's container to the newest image: `compose pull` then
`compose up -d --no-deps` of its service, with the real compose binary on the project's
files in the stacks directory (as the project editor's Pull and Up), so that compose keeps
knowing the container (its config hash, its labels). A project that is not in the stacks
directory (made by the CLI elsewhere) is refused with the way to adopt it.
"""

from __future__ import annotations

from collections.abc import Callable

from engine_client.containers import Step
from engine_client.image_update import UpdateReport

from . import stacks
from .compose_runs import checked_folder, compose_problem, make_run
from .engines import get_host
from .streams.compose_run import RunRefused

OUTPUT_TAIL = 5


def update_service(
    host_name: str,
    project: str,
    service: str,
    report: UpdateReport,
    on_phase: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Pull and bring up `service` of `project`; `report` (the container's) says how it went.
    `on_phase` is told "pull" and "recreate" (the up) as they start."""
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
                run = make_run(host, project, folder, args)
                lines = run.run()
                tail = " / ".join(line.strip() for line in lines[-OUTPUT_TAIL:] if line.strip())
                if run.exit_status != 0:
                    report.steps.append(Step(run.command, "failed", tail))
                    report.outcome = "failed"
                    report.reason = f"{run.command}: {run.outcome}: {tail}"
                    return report
                report.steps.append(Step(run.command, "done"))
    except stacks.ProjectBusy as exc:
        report.outcome, report.reason = "failed", str(exc)
        return report
    report.outcome = "updated"
    return report
