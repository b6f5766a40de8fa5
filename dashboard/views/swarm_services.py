"""Swarm services: list, create (admins), detail with its tasks and update status (live),
scale, update image (rolling), force update (redeploy), rollback (operators), remove
(admins), and live logs merged from all tasks, each line showing its task and node."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument

from .. import image_updates
from .. import swarm_presenters as sp
from ..access import ADMIN, OPERATOR, VIEWER, has_role, require_role
from ..audit import audited
from ..engines import Host
from ..forms.swarm_services import ImageForm, ScaleForm, ServiceForm
from ..swarm_web import live_url, swarm_url, swarm_view
from ..web import host_client, hx_redirect


def _form_for(client: EngineClient, data: Any = None) -> ServiceForm:
    networks = sorted(
        n["Name"]
        for n in client.networks.list()
        if n.get("Scope") == "swarm" and not (n.get("Ingress") or n["Name"] == "ingress")
    )
    secrets = {s["Spec"]["Name"]: s["ID"] for s in client.secrets.list()}
    configs = {c["Spec"]["Name"]: c["ID"] for c in client.configs.list()}
    return ServiceForm(data, networks=networks, secrets=secrets, configs=configs)


def _rows(client: EngineClient) -> list[dict[str, Any]]:
    return sorted((sp.service_row(s) for s in client.services.list()), key=lambda r: r["name"])


@require_GET
@require_role(VIEWER)
@swarm_view
def service_list(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    rows = _rows(client)
    updates = image_updates.service_verdicts(h.name, {r["id"]: r["image_full"] for r in rows})
    for row in rows:
        row["update"] = updates.get(row["id"])
    context = {
        "host": h,
        "rows": rows,
        "converging": any(r["converging"] for r in rows),
        "ws_url": live_url(h, "services"),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == "services-rows":
        return render(request, "swarm/_service_rows.html", context)
    return render(request, "swarm/services.html", context)


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
@swarm_view
def service_new(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = _form_for(client, request.POST or None)
    if request.method == "POST" and form.is_valid():
        spec = form.spec()
        try:
            body = spec.body()
        except InvalidArgument as exc:
            form.add_error(None, str(exc))
        else:
            params = {k: v for k, v in form.cleaned_data.items() if k not in ("env",)}
            params["env_keys"] = [e.partition("=")[0] for e in spec.env]
            params = {
                k: [str(x) for x in v] if isinstance(v, list) else v for k, v in params.items()
            }
            try:
                with audited(
                    request, h.name, "service.create", target_name=spec.name, params=params
                ) as entry:
                    created = client.services.create(body)
                    entry.params["id"] = created.get("ID", "")
            except EngineError as exc:
                # A name taken, a network not eligible: beside the form, nothing created.
                field = "name" if "already exists" in exc.message else None
                form.add_error(field, exc.message)
            else:
                text = f"Service {spec.name} created."
                warning = created.get("Warning") or "; ".join(created.get("Warnings") or [])
                if warning:
                    text += f" The engine warns: {warning}"
                messages.success(request, text)
                return hx_redirect(request, swarm_url("swarm-service", h, created["ID"]))
    status = 400 if request.method == "POST" else 200
    return render(request, "swarm/service_form.html", {"host": h, "form": form}, status=status)


def _detail_context(h: Host, client: EngineClient, ref: str) -> dict[str, Any]:
    raw = client.services.inspect(ref)
    sid = raw["ID"]
    # ServiceStatus comes only with the list.
    listed = client.services.list(filters={"id": [sid]})
    raw_status = next((s for s in listed if s["ID"] == sid), raw)
    s = sp.service_detail({**raw, "ServiceStatus": raw_status.get("ServiceStatus")})
    names = sp.node_names(client.nodes.list())
    rows = sp.task_rows(client.tasks.list(filters={"service": [sid]}), names, {sid: s["name"]})
    return {
        "host": h,
        "s": s,
        "tasks": [r for r in rows if r["desired"] == "running" or not r["ended"]],
        "history": [r for r in rows if r["desired"] != "running" and r["ended"]][:30],
        "scale_form": ScaleForm(initial={"replicas": s["replicas"]}),
        "image_form": ImageForm(initial={"image": s["image"]}),
        "ws_url": live_url(h, "service", id=sid),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }


@require_GET
@require_role(VIEWER)
@swarm_view
def service_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    context = _detail_context(h, client, ref)
    if request.htmx and request.htmx.target == "service-live":
        return render(request, "swarm/_service_live.html", context)
    return render(request, "swarm/service.html", context)


def _acted(request: HttpRequest, h: Host, sid: str, text: str, warnings: list[str]) -> HttpResponse:
    if warnings:
        text += " The engine warns: " + "; ".join(warnings)
    messages.success(request, text)
    return hx_redirect(request, swarm_url("swarm-service", h, sid))


def _named(client: EngineClient, ref: str) -> tuple[str, str]:
    raw = client.services.inspect(ref)
    return raw["ID"], (raw.get("Spec") or {}).get("Name", "")


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_scale(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = ScaleForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("replicas is a whole number from 0 to 10000")
    replicas = form.cleaned_data["replicas"]
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.scale", sid, name, {"replicas": replicas}):
        warnings = client.services.scale(sid, replicas)
    tasks = "task" if replicas == 1 else "tasks"
    return _acted(request, h, sid, f"Service {name} is scaled to {replicas} {tasks}.", warnings)


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_image(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """A rolling update to another image, by the service's update policy."""
    h, client = host_client(request, host)
    form = ImageForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument(form.errors["image"][0])
    image = form.cleaned_data["image"]
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.update_image", sid, name, {"image": image}):
        warnings = client.services.set_image(sid, image)
    return _acted(request, h, sid, f"Service {name} is being updated to {image}.", warnings)


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_force_update(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.force_update", sid, name):
        warnings = client.services.force_update(sid)
    return _acted(request, h, sid, f"Every task of service {name} is being redeployed.", warnings)


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_rollback(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.rollback", sid, name):
        warnings = client.services.rollback(sid)
    text = f"Service {name} is rolling back to its previous settings."
    return _acted(request, h, sid, text, warnings)


@require_POST
@require_role(ADMIN)
@swarm_view
def service_remove(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.remove", sid, name):
        client.services.remove(sid)
    messages.success(request, f"Service {name} removed; its tasks are being stopped.")
    return hx_redirect(request, swarm_url("swarm-services", h))


TAIL_CHOICES = ["100", "500", "1000", "all"]


@require_GET
@require_role(VIEWER)
@swarm_view
def service_logs(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    s = sp.service_row(client.services.inspect(ref))
    tail = request.GET.get("tail", "100")
    tail = tail if tail in TAIL_CHOICES else "100"
    context = {
        "host": h,
        "s": s,
        "tail": tail,
        "tail_choices": TAIL_CHOICES,
        "ws_url": f"/ws/hosts/{h.name}/swarm/services/{s['id']}/logs/?{urlencode({'tail': tail})}",
        "max_lines": 5000,
        "may_act": has_role(request.user, OPERATOR),
    }
    return render(request, "swarm/service_logs.html", context)
