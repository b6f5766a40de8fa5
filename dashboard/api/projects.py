"""Compose projects and swarm services through the API: the list as the projects page reads
it, compose runs (up, pull, restart, down) of a project in the stacks directory, run to the
end and answered with each command's exit status and output; swarm services' list, scale,
image, force update and roll back (the pages' engine calls)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, JsonResponse

from .. import container_cache, deploy
from ..audit import audited
from ..forms.swarm_services import ImageForm, ScaleForm
from ..presenters import masked_service
from ..project_presenters import project_list_row
from ..web import host_client
from .auth import body_of, error, valid


def project_list(request: HttpRequest, host: str) -> Any:
    h, client = host_client(request, host)
    projects = client.projects.list(containers=container_cache.containers(h.name))
    keys = ("name", "kind", "summary", "state", "running", "total", "unhealthy", "services")
    return [{k: row.get(k) for k in keys} for row in map(project_list_row, projects)]


def _compose(*actions: str) -> Any:
    def handler(request: HttpRequest, host: str, name: str) -> Any:
        h, _ = host_client(request, host)
        action = "+".join(actions)
        with audited(request, h.name, f"project.compose.{action}", name, name) as entry:
            try:
                steps = deploy.compose(h, name, list(actions))
            except deploy.DeployRefused as exc:
                entry.failed = str(exc)
                return error(409, str(exc))
            entry.failed = deploy.failure(steps)
            entry.params = {"commands": [s.command for s in steps]}
        status = 200 if not entry.failed else 502
        return JsonResponse(
            {"ok": not entry.failed, "steps": [asdict(s) for s in steps]}, status=status
        )

    handler.__name__ = "project_" + "_".join(actions)
    return handler


project_up = _compose("up")
project_pull = _compose("pull")
project_restart = _compose("restart")
project_down = _compose("down")


def service_list(request: HttpRequest, host: str) -> Any:
    _, client = host_client(request, host)
    return [masked_service(s) for s in client.services.list()]


def _named(client: Any, ref: str) -> tuple[str, str]:
    raw = client.services.inspect(ref)
    return raw["ID"], (raw.get("Spec") or {}).get("Name", "")


def service_scale(request: HttpRequest, host: str, ref: str) -> Any:
    h, client = host_client(request, host)
    replicas = valid(ScaleForm(body_of(request)))["replicas"]
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.scale", sid, name, {"replicas": replicas}):
        warnings = client.services.scale(sid, replicas)
    return {"id": sid, "warnings": warnings}


def service_image(request: HttpRequest, host: str, ref: str) -> Any:
    h, client = host_client(request, host)
    image = valid(ImageForm(body_of(request)))["image"]
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.update_image", sid, name, {"image": image}):
        warnings = client.services.set_image(sid, image)
    return {"id": sid, "warnings": warnings}


def service_force_update(request: HttpRequest, host: str, ref: str) -> Any:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.force_update", sid, name):
        warnings = client.services.force_update(sid)
    return {"id": sid, "warnings": warnings}


def service_rollback(request: HttpRequest, host: str, ref: str) -> Any:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.rollback", sid, name):
        warnings = client.services.rollback(sid)
    return {"id": sid, "warnings": warnings}
