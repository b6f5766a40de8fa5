"""Forward-auth: a proxy in front (oauth2-proxy, Authelia, authentik...) signs people in and
names the user and their groups in request headers.

Headers are believed only from the proxy's own address (DASHBOARD_FORWARD_AUTH_TRUSTED,
CIDRs), on pages and websockets alike: the address is the connection's peer as daphne saw
it (the ASGI scope's `client`), so daphne must not be started with --proxy-headers, which
would let anyone who reaches it name a trusted address in X-Forwarded-For. From any other
address the headers are ignored and the request is whoever its session says.

A header name with `_` instead of `-` (`Remote_User`) is folded into the same name by the
ASGI-to-Django translation, and a proxy that strips `Remote-User` may pass it on: a request
carrying such a variant is not believed at all.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .audit import record_request
from .models import AuditEntry
from .sso_accounts import Refused, account_for

log = logging.getLogger(__name__)
ISSUER = "forward-auth"  # OIDCIdentity.issuer of accounts a proxy names
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(text: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(c.strip(), strict=False) for c in text.split(",") if c.strip()
    )


def trusted(addr: str) -> bool:
    """Whether `addr` is one of the trusted proxies' addresses."""
    if not settings.FORWARD_AUTH_TRUSTED or not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in _networks(settings.FORWARD_AUTH_TRUSTED))


def identity(addr: str, headers: Iterable[tuple[str, str]]) -> tuple[str, list[str]] | None:
    """(user name, groups) the proxy at `addr` names, or None: not a trusted address, no
    user header, or an underscore look-alike of one of the headers."""
    if not trusted(addr):
        return None
    want_user = settings.FORWARD_AUTH_USER_HEADER.lower()
    want_groups = settings.FORWARD_AUTH_GROUPS_HEADER.lower()
    user, groups = "", ""
    for name, value in headers:
        key = name.lower()
        if key.replace("_", "-") in (want_user, want_groups) and "_" in key:
            log.warning("forward-auth: %s from %s ignored (underscore header)", name, addr)
            return None
        if key == want_user:
            user = value.strip()
        elif key == want_groups:
            groups = value
    if not user:
        return None
    return user, [g.strip() for g in groups.split(",") if g.strip()]


def account(name: str, groups: list[str]) -> User:
    return account_for(ISSUER, name, name, groups, settings.FORWARD_AUTH_CREATE_USERS)


def _request_headers(request: HttpRequest) -> list[tuple[str, str]]:
    scope = getattr(request, "scope", None)
    if scope is not None:  # under daphne: the names exactly as they were sent
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    return [
        (k[5:].replace("_", "-"), str(v)) for k, v in request.META.items() if k.startswith("HTTP_")
    ]


class ForwardAuthMiddleware:
    """Pages: a trusted proxy's user is logged in (and their role re-read) on each request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.FORWARD_AUTH_TRUSTED:
            named = identity(request.META.get("REMOTE_ADDR", ""), _request_headers(request))
            if named is not None:
                refused = self.sign_in(request, *named)
                if refused is not None:
                    return refused
        return self.get_response(request)

    def sign_in(self, request: HttpRequest, name: str, groups: list[str]) -> HttpResponse | None:
        try:
            user = account(name, groups)
        except (Refused, ValueError) as exc:
            if request.user.is_authenticated:
                logout(request)
            message = f"sign-in refused: {exc}"
            record_request(request, {}, AuditEntry.DENIED, message, target_name=name)
            context = {"oidc_error": str(exc)}
            return render(request, "registration/oidc_refused.html", context, status=403)
        if request.user.pk != user.pk:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            message = "logged in by the forward-auth proxy"
            record_request(request, {}, AuditEntry.OK, message, target_name=name)
        else:
            request.user = user  # the role and hosts just re-read
        return None


class ForwardAuthWebsocketMiddleware(BaseMiddleware):
    """Websockets: the same, from the scope's client address and headers; inside the session
    middleware, so the proxy's user replaces the session's."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if settings.FORWARD_AUTH_TRUSTED:
            client = scope.get("client") or ("", 0)
            headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])
            ]
            named = identity(str(client[0]), headers)
            if named is not None:
                try:
                    user: Any = await database_sync_to_async(account)(*named)
                except (Refused, ValueError):
                    user = AnonymousUser()
                scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)
