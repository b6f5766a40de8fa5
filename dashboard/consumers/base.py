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
from prometheus_client import Gauge

from ..access import VIEWER, has_role, may_use_host
from ..engines import Host, client_for, configured_hosts
from ..metrics import WS_VIEWERS
from ..sessions import session_group, user_group
from ..streams.hub import Source, get_hub

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): the browser shows why it was refused.
NOT_ALLOWED, NOT_FOUND, BAD_REQUEST, LOGGED_OUT = 4403, 4404, 4400, 4401


def _check(user: Any, allowed: Callable[[Any], bool], host_name: str) -> Host | int:
    """The host, or the close code: run in a thread (roles and hosts are in the database)."""
    if not allowed(user):
        return NOT_ALLOWED
    host = configured_hosts().get(host_name)
    if host is None:
        return NOT_FOUND
    if not may_use_host(user, host.name):
        return NOT_ALLOWED
    return host


def page_read_at(query: dict[str, str]) -> float:
    """When the page read what it shows (Unix seconds, its socket's `since`): events from
    then on are news to it, earlier ones it already shows."""
    try:
        return float(query.get("since") or 0)
    except ValueError:
        raise ValueError("since must be Unix seconds") from None


def event_time(ev: dict[str, Any]) -> float:
    """An engine event's time in Unix seconds (to the nanosecond where the engine says it)."""
    return (ev.get("timeNano") or 0) / 1e9 or float(ev.get("time") or 0)


async def admit(
    consumer: AsyncWebsocketConsumer, allowed: Callable[[Any], bool]
) -> tuple[Host, dict[str, str]] | None:
    """Who asks (`allowed(user)`, and may they use the host the route names): the host and
    the query parameters (last value of each), or None once the socket was closed with the
    reason. An admitted socket is closed again when its login ends (dashboard/sessions.py)."""
    user = consumer.scope.get("user")
    host_name = consumer.scope["url_route"]["kwargs"].get("host", "")
    checked = await database_sync_to_async(_check)(user, allowed, host_name)
    if isinstance(checked, int):
        await consumer.close(code=checked)
        return None
    await follow_login(consumer)
    raw = parse_qs(consumer.scope.get("query_string", b"").decode())
    return checked, {k: v[-1] for k, v in raw.items()}


async def follow_login(consumer: AsyncWebsocketConsumer) -> None:
    """Join the groups through which a logout or an account change closes this socket."""
    groups = []
    session = consumer.scope.get("session")
    if session is not None and session.session_key:
        groups.append(session_group(session.session_key))
    user = consumer.scope.get("user")
    if getattr(user, "pk", None) is not None:
        groups.append(user_group(user.pk))
    for group in groups:
        await consumer.channel_layer.group_add(group, consumer.channel_name)
    consumer.auth_groups = groups


class RevocableMixin:
    """For every consumer: close when the login ends; leave the login groups on disconnect."""

    async def auth_revoke(self, event: dict[str, Any]) -> None:
        await self.close(code=LOGGED_OUT)  # type: ignore[attr-defined]

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        for group in getattr(self, "auth_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)  # type: ignore[attr-defined]
        await super().websocket_disconnect(message)  # type: ignore[misc]


class StreamConsumer(RevocableMixin, AsyncWebsocketConsumer):
    role = VIEWER
    # This socket's viewer gauge while it counts as one (between accept and disconnect).
    counted: Gauge | None = None

    async def connect(self) -> None:
        self.joined: dict[str, int] = {}  # stream key -> sequence its replay covered
        try:
            streams = await self.admitted_streams()
            if streams is None:
                return
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

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """A viewer may leave while a batch is on its way: that batch is dropped, quietly
        (daphne raises Disconnected and would log the consumer as crashed)."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            log.debug("viewer left before a message reached it")

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Stream messages skip Channels' per-message `aclose_old_connections`: a thread
        hop each, and a merged view gets hundreds a second (it was most of the loop's time
        under bench/log_merged.py). No forward reads the database on the loop; one that
        needs it goes through `database_sync_to_async`, which closes stale connections
        itself."""
        if message.get("type") == "stream.message":
            await self.stream_message(message)
            return
        await super().dispatch(message)

    async def stream_message(self, event: dict[str, Any]) -> None:
        key = event.get("key", "")
        if key not in self.joined or event.get("seq", 0) <= self.joined[key]:
            return  # already in the replay this viewer got, or from a stream it left
        await self.forward(key, event)

    # -- for subclasses -------------------------------------------------------------------

    async def admitted_streams(self) -> list[tuple[str, Callable[[], Source]]] | None:
        """Admit the user for the route's host, then `streams()`; None once closed."""
        admitted = await admit(self, lambda user: has_role(user, self.role))
        if admitted is None:
            return None
        host, query = admitted
        self.host = host
        self.client = client_for(host)
        refused = await self.admit_more(host, query)
        if refused is not None:
            await self.close(code=refused)
            return None
        return self.streams(host, query)

    async def admit_more(self, host: Host, query: dict[str, str]) -> int | None:
        """What a view checks beyond the route's host (other hosts it spans): a close code to
        refuse with, or None."""
        return None

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        """The (key, source factory) pairs to join; raise ValueError for bad parameters."""
        raise NotImplementedError

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def refusal(self, text: str) -> str:
        return json.dumps({"status": {"state": "error", "text": text}})
