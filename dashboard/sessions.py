"""Websockets end when the login they were opened with ends.

A socket joins two channel groups when admitted: one for its session, one for its user.
Logging out closes the session's sockets; disabling a user, changing their role, hosts or
password closes all of theirs (they reconnect, and are admitted again, or not).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)
REVOKE = "auth.revoke"  # the consumers' handler: auth_revoke


def session_group(session_key: str) -> str:
    return f"auth.session.{session_key}"


def user_group(user_id: int) -> str:
    return f"auth.user.{user_id}"


def _send(group: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": REVOKE})
    except Exception:
        log.exception("could not close the websockets of %s", group)


def end_user_sockets(user_id: int) -> None:
    _send(user_group(user_id))


def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        _send(session_group(key))


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_out

    user_logged_out.connect(_on_logout, dispatch_uid="dashboard-ws-logout")
