from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .access import may_use_host, role_of
from .engines import configured_hosts
from .presenters import port_host

# Pages that exist on every host: switching hosts keeps the section. Other pages (one
# container, one image) go to the other host's containers.
SECTION_PAGES = {
    "container-list",
    "image-list",
    "volume-list",
    "network-list",
    "events",
    "disk-usage",
    "host-detail",
    "registry-list",
    "container-new",
}


def _switch_url(request: HttpRequest, host: str) -> str:
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else None
    if name not in SECTION_PAGES and not (name or "").startswith("swarm"):
        name = "container-list"
    try:
        return reverse(name, args=[host])
    except NoReverseMatch:
        return reverse("container-list", args=[host])


# The session key of the host whose sections the navigation shows on pages of no host.
NAV_HOST_KEY = "dashboard_nav_host"


def _nav_host(request: HttpRequest, current: Any, visible: list[Any]) -> Any:
    """The host whose sections the navigation offers: the page's own; on pages of no host
    (hosts, users, audit, password) the last one this session looked at, else the first
    the user may use, so that those pages do not lose the way back."""
    session = getattr(request, "session", None)
    if current is not None:
        if session is not None and session.get(NAV_HOST_KEY) != current.name:
            session[NAV_HOST_KEY] = current.name
        return current
    last = session.get(NAV_HOST_KEY) if session is not None else None
    return next((h for h in visible if h.name == last), visible[0] if visible else None)


def hosts(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {"hosts": [], "current_host": None, "nav_host": None, "user_role": None}
    visible = [h for h in configured_hosts().values() if may_use_host(user, h.name)]
    current = getattr(request, "dashboard_host", None)
    return {
        "hosts": visible,
        "host_switch": [(h, _switch_url(request, h.name)) for h in visible],
        "current_host": current,
        "nav_host": _nav_host(request, current, visible),
        # Where the page's published ports are reached (links to host:port).
        "port_host": port_host(current.url, request.get_host()) if current is not None else "",
        "user_role": role_of(user),
    }


def alerts(request: HttpRequest) -> dict[str, Any]:
    """How many alert conditions are on (unhealthy, unreachable, restart loop): the badge
    in the navigation as the page is made; its socket keeps it current afterwards."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    from .alerts.badge import firing_count

    return {"alerts_firing": firing_count()}
