"""Small helpers every view module uses: look up the host, its client, where to go back to."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from engine_client import EngineClient

from ..engines import Host, client_for, get_host


def host_client(request: HttpRequest, host_name: str) -> tuple[Host, EngineClient]:
    """The host named in the URL (404 if unknown) and its engine client."""
    host = get_host(host_name)
    request.dashboard_host = host  # type: ignore[attr-defined] - for the error middleware
    return host, client_for(host)


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` form field if it points inside this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
