"""The swarm pages' websockets: the host's events make the part of a page they change read
itself again (nodes, services, tasks, secrets, configs), the overview also shows the swarm's
events as they come; and a service's logs, merged from all its tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from engine_client.validators import is_swarm_id

from .. import presenters
from ..access import ADMIN, VIEWER
from ..engines import Host
from ..streams import keys
from ..streams.hub import Source
from ..streams.swarm_sources import service_logs
from .base import StreamConsumer, event_time, page_read_at
from .live import LogsConsumer, events_key, parse_tail

SWARM_TYPES = {"service", "node", "secret", "config"}
SERVICE_LABEL = "com.docker.swarm.service.id"
# What each page shows, who may see it, and which part of it is read again.
KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (role, url name, target id)
    "overview": (ADMIN, "swarm-overview", "swarm-summary"),
    "nodes": (ADMIN, "swarm-nodes", "nodes-rows"),
    "node": (ADMIN, "swarm-node", "node-live"),
    "services": (VIEWER, "swarm-services", "services-rows"),
    "service": (VIEWER, "swarm-service", "service-live"),
    "secrets": (VIEWER, "swarm-secrets", "secrets-rows"),
    "configs": (VIEWER, "swarm-configs", "configs-rows"),
}
CONTAINER_ACTIONS = {"create", "start", "die", "destroy", "kill", "oom", "health_status"}


class SwarmLiveConsumer(StreamConsumer):
    async def connect(self) -> None:
        from urllib.parse import parse_qs

        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.kind = (query.get("kind") or [""])[-1]
        # An unknown kind is refused in streams() (4400) before any stream is joined.
        self.role = KINDS[self.kind][0] if self.kind in KINDS else VIEWER
        await super().connect()

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        if self.kind not in KINDS:
            raise ValueError("unknown swarm page")
        self.object_id = query.get("id", "")
        if self.kind in ("node", "service") and not is_swarm_id(self.object_id):
            raise ValueError("not a swarm object ID")
        self.since = page_read_at(query)
        return [events_key(host)]

    def _relevant(self, ev: dict[str, Any]) -> bool:
        type_ = ev.get("Type")
        actor = ev.get("Actor") or {}
        attrs = actor.get("Attributes") or {}
        when = event_time(ev)
        if when < self.since:
            return False
        task_container = (
            type_ == "container"
            and SERVICE_LABEL in attrs
            and (ev.get("Action") or "").split(":")[0] in CONTAINER_ACTIONS
        )
        kind = self.kind
        if kind == "overview":
            return type_ in SWARM_TYPES or task_container
        if kind == "nodes":
            return type_ == "node"
        if kind == "node":
            return type_ in ("node", "service") or task_container
        if kind == "services":
            return type_ == "service" or task_container
        if kind == "service":
            if type_ == "service":
                return actor.get("ID") == self.object_id
            if task_container:
                return attrs.get(SERVICE_LABEL) == self.object_id
            return type_ == "node"
        return type_ in (kind[:-1], "service")  # secrets, configs: and who uses them

    def _resync(self) -> str:
        _, name, target = KINDS[self.kind]
        args = [self.host.name] + ([self.object_id] if self.kind in ("node", "service") else [])
        return render_to_string(
            "_resync.html",
            {"id": "swarm-resync", "url": reverse(name, args=args), "target": target},
        )

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        events = message.get("events") or []
        parts = []
        if any(self._relevant(ev) for ev in events):
            parts.append(self._resync())
        if self.kind == "overview":
            shown = [
                presenters.event_row(ev)
                for ev in events
                if ev.get("Type") in SWARM_TYPES and (event_time(ev)) >= self.since
            ]
            if shown:
                context = {"events": reversed(shown), "host": self.host, "user_role": ADMIN}
                parts.append(render_to_string("swarm/_events_oob.html", context))
        if status := message.get("status"):
            parts.append(render_to_string("_live_status.html", {"status": status, "oob": True}))
        if parts:
            await self.send(text_data="".join(parts))


class ServiceLogsConsumer(LogsConsumer):
    """A service's logs, in the container log viewer's message format."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        sid = self.scope["url_route"]["kwargs"]["service_id"]
        tail = parse_tail(query.get("tail"))
        key = keys.stream_key(host, keys.SERVICE_LOGS, sid, tail)
        client = self.client
        return [(key, lambda: service_logs(client, sid, tail=tail))]
