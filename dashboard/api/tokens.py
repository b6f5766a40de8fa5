"""Personal API tokens: made, checked, revoked.

A token reads `dsh_<prefix>_<secret>`: the prefix finds the row, the secret's SHA-256 is
compared in constant time. Refusals say why (malformed, unknown, revoked, expired, the user
disabled) so a script's author can tell; none says whether a prefix exists with another
secret (that too is "unknown")."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from ..models import ApiToken

TOKEN = re.compile(r"dsh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
# How often a token's "last used" is written: every request would be a write per call.
TOUCH_EVERY = timedelta(seconds=60)


class Refused(Exception):
    """A request the API refuses before any handler runs: `status` and the message to send."""

    def __init__(self, status: int, message: str, token: ApiToken | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.token = token


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Made:
    token: ApiToken
    plaintext: str  # shown once, never stored


def make(user: Any, name: str, role: str, hosts: list[str], days: int) -> Made:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=digest(secret),
        role=role,
        hosts=sorted(hosts),
        expires=timezone.now() + timedelta(days=days),
    )
    return Made(token, f"dsh_{prefix}_{secret}")


def max_days() -> int:
    return int(settings.DASHBOARD_API_TOKEN_MAX_DAYS)


def bearer(header: str) -> str:
    """The token in an Authorization header's value."""
    if not header:
        raise Refused(401, "no API token: send it as 'Authorization: Bearer <token>'")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Refused(401, "the Authorization header must read 'Bearer <token>'")
    return value.strip()


def check(plaintext: str) -> ApiToken:
    """The token's row, with its user loaded afresh (their role and state now)."""
    match = TOKEN.fullmatch(plaintext)
    if match is None:
        raise Refused(401, "malformed token: a token reads dsh_<12 hex>_<43 characters>")
    prefix, secret = match.groups()
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest(secret)):
        raise Refused(401, "unknown token")
    if token.revoked is not None:
        raise Refused(401, f"token {prefix} was revoked", token)
    if token.expires <= timezone.now():
        raise Refused(401, f"token {prefix} expired at {token.expires:%Y-%m-%d %H:%M} UTC", token)
    if not token.user.is_active:
        raise Refused(401, f"token {prefix}: its user is disabled", token)
    return token


def touch(token: ApiToken, remote_addr: str) -> None:
    now = timezone.now()
    if token.last_used is None or now - token.last_used >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now, last_used_from=remote_addr[:64])


def revoke(token: ApiToken) -> None:
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
