"""Roles: viewer (read), operator (lifecycle), admin (create/remove, everything).

A superuser is an admin; otherwise the role is the highest of the user's groups named after
a role. A logged-in user in no such group is a viewer.

Exec (a shell in a container) is a grant on top of a role: admins have it; an operator has it
when also in the group named `exec` (`manage.py dashboard_user NAME --role operator --exec`).

A user may be limited to some hosts (HostGrant rows); one with no grants uses every host.
Superusers are never limited. Every view names its host in the URL, and the decorators below
check it, so a view cannot forget.

A refused POST (no role for it, or a host not granted) is audited as "denied".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)
_RANK = {role: i for i, role in enumerate(ROLES)}


def role_of(user: Any) -> str | None:
    """The user's role; for an API request, the lower of it and its token's role (the API
    sets `token_role` on the user it loads: dashboard/api/auth.py)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    role = _own_role(user)
    cap = getattr(user, "token_role", None)
    return role if cap is None else min(role, cap, key=_RANK.__getitem__)


def _own_role(user: Any) -> str:
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_dashboard_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max((r for r in ROLES if r in names), key=_RANK.__getitem__, default=VIEWER)
        user._dashboard_role = cached
    return cached


def granted_hosts(user: Any) -> set[str] | None:
    """The hosts `user` is limited to, or None for every host; for an API request, also
    within its token's hosts (`token_hosts`, set like `token_role`)."""
    if not getattr(user, "is_authenticated", False):
        return None
    own = _own_hosts(user)
    limit: set[str] | None = getattr(user, "token_hosts", None)
    if limit is None:
        return own
    return set(limit) if own is None else own & set(limit)


def _own_hosts(user: Any) -> set[str] | None:
    if user.is_superuser:
        return None
    if not hasattr(user, "_dashboard_hosts"):
        from .models import HostGrant

        names = set(HostGrant.objects.filter(user=user).values_list("host", flat=True))
        user._dashboard_hosts = names or None
    hosts: set[str] | None = user._dashboard_hosts
    return hosts


def may_use_host(user: Any, host: str) -> bool:
    hosts = granted_hosts(user)
    return hosts is None or host in hosts


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


def _refuse(request: HttpRequest, kwargs: dict[str, Any], reason: str) -> PermissionDenied:
    """The 403 to raise; a refused POST is audited first."""
    if request.method == "POST":
        from .audit import record_refusal

        record_refusal(request, kwargs, reason)
    return PermissionDenied(reason)


def _check_host(request: HttpRequest, kwargs: dict[str, Any]) -> None:
    host = kwargs.get("host")
    if host is not None and not may_use_host(request.user, host):
        raise _refuse(request, kwargs, f"your account has no access to host {host}")


def require_exec(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """View decorator: 403 unless the user may exec into containers."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_exec(request.user):
            raise _refuse(request, kwargs, "exec needs the admin role, or an operator granted exec")
        _check_host(request, kwargs)
        return view(request, *args, **kwargs)

    wrapped.required_role = OPERATOR  # type: ignore[attr-defined]
    wrapped.needs_exec = True  # type: ignore[attr-defined]
    return wrapped


def require_role(
    role: str, post: str | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: 403 unless the user holds `role` or a higher one (`post`: the role a
    POST to the same view needs, when it needs more, e.g. a list that also creates)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            need = post if post and request.method == "POST" else role
            if not has_role(request.user, need):
                raise _refuse(request, kwargs, f"this needs the {need} role")
            _check_host(request, kwargs)
            return view(request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        wrapped.required_role_post = post or role  # type: ignore[attr-defined]
        return wrapped

    return decorator


def set_role(user: Any, role: str, exec_grant: bool) -> None:
    """Make `user` a viewer, operator or admin (admins are superusers), with or without exec;
    saves the user."""
    from django.contrib.auth.models import Group

    user.is_superuser = user.is_staff = role == ADMIN
    user.save()
    groups = [Group.objects.get_or_create(name=role)[0]]
    if exec_grant:
        groups.append(Group.objects.get_or_create(name=EXEC_GROUP)[0])
    user.groups.set(groups)
    for cached in ("_dashboard_role", "_dashboard_hosts"):
        user.__dict__.pop(cached, None)


def set_hosts(user: Any, hosts: list[str]) -> None:
    """Limit `user` to `hosts` (an empty list: every host)."""
    from .models import HostGrant

    HostGrant.objects.filter(user=user).exclude(host__in=hosts).delete()
    for host in hosts:
        HostGrant.objects.get_or_create(user=user, host=host)
    user.__dict__.pop("_dashboard_hosts", None)


def active_admins() -> Any:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | models.Q(groups__name=ADMIN))
        .distinct()
    )
