"""The in-memory channel layer, counting what it drops (a viewer too far behind)."""

from __future__ import annotations

import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from .metrics import MESSAGES_DROPPED, stream_kind

# How often expired messages and group memberships are looked for. Messages expire after a
# minute and memberships after a day, so a look twice a second loses nothing.
CLEAN_EVERY_SECONDS = 0.5


class CountingInMemoryChannelLayer(InMemoryChannelLayer):
    _cleaned_at = 0.0

    def _clean_expired(self) -> None:
        """The base class scans every channel and group on each `receive`: with merged log
        views that is hundreds of scans a second (8% of the loop's time in a profile of
        bench/log_merged.py). At most one scan per CLEAN_EVERY_SECONDS."""
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            MESSAGES_DROPPED.labels(stream_kind(str(message.get("key", "")))).inc()
            raise
