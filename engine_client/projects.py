"""Projects: containers grouped by the labels compose writes (`com.docker.compose.project`)
and swarm services by the label `docker stack deploy` writes (`com.docker.stack.namespace`),
whoever made them: the CLI, another tool or the dashboard. Nothing here needs a compose file.

Reading a host's projects costs one list call per resource kind (containers, networks,
volumes; services and tasks on a swarm manager), never one inspect per container. The
whole-project lifecycle (start, stop, restart, remove) is a procedure that returns a report,
step by step, like `ContainersAPI.make`.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .containers import Step
from .errors import EngineError, NotAvailable, NotFound
from .validators import check_project_name

if TYPE_CHECKING:
    from .client import EngineClient

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
STACK_LABEL = "com.docker.stack.namespace"
# Swarm writes the service's name on each of its tasks' containers.
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"

_UNHEALTHY = re.compile(r"\(unhealthy\)")
ACTIONS = ("start", "stop", "restart")
# How many containers of a project are acted on at once.
PARALLEL = 4


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("Labels") or {}


def container_project(summary: dict[str, Any]) -> str:
    """The compose project a container list entry belongs to ('' for none)."""
    return _labels(summary).get(PROJECT_LABEL, "")


@dataclass
class ProjectService:
    """One service of a project: its containers (compose) or its tasks (swarm), as the
    engine's list entries."""

    name: str
    containers: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    service: dict[str, Any] | None = None  # the swarm service's list entry


@dataclass
class Project:
    name: str
    kind: str = "compose"  # or "stack" (swarm)
    services: dict[str, ProjectService] = field(default_factory=dict)
    networks: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    working_dir: str = ""

    @property
    def containers(self) -> list[dict[str, Any]]:
        return [c for s in self.services.values() for c in s.containers]

    @property
    def total(self) -> int:
        return len(self.containers) + sum(len(s.tasks) for s in self.services.values())

    @property
    def running(self) -> int:
        tasks = [t for s in self.services.values() for t in s.tasks]
        return sum(1 for c in self.containers if c.get("State") == "running") + sum(
            1 for t in tasks if (t.get("Status") or {}).get("State") == "running"
        )

    @property
    def unhealthy(self) -> int:
        return sum(1 for c in self.containers if _UNHEALTHY.search(c.get("Status") or ""))

    @property
    def summary(self) -> str:
        """The roll-up, as people read it: "3/4 running, 1 unhealthy"."""
        text = f"{self.running}/{self.total} running"
        return f"{text}, {self.unhealthy} unhealthy" if self.unhealthy else text

    @property
    def state(self) -> str:
        """running (all), partial, stopped (none), for the badge's colour."""
        if self.total and self.running == self.total:
            return "unhealthy" if self.unhealthy else "running"
        return "partial" if self.running else "stopped"

    def _service(self, name: str) -> ProjectService:
        return self.services.setdefault(name, ProjectService(name))


@dataclass
class ProjectReport:
    """What a whole-project action did, one step per container (or network, volume)."""

    project: str
    action: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(s.outcome == "failed" for s in self.steps)

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if s.outcome == "failed"]


def _run_step(step: tuple[str, Callable[[], Any]]) -> Step:
    what, call = step
    try:
        call()
    except NotFound:
        # Gone meanwhile (removed by someone else): nothing left to do for it.
        return Step(what, "skipped", "it was gone")
    except EngineError as exc:
        # One refusal does not stop the others: the report says which failed.
        return Step(what, "failed", exc.message)
    return Step(what, "done")


def _name(summary: dict[str, Any]) -> str:
    names = summary.get("Names") or []
    return (names[0].lstrip("/") if names else "") or summary.get("Id", "")[:12]


class ProjectsAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(self, containers: builtins.list[dict[str, Any]] | None = None) -> list[Project]:
        """Every project on the host, by name. `containers`: the host's whole container
        list when the caller already has it (a cache), instead of asking the engine."""
        return sorted(self._read(None, containers).values(), key=lambda p: p.name)

    def get(self, name: str) -> Project:
        """One project; NotFound when nothing on the host carries its name."""
        check_project_name(name)
        project = self._read(name).get(name)
        if project is None:
            raise NotFound(f"no project {name} on this host", 404)
        return project

    def _read(
        self, only: str | None, known: builtins.list[dict[str, Any]] | None = None
    ) -> dict[str, Project]:
        def label(key: str) -> dict[str, list[str]]:
            return {"label": [f"{key}={only}" if only else key]}

        projects: dict[str, Project] = {}

        def project(name: str) -> Project:
            return projects.setdefault(name, Project(name))

        # The lists are independent: read them side by side, so the page costs about as
        # much as the longest of them (the container list), not their sum.
        with ThreadPoolExecutor(4, thread_name_prefix="projects-read") as pool:
            containers = (
                pool.submit(lambda: [c for c in known if PROJECT_LABEL in _labels(c)])
                if known is not None
                else pool.submit(self._c.containers.list, all=True, filters=label(PROJECT_LABEL))
            )
            networks = pool.submit(self._c.networks.list, filters=label(PROJECT_LABEL))
            volumes = pool.submit(self._c.volumes.list, filters=label(PROJECT_LABEL))
            manager = pool.submit(self._is_manager)
            for c in containers.result():
                labels = _labels(c)
                p = project(labels[PROJECT_LABEL])
                p._service(labels.get(SERVICE_LABEL, "")).containers.append(c)
                if not p.config_files and labels.get(CONFIG_FILES_LABEL):
                    p.config_files = [f for f in labels[CONFIG_FILES_LABEL].split(",") if f]
                p.working_dir = p.working_dir or labels.get(WORKING_DIR_LABEL, "")
            for p in projects.values():
                for s in p.services.values():
                    s.containers.sort(key=_name)
            # Networks and volumes of a project without containers (all removed but them)
            # still make it a project: remove must be able to reach them.
            for n in networks.result():
                project(_labels(n)[PROJECT_LABEL]).networks.append(n)
            for v in volumes.result():
                project(_labels(v)[PROJECT_LABEL]).volumes.append(v)
            is_manager = manager.result()
        if is_manager:
            self._read_stacks(projects, label(STACK_LABEL))
        for p in projects.values():
            p.services = dict(sorted(p.services.items()))
            p.networks.sort(key=lambda n: n.get("Name", ""))
            p.volumes.sort(key=lambda v: v.get("Name", ""))
        return projects

    def _is_manager(self) -> bool:
        if self._c.flavor.is_podman:
            return False  # Podman has no swarm
        # `GET /swarm` answers only on a manager (503 elsewhere) and costs a few ms; /info
        # would say the same but takes Docker 20.10 some 15 ms of its own, beside the list.
        try:
            self._c.swarm.inspect()
        except NotAvailable:
            return False
        return True

    def _read_stacks(
        self, projects: dict[str, Project], filters: dict[str, builtins.list[str]]
    ) -> None:
        services = self._c.services.list(filters=filters, status=False)
        # The networks `docker stack deploy` made carry the stack's label (not compose's).
        for n in self._c.networks.list(filters=filters):
            stack = _labels(n).get(STACK_LABEL, "")
            if stack and stack not in projects:
                projects[stack] = Project(stack, kind="stack")
            if stack:
                projects[stack].networks.append(n)
        if not services:
            return
        by_id: dict[str, ProjectService] = {}
        for svc in services:
            labels = (svc.get("Spec") or {}).get("Labels") or {}
            stack = labels[STACK_LABEL]
            p = projects.get(stack)
            if p is None:
                p = projects[stack] = Project(stack, kind="stack")
            full = (svc.get("Spec") or {}).get("Name", "")
            s = p._service(full.removeprefix(f"{stack}_"))
            s.service = svc
            by_id[svc["ID"]] = s
        # One task list for all of them; only the tasks meant to run (not the history).
        tasks = self._c.tasks.list(
            filters={"service": list(by_id), "desired-state": ["running", "accepted"]}
        )
        for t in tasks:
            if (owner := by_id.get(t.get("ServiceID", ""))) is not None:
                owner.tasks.append(t)

    def _act(
        self, name: str, action: str, *phases: builtins.list[tuple[str, Callable[[], Any]]]
    ) -> ProjectReport:
        """Run each phase's steps side by side (a project's containers stop together, as
        compose stops them, rather than one grace period after another), the phases one
        after the other; the report lists the steps in the order given."""
        report = ProjectReport(project=name, action=action)
        for steps in phases:
            if not steps:
                continue
            with ThreadPoolExecutor(min(PARALLEL, len(steps))) as pool:
                report.steps.extend(pool.map(_run_step, steps))
        return report

    def lifecycle(self, name: str, action: str, timeout: int | None = None) -> ProjectReport:
        """Start, stop or restart every container of a compose project. Swarm stacks are
        run by their services' replicas, not per container: they are not touched here."""
        if action not in ACTIONS:
            raise ValueError(f"unknown project action {action}")
        project = self.get(name)
        containers = project.containers
        if action == "start":
            todo = [c for c in containers if c.get("State") != "running"]
        elif action == "stop":
            todo = [c for c in containers if c.get("State") in ("running", "paused", "restarting")]
        else:
            todo = containers
        api = self._c.containers

        def call(cid: str) -> Callable[[], Any]:
            if action == "start":
                return lambda: api.start(cid)
            return lambda: getattr(api, action)(cid, timeout=timeout)

        steps = [(f"{action} {_name(c)}", call(c["Id"])) for c in todo]
        return self._act(name, action, steps)

    def remove(self, name: str, networks: bool = False, volumes: bool = False) -> ProjectReport:
        """Remove a compose project's containers (killed first if running), and if asked its
        networks and named volumes: what `compose down [-v]` removes. The networks and volumes
        go once the containers are gone (the engine refuses one in use)."""
        project = self.get(name)
        api = self._c.containers

        def rm_container(cid: str) -> Callable[[], Any]:
            return lambda: api.remove(cid, force=True)

        steps = [
            (f"remove container {_name(c)}", rm_container(c["Id"])) for c in project.containers
        ]
        after: builtins.list[tuple[str, Callable[[], Any]]] = []
        if networks:
            after += [
                (f"remove network {n['Name']}", self._rm_network(n.get("Id") or n["Name"]))
                for n in project.networks
            ]
        if volumes:
            after += [
                (f"remove volume {v['Name']}", self._rm_volume(v["Name"])) for v in project.volumes
            ]
        return self._act(name, "remove", steps, after)

    def _rm_network(self, network: str) -> Callable[[], Any]:
        return lambda: self._c.networks.remove(network)

    def _rm_volume(self, volume: str) -> Callable[[], Any]:
        return lambda: self._c.volumes.remove(volume)
