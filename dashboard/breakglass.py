"""Break-glass admins: the one way to log in with a password when sign-in is the provider's
(DASHBOARD_AUTH_MODE=oidc) or the proxy's (forward).

`manage.py dashboard_breakglass NAME` makes (or renews) an admin in the `break-glass` group
with a random password printed once; the first login with it spends it (the password is made
unusable), so each use needs someone with a shell on the server. Making one and using one
are both audited, the use loudly (a CRITICAL log line too).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User

from .access import ADMIN, set_role
from .models import AuditEntry

log = logging.getLogger(__name__)
GROUP = "break-glass"


def password_login_allowed(username: str) -> bool:
    """Whether a password login may be tried for `username` in this auth mode."""
    if settings.AUTH_MODE == "local":
        return True
    return User.objects.filter(
        username__iexact=username, is_active=True, groups__name=GROUP
    ).exists()


def is_breakglass(user: Any) -> bool:
    return bool(user.groups.filter(name=GROUP).exists())


def make(username: str) -> str:
    """Make or renew the break-glass admin `username`: its new one-time password."""
    user, created = User.objects.get_or_create(username=username)
    if not created and not is_breakglass(user) and user.has_usable_password():
        raise ValueError(
            f"{username} is an existing account, not a break-glass admin: choose another name"
        )
    password = secrets.token_urlsafe(18)
    user.set_password(password)
    user.is_active = True
    set_role(user, ADMIN, False)
    user.groups.add(Group.objects.get_or_create(name=GROUP)[0])
    AuditEntry.objects.create(
        username="(command line)",
        action="breakglass-create",
        target_name=username,
        outcome=AuditEntry.OK,
        message=f"break-glass admin {username} {'made' if created else 'renewed'}: "
        "a one-time password was printed on the server",
    )
    return password


def spend(user: Any, remote_addr: str) -> None:
    """After a break-glass login: the password is used up; say so loudly."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    log.critical(
        "BREAK-GLASS login: %s from %s (its password is now spent)", user.username, remote_addr
    )
