"""Roles: viewer (read), operator (lifecycle), admin (create/remove, everything).

A superuser is an admin; otherwise the role is the highest of the user's groups named after
a role. A logged-in user in no such group is a viewer.

Exec (a shell in a container) is a grant on top of a role: admins have it; an operator has it
when also in the group named `exec` (`manage.py dashboard_user NAME --role operator --exec`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)
_RANK = {role: i for i, role in enumerate(ROLES)}


def role_of(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_dashboard_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max((r for r in ROLES if r in names), key=_RANK.__getitem__, default=VIEWER)
        user._dashboard_role = cached
    return cached


def has_role(user: Any, role: str) -> bool:
    have = role_of(user)
    return have is not None and _RANK[have] >= _RANK[role]


EXEC_GROUP = "exec"


def can_exec(user: Any) -> bool:
    """Admins, and operators granted exec (the `exec` group)."""
    role = role_of(user)
    if role == ADMIN:
        return True
    return role == OPERATOR and user.groups.filter(name=EXEC_GROUP).exists()


def require_exec(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """View decorator: 403 unless the user may exec into containers."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_exec(request.user):
            raise PermissionDenied("exec needs the admin role, or an operator granted exec")
        return view(request, *args, **kwargs)

    wrapped.required_role = OPERATOR  # type: ignore[attr-defined]
    return wrapped


def require_role(role: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: 403 unless the user holds `role` or a higher one."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(f"this needs the {role} role")
            return view(request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator
