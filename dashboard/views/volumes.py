"""Volumes: list (with size and users from `system df` and the containers), create, detail,
remove after a confirmation that names the volume (volumes hold data)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from engine_client import EngineClient, InvalidArgument
from engine_client.validators import check_volume_name

from .. import resource_presenters as rp
from ..access import ADMIN, VIEWER, require_role
from ..audit import audited
from ..engines import Host
from ..forms.fields import KeyValueField
from ..web import host_client, hx_redirect, live_list


class VolumeCreateForm(forms.Form):
    name = forms.CharField(
        max_length=300, required=False, strip=True, help_text="empty: the engine makes one up"
    )
    driver = forms.ChoiceField(initial="local")
    options = KeyValueField("option", label="Driver options", help_text="key=value, one a line")
    labels = KeyValueField(label="Labels", help_text="key=value, one a line")

    def __init__(self, *args: Any, drivers: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["driver"].choices = [(d, d) for d in drivers or ["local"]]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name:
            try:
                check_volume_name(name)
            except InvalidArgument as exc:
                raise forms.ValidationError(str(exc)) from None
        return name


class VolumeRemoveForm(forms.Form):
    confirm = forms.CharField(label="Type the volume's name to confirm", max_length=300)

    def __init__(self, *args: Any, volume: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.volume = volume

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != self.volume:
            raise forms.ValidationError(f"Type {self.volume} exactly to remove it.")
        return self.cleaned_data["confirm"]


def _drivers(client: EngineClient) -> list[str]:
    drivers = ((client.system.info().get("Plugins") or {}).get("Volume")) or ["local"]
    return sorted(drivers, key=lambda d: (d != "local", d))


def _rows(client: EngineClient) -> list[dict[str, Any]]:
    usage = {v.get("Name"): v.get("UsageData") for v in client.system.df()["volumes"]}
    users = rp.volumes_in_use(client.containers.list(all=True))
    rows = [
        rp.volume_row(v, usage.get(v["Name"]), users.get(v["Name"], []))
        for v in client.volumes.list()
    ]
    rows.sort(key=lambda r: r["name"])
    return rows


@require_http_methods(["GET", "POST"])
@require_role(VIEWER, post=ADMIN)
def volume_list(request: HttpRequest, host: str) -> HttpResponse:
    """The list (GET) and creating a volume (POST, admins)."""
    h, client = host_client(request, host)
    posted = request.POST if request.method == "POST" else None
    form = VolumeCreateForm(posted, drivers=_drivers(client))
    if form.is_valid():
        return _create(request, h, client, form.cleaned_data)
    return live_list(request, h, "volumes", lambda: _rows(client), form)


def _create(
    request: HttpRequest, h: Host, client: EngineClient, data: dict[str, Any]
) -> HttpResponse:
    params = {"driver": data["driver"], "options": data["options"], "labels": data["labels"]}
    with audited(request, h.name, "volume.create", data["name"], data["name"], params) as entry:
        created = client.volumes.create(
            data["name"] or None, data["driver"], data["options"], data["labels"]
        )
        entry.target_name = created.get("Name", "")
    messages.success(request, f"Created volume {created.get('Name', '')}")
    return hx_redirect(request, reverse("volume-detail", args=[h.name, created["Name"]]))


def _volume(client: EngineClient, name: str) -> dict[str, Any]:
    volume = client.volumes.inspect(name)
    usage = next(
        (v.get("UsageData") for v in client.system.df()["volumes"] if v.get("Name") == name), None
    )
    users = rp.volumes_in_use(client.containers.list(all=True)).get(name, [])
    return rp.volume_row(volume, usage, users)


@require_GET
@require_role(VIEWER)
def volume_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    return render(request, "volumes/detail.html", {"host": h, "v": _volume(client, ref)})


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def volume_remove(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """Asks first, naming the volume; removes only when its name is typed back. A volume in
    use is refused by the engine, whose message is shown beside the form."""
    h, client = host_client(request, host)
    form = VolumeRemoveForm(request.POST or None, volume=ref)
    if request.method == "POST" and form.is_valid():
        with audited(request, h.name, "volume.remove", ref, ref):
            client.volumes.remove(ref)
        messages.success(request, f"Removed volume {ref}")
        return hx_redirect(request, reverse("volume-list", args=[h.name]))
    status = 400 if request.method == "POST" else 200
    context = {"host": h, "v": _volume(client, ref), "form": form}
    if request.htmx:
        return render(request, "volumes/_remove_form.html", context, status=status)
    return render(request, "volumes/confirm_remove.html", context, status=status)
