"""Networks: list, create (bridge / overlay / macvlan as the engine has them, subnet, gateway,
internal, attachable, labels), detail with the attached containers, connect and disconnect a
container (with aliases), remove. Built-in networks (bridge, host, none) are not removable
from here."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, InvalidArgument, NotFound
from engine_client.networks import BUILTIN_NETWORKS
from engine_client.validators import check_alias, check_network_name, check_subnet

from .. import resource_presenters as rp
from ..access import ADMIN, VIEWER, require_role
from ..audit import audited
from ..engines import Host
from ..forms.fields import KeyValueField, ListField
from ..presenters import container_name
from ..web import host_client, hx_redirect, live_list

# Drivers a person may pick, when the engine has them (overlay needs a swarm manager).
DRIVERS = ("bridge", "overlay", "macvlan", "ipvlan")


class NetworkCreateForm(forms.Form):
    name = forms.CharField(max_length=300, strip=True)
    driver = forms.ChoiceField(initial="bridge")
    subnet = forms.CharField(
        required=False, max_length=64, strip=True, help_text="e.g. 10.50.0.0/24"
    )
    gateway = forms.CharField(required=False, max_length=64, strip=True, help_text="e.g. 10.50.0.1")
    internal = forms.BooleanField(required=False, help_text="no traffic to the outside")
    attachable = forms.BooleanField(
        required=False, help_text="overlay: standalone containers may join"
    )
    options = KeyValueField(
        "option", label="Driver options", help_text="e.g. parent=eth0 for macvlan"
    )
    labels = KeyValueField(label="Labels", help_text="key=value, one a line")

    def __init__(self, *args: Any, drivers: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["driver"].choices = [(d, d) for d in drivers or ["bridge"]]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        try:
            check_network_name(name)
        except InvalidArgument as exc:
            raise forms.ValidationError(str(exc)) from None
        if name in BUILTIN_NETWORKS:
            raise forms.ValidationError(f"{name} is a built-in network's name")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        subnet, gateway = data.get("subnet", ""), data.get("gateway", "")
        if subnet or gateway:
            if not subnet:
                self.add_error("subnet", "a gateway needs a subnet")
            else:
                try:
                    check_subnet(subnet, gateway)
                except InvalidArgument as exc:
                    field = "gateway" if str(exc).startswith("gateway") else "subnet"
                    self.add_error(field, str(exc))
        return data


class ConnectForm(forms.Form):
    container = forms.ChoiceField(label="Container")
    aliases = ListField(
        check_alias, max_length=1000, help_text="DNS names on this network, space-separated"
    )
    ipv4 = forms.GenericIPAddressField(
        protocol="IPv4", required=False, label="IPv4 address", help_text="empty: any free one"
    )

    def __init__(self, *args: Any, containers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["container"].choices = containers


class DisconnectForm(forms.Form):
    container = forms.RegexField(regex=r"^[0-9a-f]{64}$")
    force = forms.BooleanField(required=False)


def _drivers(client: EngineClient) -> list[str]:
    have = set((client.system.info().get("Plugins") or {}).get("Network") or ["bridge"])
    return [d for d in DRIVERS if d in have] or ["bridge"]


def _rows(client: EngineClient) -> list[dict[str, Any]]:
    users = rp.network_users(client.containers.list())
    rows = [rp.network_row(n, users.get(n.get("Id", ""), [])) for n in client.networks.list()]
    rows.sort(key=lambda r: (not r["builtin"], r["name"]))
    return rows


@require_http_methods(["GET", "POST"])
@require_role(VIEWER, post=ADMIN)
def network_list(request: HttpRequest, host: str) -> HttpResponse:
    """The list (GET) and creating a network (POST, admins)."""
    h, client = host_client(request, host)
    posted = request.POST if request.method == "POST" else None
    form = NetworkCreateForm(posted, drivers=_drivers(client))
    if form.is_valid():
        return _create(request, h, client, form.cleaned_data)
    return live_list(request, h, "networks", lambda: _rows(client), form)


def _create(request: HttpRequest, h: Host, client: EngineClient, d: dict[str, Any]) -> HttpResponse:
    params = {k: d[k] for k in ("driver", "subnet", "gateway", "internal", "attachable", "labels")}
    params["options"] = d["options"]
    with audited(request, h.name, "network.create", target_name=d["name"], params=params) as entry:
        created = client.networks.create(
            d["name"],
            d["driver"],
            subnet=d["subnet"],
            gateway=d["gateway"],
            internal=d["internal"],
            attachable=d["attachable"],
            labels=d["labels"],
            options=d["options"],
        )
        entry.params["id"] = created.get("Id", "")
        if created.get("Warning"):
            entry.params["warning"] = created["Warning"]
    text = f"Created network {d['name']}"
    if created.get("Warning"):
        text += f" (the engine warns: {created['Warning']})"
    messages.success(request, text)
    return hx_redirect(request, reverse("network-detail", args=[h.name, created["Id"]]))


def _candidates(client: EngineClient, attached: set[str]) -> list[tuple[str, str]]:
    """Containers that could join: every container not on the network yet."""
    out = []
    for c in client.containers.list(all=True):
        if c["Id"] in attached:
            continue
        name = container_name(c.get("Names"), c["Id"][:12])
        out.append((c["Id"], f"{name} ({(c.get('State') or '').lower()})"))
    return sorted(out, key=lambda kv: kv[1])


# Attached containers whose aliases are looked up (the containers list does not carry them).
MAX_ALIAS_LOOKUPS = 50


def _detail(client: EngineClient, ref: str) -> dict[str, Any]:
    network = client.networks.inspect(ref)
    users = rp.network_users(client.containers.list()).get(network.get("Id", ""), [])
    for user in users[:MAX_ALIAS_LOOKUPS]:
        with contextlib.suppress(NotFound):  # gone in between: shown without aliases
            settings = client.containers.inspect(user["id"]).get("NetworkSettings") or {}
            endpoint = (settings.get("Networks") or {}).get(user["network"]) or {}
            short = user["id"][:12]
            user["aliases"] = [a for a in endpoint.get("Aliases") or [] if a != short]
    return rp.network_detail(network, users)


def _detail_context(
    h: Any, client: EngineClient, n: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    containers = _candidates(client, {a["id"] for a in n["attached"]})
    return {
        "host": h,
        "n": n,
        "connect_form": extra.get("connect_form") or ConnectForm(containers=containers),
        **{k: v for k, v in extra.items() if k != "connect_form"},
    }


@require_GET
@require_role(VIEWER)
def network_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    n = _detail(client, ref)
    return render(request, "networks/detail.html", _detail_context(h, client, n))


@require_POST
@require_role(ADMIN)
def network_connect(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    n = _detail(client, ref)
    containers = _candidates(client, {a["id"] for a in n["attached"]})
    form = ConnectForm(request.POST, containers=containers)
    if not form.is_valid():
        context = _detail_context(h, client, n, connect_form=form)
        template = "networks/_connect_form.html" if request.htmx else "networks/detail.html"
        return render(request, template, context, status=400)
    d = form.cleaned_data
    names = dict(containers)
    params = {"container": d["container"], "aliases": d["aliases"], "ipv4": d["ipv4"] or ""}
    with audited(request, h.name, "network.connect", n["id"], n["name"], params):
        client.networks.connect(n["id"], d["container"], d["aliases"], d["ipv4"] or "")
    who = names.get(d["container"], d["container"])
    messages.success(request, f"Connected container {who} to network {n['name']}.")
    return hx_redirect(request, reverse("network-detail", args=[h.name, n["id"]]))


@require_POST
@require_role(ADMIN)
def network_disconnect(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = DisconnectForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("choose an attached container (its full ID)")
    n = _detail(client, ref)
    cid, force = form.cleaned_data["container"], form.cleaned_data["force"]
    params = {"container": cid, "force": force}
    with audited(request, h.name, "network.disconnect", n["id"], n["name"], params):
        client.networks.disconnect(n["id"], cid, force=force)
    messages.success(request, f"Disconnected container {cid[:12]} from network {n['name']}.")
    return hx_redirect(request, reverse("network-detail", args=[h.name, n["id"]]))


@require_POST
@require_role(ADMIN)
def network_remove(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    network = {"Name": ref} if ref in BUILTIN_NETWORKS else client.networks.inspect(ref)
    name = network.get("Name", "")
    if name in BUILTIN_NETWORKS:
        # Refused here, before the engine: these belong to the engine itself.
        raise InvalidArgument(f"{name} is a built-in network and cannot be removed")
    with audited(request, h.name, "network.remove", network["Id"], name):
        client.networks.remove(network["Id"])
    messages.success(request, f"Removed network {name}")
    return hx_redirect(request, reverse("network-list", args=[h.name]))
