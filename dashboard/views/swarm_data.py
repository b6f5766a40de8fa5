"""Swarm secrets and configs: list (with the services that use each), create, remove.
A secret's value is sent once and never shown again (the engine does not give it back);
a config's content is shown on its row. Creating and removing: admins."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from engine_client import EngineClient, EngineError

from .. import swarm_presenters as sp
from ..access import ADMIN, VIEWER, require_role
from ..audit import audited
from ..engines import Host
from ..forms.swarm import DataForm
from ..swarm_web import live_url, swarm_url, swarm_view
from ..web import host_client, hx_redirect


def _api(client: EngineClient, kind: str) -> Any:
    return client.secrets if kind == "secret" else client.configs


def _rows(client: EngineClient, kind: str) -> list[dict[str, Any]]:
    users = sp.users_of(client.services.list(status=False), kind)
    rows = [sp.data_row(o, users.get(o["ID"], [])) for o in _api(client, kind).list()]
    return sorted(rows, key=lambda r: r["name"])


def _page(
    request: HttpRequest,
    h: Host,
    client: EngineClient,
    kind: str,
    form: DataForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "host": h,
        "kind": kind,
        "rows": _rows(client, kind),
        "form": form or DataForm(kind=kind),
        "ws_url": live_url(h, f"{kind}s"),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == f"{kind}s-rows":
        return render(request, "swarm/_data_rows.html", context)
    return render(request, "swarm/data.html", context, status=status)


def _list(kind: str):
    @require_http_methods(["GET", "POST"])
    @require_role(VIEWER, post=ADMIN)
    @swarm_view
    def view(request: HttpRequest, host: str) -> HttpResponse:
        h, client = host_client(request, host)
        if request.method == "GET":
            return _page(request, h, client, kind)
        form = DataForm(request.POST, kind=kind)
        if form.is_valid():
            d = form.cleaned_data
            try:
                params = {"labels": d["labels"], "bytes": len(d["value"])}
                with audited(
                    request, h.name, f"{kind}.create", target_name=d["name"], params=params
                ) as entry:
                    created = _api(client, kind).create(d["name"], d["value"], d["labels"])
                    entry.params["id"] = created.get("ID", "")
            except EngineError as exc:
                form.add_error("name" if "exists" in exc.message else None, exc.message)
            else:
                messages.success(request, f"Created {kind} {d['name']}.")
                return hx_redirect(request, swarm_url(f"swarm-{kind}s", h))
        if kind == "secret":
            # The form comes back with its errors, but never with the secret in it.
            form.data = form.data.copy()
            form.data["value"] = ""
        return _page(request, h, client, kind, form, status=400)

    view.__name__ = f"{kind}_list"
    return view


def _remove(kind: str):
    @require_POST
    @require_role(ADMIN)
    @swarm_view
    def view(request: HttpRequest, host: str, ref: str) -> HttpResponse:
        """Refused by the engine while a service uses it: its words beside the row."""
        h, client = host_client(request, host)
        obj = _api(client, kind).inspect(ref)
        name = (obj.get("Spec") or {}).get("Name", "")
        with audited(request, h.name, f"{kind}.remove", obj["ID"], name):
            _api(client, kind).remove(obj["ID"])
        messages.success(request, f"Removed {kind} {name}.")
        return hx_redirect(request, swarm_url(f"swarm-{kind}s", h))

    view.__name__ = f"{kind}_remove"
    return view


secret_list = _list("secret")
config_list = _list("config")
secret_remove = _remove("secret")
config_remove = _remove("config")
