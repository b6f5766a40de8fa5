"""Container actions: lifecycle (start/stop/restart/pause/unpause), kill, rename, remove,
bulk actions on a selection, and prune of stopped containers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument, NotFound
from engine_client.validators import is_container_id

from .. import presenters
from ..access import ADMIN, OPERATOR, has_role, require_role
from ..audit import audited
from ..forms.containers import (
    BulkForm,
    ContainerRemoveForm,
    KillForm,
    PruneForm,
    RenameForm,
    TimeoutForm,
)
from ..web import host_client, safe_next


def _list_url(host_name: str) -> str:
    return reverse("container-list", args=[host_name])


def _row_response(request: HttpRequest, host_name: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host_name)
    summary = client.containers.get_summary(container_id)
    if summary is None:
        # Gone (auto-remove): an empty answer removes the row.
        return HttpResponse("")
    return render(
        request, "containers/_row.html", {"host": h, "row": presenters.container_row(summary)}
    )


def _name_of(client: EngineClient, container_id: str) -> str:
    summary = client.containers.get_summary(container_id)
    return presenters.container_row(summary)["name"] if summary is not None else ""


def _acted(request: HttpRequest, host: str, container_id: str, text: str) -> HttpResponse:
    """After an action: the fresh row for htmx, else back where the person came from."""
    if request.htmx:
        return _row_response(request, host, container_id)
    messages.success(request, text)
    return redirect(safe_next(request, _list_url(host)))


def _lifecycle(action: str, past: str):
    @require_POST
    @require_role(OPERATOR)
    def view(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
        h, client = host_client(request, host)
        kwargs: dict[str, Any] = {}
        if action in ("stop", "restart"):
            form = TimeoutForm(request.POST)
            if not form.is_valid():
                raise InvalidArgument("the wait before killing is whole seconds, 0 to 3600")
            if form.cleaned_data["t"] is not None:
                kwargs["timeout"] = form.cleaned_data["t"]
        with audited(request, h.name, f"container.{action}", container_id, params=kwargs) as entry:
            entry.target_name = _name_of(client, container_id)
            getattr(client.containers, action)(container_id, **kwargs)
        who = entry.target_name or container_id[:12]
        return _acted(request, host, container_id, f"{past} container {who}.")

    view.__name__ = f"container_{action}"
    return view


container_start = _lifecycle("start", "Started")
container_stop = _lifecycle("stop", "Stopped")
container_restart = _lifecycle("restart", "Restarted")
container_pause = _lifecycle("pause", "Paused")
container_unpause = _lifecycle("unpause", "Resumed")


@require_POST
@require_role(OPERATOR)
def container_kill(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = KillForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("pick a signal from the list")
    signal = form.cleaned_data["signal"]
    with audited(
        request, h.name, "container.kill", container_id, params={"signal": signal}
    ) as entry:
        entry.target_name = _name_of(client, container_id)
        client.containers.kill(container_id, signal)
    return _acted(request, host, container_id, f"Sent {signal} to container {entry.target_name}.")


@require_http_methods(["GET", "POST"])
@require_role(OPERATOR)
def container_rename(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    form = RenameForm(request.POST or None, initial={"name": c["name"]})
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["name"]
        try:
            with audited(
                request,
                h.name,
                "container.rename",
                container_id,
                c["name"],
                params={"new_name": new},
            ):
                client.containers.rename(container_id, new)
        except EngineError as exc:
            # Taken names and the like: beside the field, not on an error page.
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Container {c['name']} is renamed {new}.")
            return redirect(safe_next(request, reverse("container-detail", args=[host, c["id"]])))
    return render(request, "containers/rename.html", {"host": h, "c": c, "form": form})


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_remove(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = ContainerRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and form.cleaned_data["confirm"] == "yes":
        force, volumes = form.cleaned_data["force"], form.cleaned_data["volumes"]
        with audited(
            request,
            h.name,
            "container.remove",
            container_id,
            params={"force": force, "volumes": volumes},
        ) as entry:
            summary = client.containers.get_summary(container_id)
            if summary is not None:
                entry.target_name = presenters.container_row(summary)["name"]
            client.containers.remove(container_id, force=force, volumes=volumes)
        if request.htmx:
            return HttpResponse("")
        messages.success(request, f"Removed container {entry.target_name or container_id[:12]}.")
        return redirect(safe_next(request, _list_url(host)))
    # Without an explicit confirmation nothing is removed: show what would go.
    c = presenters.container_detail(client.containers.inspect(container_id))
    return render(request, "containers/confirm_remove.html", {"host": h, "c": c, "form": form})


# -- bulk actions and prune -----------------------------------------------------------------

BULK_WORKERS = 8
_PAST = {
    "start": ("started", "already running"),
    "stop": ("stopped", "already stopped"),
    "restart": ("restarted", ""),
    "pause": ("paused", ""),
    "unpause": ("resumed", ""),
    "kill": ("killed", ""),
    "remove": ("removed", ""),
}


def _bulk_call(client: EngineClient, action: str, force: bool) -> Callable[[str], Any]:
    calls: dict[str, Callable[[str], Any]] = {
        "start": client.containers.start,
        "stop": client.containers.stop,
        "restart": client.containers.restart,
        "pause": client.containers.pause,
        "unpause": client.containers.unpause,
        "kill": client.containers.kill,
        "remove": lambda cid: client.containers.remove(cid, force=force),
    }
    return calls[action]


def _each(ids: list[str], call: Callable[[str], Any]) -> dict[str, tuple[Any, EngineError | None]]:
    """Call `call(id)` for every id, a few at a time; one failure never hides the others."""

    def one(cid: str) -> tuple[Any, EngineError | None]:
        try:
            return call(cid), None
        except EngineError as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers=min(BULK_WORKERS, len(ids))) as pool:
        return dict(zip(ids, pool.map(one, ids), strict=True))


def _outcomes(
    request: HttpRequest,
    host: str,
    action: str,
    audit_action: str,
    results: dict[str, tuple[Any, EngineError | None]],
    names: dict[str, str],
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Audit each container's outcome and say it in words."""
    done, unchanged = _PAST.get(action, (action, ""))
    out = []
    for cid, (result, error) in results.items():
        name = names.get(cid, "")
        with (
            contextlib.suppress(EngineError),
            audited(request, host, audit_action, cid, name, params=params),
        ):
            if error is not None:
                raise error
        if isinstance(error, NotFound):
            text, ok = "not found (it is gone)", False
        elif error is not None:
            text, ok = error.message, False
        else:
            text, ok = (unchanged if result is False and unchanged else done), True
        out.append(
            {"id": cid, "short_id": cid[:12], "name": name or cid[:12], "ok": ok, "text": text}
        )
    return out


def _names(client: EngineClient, ids: list[str]) -> dict[str, str]:
    """Names of the containers with exactly these ids (the engine matches id prefixes)."""
    rows = client.containers.list(all=True, filters={"id": ids}) if ids else []
    return {r["Id"]: presenters.container_row(r)["name"] for r in rows if r.get("Id") in ids}


@require_POST
@require_role(OPERATOR)
def container_bulk(request: HttpRequest, host: str) -> HttpResponse:
    """One action on the selected containers (by full id), each outcome reported."""
    h, client = host_client(request, host)
    form = BulkForm(request.POST, ids=request.POST.getlist("ids"))
    context: dict[str, Any] = {"host": h, "form": form, "outcomes": []}
    if form.is_valid():
        action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
        if action == "remove" and not has_role(request.user, ADMIN):
            raise PermissionDenied("removing containers needs the admin role")
        force = action == "remove" and request.POST.get("force") == "on"
        names = _names(client, ids)
        results = _each(ids, _bulk_call(client, action, force))
        params = {"bulk": len(ids), **({"force": True} if force else {})}
        outcomes = _outcomes(request, h.name, action, f"container.{action}", results, names, params)
        context.update(action=action, outcomes=outcomes, ok=sum(o["ok"] for o in outcomes))
    template = "containers/_bulk_result.html" if request.htmx else "containers/bulk_result.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


STOPPED_STATES = ["created", "exited", "dead"]


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_prune(request: HttpRequest, host: str) -> HttpResponse:
    """Remove stopped containers: first the list of what would go, then exactly those (a
    container started since the list was shown is refused by the engine and kept)."""
    h, client = host_client(request, host)
    form = PruneForm(request.POST if request.method == "POST" else request.GET)
    label = form.cleaned_data["label"] if form.is_valid() else ""
    context: dict[str, Any] = {"host": h, "form": form, "label": label}
    if request.method == "POST" and form.is_valid():
        ids = [i for i in request.POST.getlist("ids") if is_container_id(i)]
        names = dict(zip(ids, request.POST.getlist("names"), strict=False)) if ids else {}
        results = _each(ids, client.containers.remove) if ids else {}
        context["outcomes"] = _outcomes(
            request, h.name, "remove", "container.prune", results, names, {"label": label}
        )
        context["ok"] = sum(o["ok"] for o in context["outcomes"])
        return render(request, "containers/prune.html", context)
    filters: dict[str, list[str]] = {"status": STOPPED_STATES}
    if label:
        filters["label"] = [label]
    rows = [presenters.container_row(r) for r in client.containers.list(all=True, filters=filters)]
    context["rows"] = rows
    return render(request, "containers/prune.html", context)
