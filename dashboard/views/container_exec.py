"""The terminal page: a shell (or any command) in a running container; its websocket
(consumers/exec.py) does the exec."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import presenters
from ..access import require_exec
from ..middleware import CONTENT_SECURITY_POLICY
from ..web import host_client

# xterm.js writes <style> elements and style attributes: this page allows inline styles
# (scripts stay 'self' only, as everywhere).
TERMINAL_CSP = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


@require_GET
@require_exec
def container_exec(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The terminal page: a shell (or any command) in the running container."""
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    command = request.GET.get("cmd", "sh")[:4096] or "sh"
    response = render(
        request,
        "containers/exec.html",
        {
            "host": h,
            "c": c,
            "command": command,
            "user_name": request.GET.get("user", "")[:65],
            "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/exec/",
        },
    )
    response["Content-Security-Policy"] = TERMINAL_CSP
    return response
