from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .access import role_of
from .engines import configured_hosts


def hosts(request: HttpRequest) -> dict[str, Any]:
    return {
        "hosts": list(configured_hosts().values()),
        "current_host": getattr(request, "dashboard_host", None),
        "user_role": role_of(getattr(request, "user", None)),
    }
