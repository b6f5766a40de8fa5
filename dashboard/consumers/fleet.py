"""The fleet page's socket: one health card per host the user may use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from ..access import VIEWER, has_role, may_use_host
from ..engines import Host, client_for, configured_hosts
from ..streams import keys
from ..streams.health import HealthSource
from ..streams.hub import Source
from .base import NOT_ALLOWED, StreamConsumer, follow_login


def health_key(host: Host) -> tuple[str, Callable[[], Source]]:
    # The key holds the address: a host whose address changed gets a new checker.
    return keys.stream_key(host, keys.HEALTH, host.url), lambda: HealthSource(
        host, client_for, settings.HOST_HEALTH_INTERVAL
    )


def _visible_hosts(user: Any) -> list[Host] | None:
    if not has_role(user, VIEWER):
        return None
    return [h for h in configured_hosts().values() if may_use_host(user, h.name)]


class FleetConsumer(StreamConsumer):
    async def admitted_streams(self) -> list[tuple[str, Callable[[], Source]]] | None:
        hosts = await database_sync_to_async(_visible_hosts)(self.scope.get("user"))
        if hosts is None:
            await self.close(code=NOT_ALLOWED)
            return None
        await follow_login(self)
        return [health_key(h) for h in hosts]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["html"])
