"""Redeploys the API and its webhooks run to the end inside the request (a CI job waits for
its answer): compose commands of a project in the stacks directory, one after another under
the project's run lock (the pages' runs take the same lock: one run at a time), and a swarm
service's force update with its image re-resolved.

Page runs go through the hub with a ticket (compose_runs.py); here there is no page to
watch, so the output is collected (its last lines) and returned with each exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine_client import EngineClient
from engine_client.validators import parse_reference

from . import compose_runs, credentials, stacks
from .engines import Host

# Lines of each command's output kept for the answer (compose pull can be long).
OUTPUT_LINES = 200


class DeployRefused(Exception):
    """The project cannot run now (busy, no files, files that fail the checks)."""


@dataclass
class Step:
    command: str
    exit_status: int | None
    timed_out: bool
    output: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out


def compose(host: Host, project: str, actions: list[str]) -> list[Step]:
    """Run compose `actions` (keys of compose_runs.ACTIONS) on `project` in order, stopping
    at the first that fails."""
    problem = compose_runs.compose_problem()
    if problem:
        raise DeployRefused(problem)
    folder = stacks.project_folder(host.name, project)
    steps: list[Step] = []
    try:
        with stacks.project_lock(folder):
            checked = compose_runs.checked_folder(host.name, project)
            for action in actions:
                run = compose_runs.make_run(host, project, checked, compose_runs.ACTIONS[action])
                output = list(run.lines())[-OUTPUT_LINES:]
                steps.append(Step(run.command, run.exit_status, run.timed_out, output))
                if not steps[-1].ok:
                    break
    except (stacks.ProjectBusy, compose_runs.RunRefused) as exc:
        raise DeployRefused(str(exc)) from None
    return steps


def failure(steps: list[Step]) -> str:
    """What failed, for the audit entry ("" when every step worked)."""
    bad = next((s for s in steps if not s.ok), None)
    if bad is None:
        return ""
    why = "timed out" if bad.timed_out else f"exit status {bad.exit_status}"
    tail = " / ".join(bad.output[-3:])
    return f"{bad.command}: {why}" + (f": {tail}" if tail else "")


def redeploy_service(host: Host, client: EngineClient, service: str) -> dict[str, Any]:
    """Force-update `service` with its image's tag resolved again at the registry (with the
    host's saved login for that registry)."""
    raw = client.services.inspect(service)
    spec = raw.get("Spec") or {}
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    auth = credentials.auth_header(host.name, parse_reference(image).registry) if image else None
    resolved, warnings = client.services.redeploy(raw["ID"], auth)
    return {"id": raw["ID"], "name": spec.get("Name", ""), "image": resolved, "warnings": warnings}
