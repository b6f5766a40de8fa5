from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .access import may_use_host, role_of
from .engines import configured_hosts

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


def hosts(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {"hosts": [], "current_host": None, "user_role": None}
    visible = [h for h in configured_hosts().values() if may_use_host(user, h.name)]
    return {
        "hosts": visible,
        "host_switch": [(h, _switch_url(request, h.name)) for h in visible],
        "current_host": getattr(request, "dashboard_host", None),
        "user_role": role_of(user),
    }


def alerts(request: HttpRequest) -> dict[str, Any]:
    """How many alert conditions are on (unhealthy, unreachable, restart loop): the badge
    in the navigation, read once per page."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    from .models import Alert

    return {"alerts_firing": Alert.objects.filter(open=True).count()}
