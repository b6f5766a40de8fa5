"""Websocket consumers: check who asks, join a stream in the hub, forward what it sends.

No engine I/O here: the hub's sources do the reading, in their own threads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from ..access import VIEWER, has_role
from ..engines import Host, client_for, configured_hosts
from ..metrics import WS_VIEWERS
from ..streams.hub import Source, get_hub

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): the browser shows why it was refused.
NOT_ALLOWED, NOT_FOUND, BAD_REQUEST = 4403, 4404, 4400


async def admit(
    consumer: AsyncWebsocketConsumer, allowed: Callable[[Any], bool]
) -> tuple[Host, dict[str, str]] | None:
    """Who asks (`allowed(user)`) and which host the route names: the host and the query
    parameters (last value of each), or None once the socket was closed with the reason."""
    if not await database_sync_to_async(allowed)(consumer.scope.get("user")):
        await consumer.close(code=NOT_ALLOWED)
        return None
    host = configured_hosts().get(consumer.scope["url_route"]["kwargs"].get("host", ""))
    if host is None:
        await consumer.close(code=NOT_FOUND)
        return None
    raw = parse_qs(consumer.scope.get("query_string", b"").decode())
    return host, {k: v[-1] for k, v in raw.items()}


class StreamConsumer(AsyncWebsocketConsumer):
    role = VIEWER

    async def connect(self) -> None:
        self.joined: dict[str, int] = {}  # stream key -> sequence its replay covered
        admitted = await admit(self, lambda user: has_role(user, self.role))
        if admitted is None:
            return
        host, query = admitted
        self.host = host
        self.client = client_for(host)
        try:
            streams = self.streams(host, query)
        except ValueError as exc:
            await self.accept()
            await self.send(text_data=self.refusal(str(exc)))
            await self.close(code=BAD_REQUEST)
            return
        await self.accept()
        self.counted = WS_VIEWERS.labels(type(self).__name__.removesuffix("Consumer").lower())
        self.counted.inc()
        hub = get_hub()
        for key, factory in streams:
            _, replay, seq = await hub.join(key, self.channel_name, factory)
            self.joined[key] = seq
            for message in replay:
                await self.forward(key, message)

    async def disconnect(self, code: int) -> None:
        if counted := getattr(self, "counted", None):
            counted.dec()
            self.counted = None
        hub = get_hub()
        for key in list(getattr(self, "joined", {})):
            await hub.leave(key, self.channel_name)
        self.joined = {}

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None,
                   close: bool = False) -> None:  # fmt: skip
        """A viewer may leave while a batch is on its way: that batch is dropped, quietly
        (daphne raises Disconnected and would log the consumer as crashed)."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            log.debug("viewer left before a message reached it")

    async def stream_message(self, event: dict[str, Any]) -> None:
        key = event.get("key", "")
        if key not in self.joined or event.get("seq", 0) <= self.joined[key]:
            return  # already in the replay this viewer got, or from a stream it left
        await self.forward(key, event)

    # -- for subclasses -------------------------------------------------------------------

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        """The (key, source factory) pairs to join; raise ValueError for bad parameters."""
        raise NotImplementedError

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def refusal(self, text: str) -> str:
        return json.dumps({"status": {"state": "error", "text": text}})
