"""Swarm services: list, create (admins), detail with its tasks and update status (live),
scale, update image (rolling), force update (redeploy), rollback (operators), remove
(admins), and live logs merged from all tasks, each line showing its task and node."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument
from engine_client.container_spec import parse_cpus, parse_memory
from engine_client.images import check_image
from engine_client.service_spec import (
    CONSTRAINT_RE,
    FAILURE_ACTIONS,
    MOUNT_TYPES,
    ORDERS,
    RESTART_CONDITIONS,
    ROLLBACK_FAILURE_ACTIONS,
    SPREAD_RE,
    FileRef,
    Policy,
    ServiceMount,
    ServicePort,
    ServiceSpec,
    parse_duration,
)
from engine_client.swarm import check_service_name

from .. import swarm_presenters as sp
from ..access import ADMIN, OPERATOR, VIEWER, has_role, require_role
from ..audit import audited
from ..engines import Host
from ..swarm_web import live_url, swarm_url, swarm_view
from ..web import host_client, hx_redirect
from .container_forms import _words, parse_env_lines, parse_label_lines

PORT_RE = re.compile(r"(?:(\d{1,5}):)?(\d{1,5})(?:/(tcp|udp|sctp))?(?:\s+(ingress|host))?")


def _choices(values: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _text(label: str, help_text: str = "", rows: int = 2, **kw: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=8000,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 40}),
        **kw,
    )


def _duration_field(label: str, initial: str) -> forms.CharField:
    return forms.CharField(label=label, initial=initial, max_length=20, help_text="e.g. 5s, 1m")


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=63)
    image = forms.CharField(max_length=255, help_text="e.g. 127.0.0.1:5000/app:1.2")
    mode = forms.ChoiceField(choices=_choices(["replicated", "global"]), initial="replicated")
    replicas = forms.IntegerField(min_value=0, max_value=10000, initial=1, required=False)
    command = forms.CharField(
        required=False, max_length=4000, help_text="empty: the image's own; shell-like words"
    )
    env = _text("Environment", "KEY=value, one a line")
    stop_grace = forms.CharField(
        label="Stop grace period",
        initial="10s",
        max_length=20,
        help_text="how long a stopping task gets before it is killed",
    )
    ports = _text("Ports", "published:target[/proto] [ingress|host], one a line, e.g. 8080:80")
    mounts = _text("Mounts", "type=volume|bind|tmpfs,source=…,target=/path[,readonly], one a line")
    networks = forms.MultipleChoiceField(required=False, help_text="swarm networks (overlay)")
    constraints = _text("Constraints", "e.g. node.labels.zone==a, node.role!=manager")
    preferences = _text("Spread over", "e.g. node.labels.zone (placement preferences)", rows=1)
    max_per_node = forms.IntegerField(
        label="Max replicas per node", min_value=0, max_value=10000, required=False
    )
    limit_cpus = forms.CharField(label="CPU limit", required=False, max_length=20)
    limit_memory = forms.CharField(label="Memory limit", required=False, max_length=20)
    reserve_cpus = forms.CharField(label="CPU reservation", required=False, max_length=20)
    reserve_memory = forms.CharField(label="Memory reservation", required=False, max_length=20)
    restart_condition = forms.ChoiceField(choices=_choices(RESTART_CONDITIONS), initial="any")
    restart_delay = _duration_field("Restart delay", "5s")
    restart_max = forms.IntegerField(
        label="Restart attempts",
        min_value=0,
        max_value=1000,
        initial=0,
        required=False,
        help_text="0: no limit",
    )
    update_parallelism = forms.IntegerField(min_value=0, max_value=1000, initial=1)
    update_delay = _duration_field("Update delay", "0s")
    update_failure = forms.ChoiceField(choices=_choices(FAILURE_ACTIONS), initial="pause")
    update_order = forms.ChoiceField(choices=_choices(ORDERS), initial="stop-first")
    rollback_parallelism = forms.IntegerField(min_value=0, max_value=1000, initial=1)
    rollback_delay = _duration_field("Rollback delay", "0s")
    rollback_failure = forms.ChoiceField(
        choices=_choices(ROLLBACK_FAILURE_ACTIONS), initial="pause"
    )
    rollback_order = forms.ChoiceField(choices=_choices(ORDERS), initial="stop-first")
    secrets = forms.MultipleChoiceField(required=False, help_text="as files in /run/secrets/")
    configs = forms.MultipleChoiceField(required=False, help_text="as files /<name>")
    labels = _text("Labels", "key=value, one a line")

    def __init__(
        self,
        *args: Any,
        networks: list[str],
        secrets: dict[str, str],
        configs: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["networks"].choices = _choices(networks)
        self.secret_ids, self.config_ids = secrets, configs
        self.fields["secrets"].choices = _choices(sorted(secrets))
        self.fields["configs"].choices = _choices(sorted(configs))

    def clean_name(self) -> str:
        try:
            return check_service_name(self.cleaned_data["name"])
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_image(self) -> str:
        try:
            return check_image(self.cleaned_data["image"].strip())
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_command(self) -> list[str] | None:
        return _words(self.cleaned_data["command"], "command")

    def clean_env(self) -> list[str]:
        return parse_env_lines(self.cleaned_data["env"])

    def clean_labels(self) -> dict[str, str]:
        return parse_label_lines(self.cleaned_data["labels"])

    def clean_ports(self) -> list[ServicePort]:
        out = []
        for line in self.cleaned_data["ports"].splitlines():
            if not line.strip():
                continue
            m = PORT_RE.fullmatch(line.strip())
            if not m:
                raise ValidationError(f"“{line.strip()[:40]}”: write e.g. 8080:80/tcp host")
            published = int(m.group(1)) if m.group(1) else None
            port = ServicePort(
                int(m.group(2)), published, m.group(3) or "tcp", m.group(4) or "ingress"
            )
            try:
                port.body()
            except InvalidArgument as exc:
                raise ValidationError(f"“{line.strip()}”: {exc}") from None
            out.append(port)
        return out

    def clean_mounts(self) -> list[ServiceMount]:
        out = []
        for line in self.cleaned_data["mounts"].splitlines():
            if not line.strip():
                continue
            fields: dict[str, str] = {}
            for item in line.strip().split(","):
                key, _, value = item.strip().partition("=")
                fields[key] = value
            unknown = set(fields) - {"type", "source", "src", "target", "dst", "readonly", "ro"}
            if unknown or fields.get("type", "volume") not in MOUNT_TYPES:
                raise ValidationError(
                    f"“{line.strip()[:40]}”: write type=volume,source=x,target=/y"
                )
            mount = ServiceMount(
                fields.get("type", "volume"),
                fields.get("target") or fields.get("dst", ""),
                fields.get("source") or fields.get("src", ""),
                "readonly" in fields or "ro" in fields,
            )
            try:
                mount.body()
            except InvalidArgument as exc:
                raise ValidationError(f"“{line.strip()[:40]}”: {exc}") from None
            out.append(mount)
        return out

    def _lines(self, name: str, pattern: re.Pattern[str], example: str) -> list[str]:
        out = []
        for item in re.split(r"[\n,]", self.cleaned_data[name]):
            item = item.strip()
            if not item:
                continue
            if not pattern.fullmatch(item):
                raise ValidationError(f"“{item[:40]}”: write e.g. {example}")
            out.append(item)
        return out

    def clean_constraints(self) -> list[str]:
        return self._lines("constraints", CONSTRAINT_RE, "node.labels.zone==a")

    def clean_preferences(self) -> list[str]:
        return self._lines("preferences", SPREAD_RE, "node.labels.zone")

    def _size(self, name: str, parse: Any) -> int:
        text = self.cleaned_data[name].strip()
        if not text:
            return 0
        try:
            return parse(text)
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_limit_cpus(self) -> int:
        return self._size("limit_cpus", parse_cpus)

    def clean_reserve_cpus(self) -> int:
        return self._size("reserve_cpus", parse_cpus)

    def clean_limit_memory(self) -> int:
        return self._size("limit_memory", parse_memory)

    def clean_reserve_memory(self) -> int:
        return self._size("reserve_memory", parse_memory)

    def _duration(self, name: str) -> int:
        try:
            return parse_duration(self.cleaned_data[name])
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_stop_grace(self) -> int:
        return self._duration("stop_grace")

    def clean_restart_delay(self) -> int:
        return self._duration("restart_delay")

    def clean_update_delay(self) -> int:
        return self._duration("update_delay")

    def clean_rollback_delay(self) -> int:
        return self._duration("rollback_delay")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "replicated" and data.get("replicas") is None:
            self.add_error("replicas", "how many replicas?")
        if data.get("mode") == "global" and data.get("max_per_node"):
            self.add_error("max_per_node", "a global service runs one task per node")
        return data

    def spec(self) -> ServiceSpec:
        d = self.cleaned_data
        return ServiceSpec(
            name=d["name"],
            image=d["image"],
            mode=d["mode"],
            replicas=d["replicas"] or 0,
            args=d["command"],
            env=d["env"],
            ports=d["ports"],
            mounts=d["mounts"],
            networks=d["networks"],
            constraints=d["constraints"],
            spread=d["preferences"],
            max_replicas_per_node=d["max_per_node"] or 0,
            limit_cpus=d["limit_cpus"],
            limit_memory=d["limit_memory"],
            reserve_cpus=d["reserve_cpus"],
            reserve_memory=d["reserve_memory"],
            restart_condition=d["restart_condition"],
            restart_delay=d["restart_delay"],
            restart_max_attempts=d["restart_max"] or 0,
            update=Policy(
                d["update_parallelism"],
                d["update_delay"],
                d["update_failure"],
                order=d["update_order"],
            ),
            rollback=Policy(
                d["rollback_parallelism"],
                d["rollback_delay"],
                d["rollback_failure"],
                order=d["rollback_order"],
            ),
            secrets=[FileRef(self.secret_ids[n], n) for n in d["secrets"]],
            configs=[FileRef(self.config_ids[n], n, f"/{n}") for n in d["configs"]],
            labels=d["labels"],
            stop_grace=d["stop_grace"],
        )


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(min_value=0, max_value=10000)


class ImageForm(forms.Form):
    image = forms.CharField(max_length=255)

    def clean_image(self) -> str:
        try:
            return check_image(self.cleaned_data["image"].strip())
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None


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
    return _acted(request, h, sid, f"{name} scaled to {replicas}.", warnings)


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
    return _acted(request, h, sid, f"Updating {name} to {image}.", warnings)


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_force_update(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.force_update", sid, name):
        warnings = client.services.force_update(sid)
    return _acted(request, h, sid, f"Redeploying every task of {name}.", warnings)


@require_POST
@require_role(OPERATOR)
@swarm_view
def service_rollback(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    sid, name = _named(client, ref)
    with audited(request, h.name, "service.rollback", sid, name):
        warnings = client.services.rollback(sid)
    return _acted(request, h, sid, f"Rolling {name} back to its previous settings.", warnings)


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
