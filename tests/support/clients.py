"""Test clients and personas: a Django client that enforces CSRF like a browser, users with
a role, and the headers a websocket test sends (an Origin the dashboard accepts, a
session cookie)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

# What a page of the dashboard's own sends: websockets from another origin are refused.
ORIGIN = (b"origin", b"http://localhost")


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser's session does, and sends the token."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.csrf_secret = secrets.token_hex(16)  # 32 characters: a valid unmasked secret
        self.cookies["csrftoken"] = self.csrf_secret

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        # Login rotates the token, as it does in a browser: send the cookie's current value.
        morsel = self.cookies.get("csrftoken")
        token = morsel.value if morsel is not None else self.csrf_secret
        headers = {"X-CSRFToken": token, **kwargs.pop("headers", {})}
        return super().post(path, data, headers=headers, **kwargs)

    def hx_post(self, path: str, data: Any = None, target: str = "", **kwargs: Any) -> Any:
        headers = {"HX-Request": "true", **({"HX-Target": target} if target else {})}
        return self.post(path, data, headers=headers, **kwargs)


def persona(username: str, role: str | None) -> CsrfClient:
    """A logged-in client of a new user with `role` (admin, operator, viewer, or None)."""
    user = User.objects.create_user(username, password="pw-" + secrets.token_hex(8))
    if role == "admin":
        user.is_superuser = True
        user.save()
    elif role:
        # get_or_create: a transactional test before this one flushed the migration's groups.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = CsrfClient()
    client.force_login(user)
    return client


def cookie_of(client: Client) -> tuple[bytes, bytes]:
    """The session cookie header of a logged-in client, for a websocket test."""
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def cookie_for(
    username: str, role: str | None = None, exec_grant: bool = False
) -> tuple[bytes, bytes]:
    """The session cookie header of a new user with `role` (and the exec grant)."""
    client = persona(username, role)
    if exec_grant:
        User.objects.get(username=username).groups.add(Group.objects.get_or_create(name="exec")[0])
    return cookie_of(client)
