"""The events page: a live feed of the host's events (the websocket does the rest)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import VIEWER, require_role
from ..web import host_client

EVENT_TYPES = [
    "container",
    "image",
    "volume",
    "network",
    "daemon",
    "plugin",
    "node",
    "service",
    "secret",
    "config",
    "builder",
]


@require_GET
@require_role(VIEWER)
def events(request: HttpRequest, host: str) -> HttpResponse:
    h, _ = host_client(request, host)
    type_ = request.GET.get("type", "")
    type_ = type_ if type_ in EVENT_TYPES else ""
    action = request.GET.get("action", "")[:64]
    query = urlencode({k: v for k, v in (("type", type_), ("action", action)) if v})
    context = {
        "host": h,
        "types": EVENT_TYPES,
        "type": type_,
        "action": action,
        "ws_url": f"/ws/hosts/{h.name}/events/" + (f"?{query}" if query else ""),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    return render(request, "events/list.html", context)
