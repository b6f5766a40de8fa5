"""Hosts: the home redirect and a host's engine overview."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from ..access import VIEWER, may_use_host, require_role
from ..engines import configured_hosts
from ..web import host_client


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
