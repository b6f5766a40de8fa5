"""Projects: containers grouped by their compose labels (and swarm services by their stack
label), whoever made them. The list, a project's page, whole-project start/stop/restart,
remove (asks first, naming everything that goes) and the merged log of its containers.
The grouping and the procedures are the engine client's (engine_client/projects.py)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import InvalidArgument
from engine_client.projects import ProjectReport

from .. import container_cache, image_updates, stacks
from ..access import ADMIN, OPERATOR, VIEWER, require_role
from ..audit import Pending, audited
from ..forms.projects import ProjectActionForm, ProjectRemoveForm
from ..project_presenters import project_list_row, project_row
from ..streams.sources import PROJECT_LOG_CONTAINERS_MAX
from ..web import host_client, hx_redirect


def _ws_url(host: str, query: dict[str, str]) -> str:
    return f"/ws/hosts/{host}/projects/live/?{urlencode(query)}"


@require_GET
@require_role(VIEWER)
def project_list(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    started = time.time()  # events from now on reach the page through its socket
    cached = container_cache.containers(h.name)
    rows = [project_list_row(p) for p in client.projects.list(containers=cached)]
    updates = image_updates.project_update_counts(h.name, client, cached)
    for row in rows:
        row["updates"] = updates.get(row["name"], 0)
    context = {
        "host": h,
        "rows": rows,
        # Projects in the stacks directory with nothing running (down, or never up).
        "stored_idle": sorted(set(stacks.stored_projects(h.name)) - {r["name"] for r in rows}),
        "ws_url": _ws_url(h.name, {"since": f"{started:.3f}"}),
        "initial_status": {"state": "connecting", "text": "connecting…"},
        "from_cache": cached is not None,
    }
    if request.htmx and request.htmx.target == "project-rows":
        return render(request, "projects/_rows.html", context)
    return render(request, "projects/list.html", context)


@require_GET
@require_role(VIEWER)
def project_detail(request: HttpRequest, host: str, name: str) -> HttpResponse:
    h, client = host_client(request, host)
    started = time.time()
    p = project_row(client.projects.get(name))
    context = {
        "host": h,
        "p": p,
        "actions": [("start", "Start"), ("stop", "Stop"), ("restart", "Restart")],
        "stored": stacks.is_stored(stacks.project_folder(h.name, name)),
        "ws_url": _ws_url(h.name, {"project": name, "since": f"{started:.3f}"}),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == f"project-{name}-body":
        return render(request, "projects/_body.html", context)
    return render(request, "projects/detail.html", context)


def _record(entry: Pending, report: ProjectReport) -> None:
    """Every step in the audit entry; the entry fails if any step did."""
    entry.params["steps"] = [f"{s.what}: {s.outcome}" for s in report.steps]
    entry.failed = "; ".join(f"{s.what}: {s.message}" for s in report.failed)


def _report_message(request: HttpRequest, report: ProjectReport, past: str) -> None:
    if not report.steps:
        messages.info(
            request, f"Nothing to do: project {report.project} was already {past.lower()}."
        )
    elif report.ok:
        n = len(report.steps)
        messages.success(
            request, f"{past} project {report.project} ({n} step{'' if n == 1 else 's'})."
        )
    else:
        failed = "; ".join(f"{s.what}: {s.message}" for s in report.failed)
        messages.warning(
            request, f"{past} project {report.project}, but not all of it. What failed: {failed}"
        )


def _lifecycle(action: str, past: str):
    @require_POST
    @require_role(OPERATOR)
    def view(request: HttpRequest, host: str, name: str) -> HttpResponse:
        h, client = host_client(request, host)
        form = ProjectActionForm(request.POST)
        if not form.is_valid():
            raise InvalidArgument("the wait before killing is whole seconds, 0 to 3600")
        timeout = form.cleaned_data["t"]
        params = {} if timeout is None else {"timeout": timeout}
        with audited(request, h.name, f"project.{action}", name, name, params) as entry:
            report = client.projects.lifecycle(name, action, timeout=timeout)
            _record(entry, report)
        if request.htmx:
            # The page stays: the roll-up changes through its socket, the report goes beside
            # the buttons.
            return render(request, "projects/_report.html", {"report": report})
        _report_message(request, report, past)
        return hx_redirect(request, reverse("project-detail", args=[h.name, name]))

    view.__name__ = f"project_{action}"
    return view


project_start = _lifecycle("start", "Started")
project_stop = _lifecycle("stop", "Stopped")
project_restart = _lifecycle("restart", "Restarted")


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def project_remove(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Asks first, listing every container, network and volume that goes; removes once the
    project's name is typed back."""
    h, client = host_client(request, host)
    form = ProjectRemoveForm(request.POST or None, project=name)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        params = {"networks": data["networks"], "volumes": data["volumes"]}
        with audited(request, h.name, "project.remove", name, name, params) as entry:
            report = client.projects.remove(
                name, networks=data["networks"], volumes=data["volumes"]
            )
            _record(entry, report)
        _report_message(request, report, "Removed")
        return hx_redirect(request, reverse("project-list", args=[h.name]))
    status = 400 if request.method == "POST" else 200
    context = {"host": h, "p": project_row(client.projects.get(name)), "form": form}
    return render(request, "projects/confirm_remove.html", context, status=status)


@require_GET
@require_role(VIEWER)
def project_logs(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The merged live log of the project's containers (those it has now), each line tagged
    with its service."""
    h, client = host_client(request, host)
    p = project_row(client.projects.get(name))
    followed: list[tuple[str, dict[str, Any]]] = p["containers"][:PROJECT_LOG_CONTAINERS_MAX]
    # The socket is told which containers to follow; the consumer checks each id's form.
    query = {
        "tail": "100",
        "c": ",".join(f"{row['id']}:{service}" for service, row in followed),
    }
    if p["kind"] == "stack":
        # A stack's log: each service's, merged by the engine from every task on every node.
        services = [s for s in p["services"] if s["swarm"].get("id")]
        services = services[:PROJECT_LOG_CONTAINERS_MAX]
        followed = [(s["name"], {"id": s["swarm"]["id"]}) for s in services]
        query = {"tail": "100", "s": ",".join(f"{row['id']}:{name}" for name, row in followed)}
    context = {
        "host": h,
        "p": p,
        "followed": followed,
        "ws_url": f"/ws/hosts/{h.name}/projects/{name}/logs/?{urlencode(query)}",
        "max_lines": 5000,
    }
    return render(request, "projects/logs.html", context)
