"""Containers through the API: the list (from the container cache, as the page reads it),
inspect, lifecycle, remove and a log's tail. Thin: the forms check input, the engine client
acts, `audited` records each change as the pages' views do."""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import HttpRequest, HttpResponse

from engine_client.projects import PROJECT_LABEL

from .. import container_cache
from ..audit import audited
from ..forms.api import ContainerListForm, LogTailForm
from ..forms.containers import ContainerRemoveForm, KillForm, TimeoutForm
from ..presenters import masked_inspect
from ..web import host_client
from .auth import body_of, valid


def container_list(request: HttpRequest, host: str) -> Any:
    h, client = host_client(request, host)
    data = valid(ContainerListForm(request.GET))
    every = data["all"] is not False
    project = data["project"] or ""
    cached = container_cache.containers(h.name)
    if cached is None:
        filters = {"label": [f"{PROJECT_LABEL}={project}"]} if project else None
        return client.containers.list(all=every, filters=filters)
    return container_cache.aged(h.name, container_cache.select(cached, every, project))


def container_inspect(request: HttpRequest, host: str, ref: str) -> Any:
    _, client = host_client(request, host)
    # As on the inspect tab: a secret-looking variable's value is an admin's audited reveal
    # on the page, not something a token reads in passing.
    return masked_inspect(client.containers.inspect(ref))


def _name(client: Any, ref: str) -> str:
    summary = client.containers.get_summary(ref)
    return ((summary or {}).get("Names") or [""])[0].lstrip("/")


def _lifecycle(action: str) -> Any:
    def handler(request: HttpRequest, host: str, ref: str) -> Any:
        h, client = host_client(request, host)
        kwargs: dict[str, Any] = {}
        if action == "kill":
            kwargs["signal"] = valid(KillForm(body_of(request) or {"signal": "SIGKILL"}))["signal"]
        elif action in ("stop", "restart"):
            t = valid(TimeoutForm(body_of(request)))["t"]
            if t is not None:
                kwargs["timeout"] = t
        with audited(request, h.name, f"container.{action}", ref, params=kwargs) as entry:
            entry.target_name = _name(client, ref)
            getattr(client.containers, action)(ref, **kwargs)
        return {"id": ref, "done": action}

    handler.__name__ = f"container_{action}"
    return handler


container_start = _lifecycle("start")
container_stop = _lifecycle("stop")
container_restart = _lifecycle("restart")
container_kill = _lifecycle("kill")


def container_remove(request: HttpRequest, host: str, ref: str) -> Any:
    h, client = host_client(request, host)
    data = valid(ContainerRemoveForm(body_of(request)))
    force, volumes = data["force"], data["volumes"]
    params = {"force": force, "volumes": volumes}
    with audited(request, h.name, "container.remove", ref, params=params) as entry:
        entry.target_name = _name(client, ref)
        client.containers.remove(ref, force=force, volumes=volumes)
    return {"id": ref, "done": "remove"}


def container_logs(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """The last `tail` lines (100 unless asked; at most 10,000) as text."""
    _, client = host_client(request, host)
    data = valid(LogTailForm(request.GET))
    tail = 100 if data["tail"] is None else data["tail"]
    timestamps = data["timestamps"] is True
    stream = client.containers.logs(ref, tail=tail, timestamps=timestamps)
    with contextlib.closing(stream):
        lines = [
            f"{line.timestamp} {line.text}" if line.timestamp else line.text
            for batch in stream.batches()
            for line in batch
        ]
    return HttpResponse("".join(f"{line}\n" for line in lines), content_type="text/plain")
