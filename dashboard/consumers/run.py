"""The run page's websocket: one container run once, its output and its exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..access import ADMIN
from ..engines import Host
from ..streams import keys
from ..streams.hub import Source
from ..streams.run_once import RunOnceSource
from .base import StreamConsumer


class RunOnceConsumer(StreamConsumer):
    # Running a container is creating one: admins only (the source also refuses containers
    # that were not made to be run once).
    role = ADMIN

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        cid = self.scope["url_route"]["kwargs"]["container_id"]
        client = self.client
        return [(keys.stream_key(host, keys.RUN, cid), lambda: RunOnceSource(client, cid))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])
