"""API test helpers: a user with a role and a personal token for them, and a client that
sends it the way a script would (a bearer header, CSRF enforced, no session)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

from dashboard.api import tokens


class TokenClient(Client):
    """A client that sends `token` (if any) as a bearer token, with CSRF checks on."""

    def __init__(self, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.token = token

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return super().generic(method, path, *args, headers=headers, **kwargs)


def user_with_role(username: str, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username)
    if role == "admin":
        user.is_superuser = True
        user.save()
    else:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def token_for(
    username: str,
    role: str,
    token_role: str | None = None,
    hosts: list[str] | None = None,
    days: int = 30,
) -> str:
    """A new token of a user with `role` (made if needed), acting as `token_role` (default:
    the same), limited to `hosts` (default: none)."""
    user = user_with_role(username, role)
    return tokens.make(user, f"{username}-token", token_role or role, hosts or [], days).plaintext
