"""Hosts: the home redirect, the fleet page (one card per host), a host's engine overview,
and the hosts settings (add, edit, test the connection, remove)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument, TLSConfig

from .. import credentials
from ..access import ADMIN, VIEWER, may_use_host, require_role
from ..audit import audited
from ..engines import configured_hosts, env_hosts
from ..forms.hosts import HostForm
from ..models import EngineHost
from ..streams.health import check
from ..web import host_client

# "Test connection" waits this long for each step: a person is watching the button.
TEST_TIMEOUT = 5.0
PEM_FIELDS = ("tls_ca", "tls_cert", "tls_key")


@require_GET
@require_role(VIEWER)
def home(request: HttpRequest) -> HttpResponse:
    """One host: its containers. Several: the fleet page."""
    visible = [n for n in configured_hosts() if may_use_host(request.user, n)]
    if len(visible) == 1:
        return redirect("container-list", visible[0])
    return redirect("fleet")


@require_GET
@require_role(VIEWER)
def host_detail(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    version = client.system.version()
    info = client.system.info()
    flavor = client.flavor
    context = {
        "host": h,
        "version": version,
        "info": info,
        "flavor": flavor,
        "api_version": client.api_version,
        "swarm_state": (info.get("Swarm") or {}).get("LocalNodeState", ""),
    }
    return render(request, "hosts/detail.html", context)


@require_GET
@require_role(VIEWER)
def fleet(request: HttpRequest) -> HttpResponse:
    """Cards fill in from the socket: the page itself asks no engine anything, so one host
    that hangs cannot hold it up."""
    hosts = [h for h in configured_hosts().values() if may_use_host(request.user, h.name)]
    return render(request, "hosts/fleet.html", {"fleet": hosts})


# Settings: admins add, edit, test and remove the hosts kept in the database.


@require_GET
@require_role(ADMIN)
def host_settings(request: HttpRequest) -> HttpResponse:
    rows = {row.name: row for row in EngineHost.objects.all()}
    hosts = [(h, rows.get(h.name)) for h in configured_hosts().values()]
    return render(request, "hosts/settings.html", {"all_hosts": hosts, "env_names": env_hosts()})


def _save(form: HostForm, row: EngineHost, by: str) -> EngineHost:
    data = form.cleaned_data
    row.name, row.url, row.tls = data["name"], data["url"], data["tls"]
    row.tls_verify = data["tls_verify"]
    for field in PEM_FIELDS:
        if data.get(field):
            setattr(row, field, credentials.encrypt(data[field]))
    if not row.tls:
        row.tls_ca = row.tls_cert = row.tls_key = ""
    row.created_by = row.created_by or by
    row.save()
    return row


def _form_page(
    request: HttpRequest, form: HostForm, row: EngineHost | None, status: int = 200
) -> HttpResponse:
    return render(request, "hosts/form.html", {"form": form, "row": row}, status=status)


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def host_add(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, HostForm(), None)
    form = HostForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    params = {k: form.cleaned_data[k] for k in ("url", "tls", "tls_verify")}
    with audited(request, form.cleaned_data["name"], "host-add", params=params) as entry:
        row = _save(form, EngineHost(), request.user.get_username())
        entry.target_name = row.name
    messages.success(request, f"Host {row.name} added.")
    return redirect("host-settings")


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def host_edit(request: HttpRequest, name: str) -> HttpResponse:
    row = get_object_or_404(EngineHost, name=name)
    if request.method == "GET":
        initial = {"name": row.name, "url": row.url, "tls": row.tls, "tls_verify": row.tls_verify}
        return _form_page(request, HostForm(initial=initial, instance=row), row)
    form = HostForm(request.POST, request.FILES, instance=row)
    if not form.is_valid():
        return _form_page(request, form, row, status=400)
    params = {k: form.cleaned_data[k] for k in ("name", "url", "tls", "tls_verify")}
    with audited(request, name, "host-edit", target_name=name, params=params):
        _save(form, row, request.user.get_username())
    messages.success(request, f"Host {row.name} saved.")
    return redirect("host-settings")


@require_POST
@require_role(ADMIN)
def host_remove(request: HttpRequest, name: str) -> HttpResponse:
    if name in env_hosts():
        raise Http404("hosts set by the environment are removed there")
    row = get_object_or_404(EngineHost, name=name)
    if request.POST.get("confirm") != name:
        messages.error(request, f"Type the host's name ({name}) to remove it.")
        return redirect("host-settings")
    with audited(request, name, "host-remove", target_name=name, params={"url": row.url}):
        row.delete()
        _remove_tls_files(name)
    messages.success(request, f"Host {name} removed; its containers were not touched.")
    return redirect("host-settings")


def _remove_tls_files(name: str) -> None:
    folder = Path(settings.DATA_DIR) / "tls"
    for path in folder.glob(f"{name}-*"):
        for f in path.iterdir():
            f.unlink(missing_ok=True)
        path.rmdir()


@require_POST
@require_role(ADMIN)
def host_test(request: HttpRequest) -> HttpResponse:
    """Try the address (and TLS files) in the form, saved or not: ping, version, info."""
    row = None
    if existing := request.POST.get("existing"):
        row = EngineHost.objects.filter(name=existing).first()
    form = HostForm(request.POST, request.FILES, instance=row)
    form.is_valid()  # the name may clash while editing; only the address and TLS matter
    errors = {
        f: form.errors[f]
        for f in ("url", "tls", "tls_ca", "tls_cert", "tls_key")
        if f in form.errors
    }
    if errors:
        first = next(iter(errors.values()))[0]
        return _test_result(request, {"state": "down", "error": first}, status=400)
    data = form.cleaned_data
    with tempfile.TemporaryDirectory(prefix="dashboard-tls-") as tmp:
        tls = None
        if data.get("tls"):
            paths: dict[str, str] = {}
            for field in PEM_FIELDS:
                text = data.get(field) or (
                    credentials.decrypt(getattr(row, field)) if row and getattr(row, field) else ""
                )
                if text:
                    path = Path(tmp) / f"{field}.pem"
                    path.write_text(text)
                    path.chmod(0o600)
                    paths[field] = str(path)
            tls = TLSConfig(
                ca_cert=paths.get("tls_ca"),
                client_cert=paths.get("tls_cert"),
                client_key=paths.get("tls_key"),
                verify=data.get("tls_verify", True),
            )
        try:
            client = EngineClient(
                data["url"], tls=tls, timeout=TEST_TIMEOUT, connect_timeout=TEST_TIMEOUT
            )
        except InvalidArgument as exc:
            return _test_result(request, {"state": "down", "error": str(exc)}, status=400)
        try:
            health: dict[str, Any] = check(client, timeout=TEST_TIMEOUT)
        except EngineError as exc:
            health = {"state": "down", "error": exc.message}
        finally:
            client.close()
    return _test_result(request, health)


def _test_result(request: HttpRequest, health: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, "hosts/_test_result.html", {"health": health}, status=status)
