"""The in-memory channel layer, counting what it drops (a viewer too far behind)."""

from __future__ import annotations

from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from .metrics import MESSAGES_DROPPED, stream_kind


class CountingInMemoryChannelLayer(InMemoryChannelLayer):
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            MESSAGES_DROPPED.labels(stream_kind(str(message.get("key", "")))).inc()
            raise
