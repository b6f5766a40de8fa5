"""The consumers: container logs, container stats, the containers list, the events feed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from engine_client.projects import PROJECT_LABEL, STACK_LABEL
from engine_client.validators import PROJECT_NAME

from .. import error_counts, image_updates, presenters
from ..access import ADMIN, role_of
from ..engines import Host
from ..streams import keys
from ..streams.hub import Source
from ..streams.sources import EventsSource, ListStatsSource, StatsSource, container_logs
from .base import StreamConsumer, event_time, page_read_at

_RELATIVE = re.compile(r"(\d{1,6})([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
TAIL_MAX = 100_000


def parse_tail(value: str | None) -> int | str:
    if value in (None, "", "all"):
        return "all" if value == "all" else 100
    if not value.isdigit() or int(value) > TAIL_MAX:
        raise ValueError(f"tail must be 'all' or a number up to {TAIL_MAX}")
    return int(value)


def parse_since(value: str | None) -> tuple[str, float | None]:
    """'', '10m', '2h', '1d', Unix seconds, or a local ISO date-time -> (key part, seconds)."""
    if not value:
        return "", None
    if m := _RELATIVE.fullmatch(value):
        return value, time.time() - int(m.group(1)) * _UNIT[m.group(2)]
    if re.fullmatch(r"\d{1,12}(\.\d{1,9})?", value):
        return value, float(value)
    from datetime import datetime

    from django.utils import timezone

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("since must look like 10m, 2h, 1d or 2024-05-01T10:00") from None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return value, when.timestamp()


def events_key(host: Host) -> tuple[str, Callable[[], Source]]:
    from ..engines import client_for

    return keys.stream_key(host, keys.EVENTS), lambda: EventsSource(client_for(host))


class LogsConsumer(StreamConsumer):
    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        cid = self.scope["url_route"]["kwargs"]["container_id"]
        tail = parse_tail(query.get("tail"))
        since_key, since = parse_since(query.get("since"))
        key = keys.stream_key(host, keys.LOGS, cid, tail, since_key)
        client = self.client
        return [(key, lambda: container_logs(client, cid, tail=tail, since=since))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])


class StatsConsumer(StreamConsumer):
    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        cid = self.scope["url_route"]["kwargs"]["container_id"]
        client = self.client
        return [(keys.stream_key(host, keys.STATS, cid), lambda: StatsSource(client, cid))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["html"])


class ContainersConsumer(StreamConsumer):
    """The containers list: rows follow the host's events; CPU/memory cells the sampler."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        self.q = query.get("q", "")[:128].lower()
        self.show = query.get("show", "all")
        self.project = query.get("project", "")
        # The page's errors column: a re-rendered row keeps it (its count from the cache).
        self.errors = query.get("errors") == "on"
        self.since = page_read_at(query)
        client = self.client
        interval = settings.LIST_STATS_INTERVAL
        return [
            events_key(host),
            (keys.stream_key(host, keys.LIST_STATS), lambda: ListStatsSource(client, interval)),
        ]

    async def connect(self) -> None:
        self.user_role = await database_sync_to_async(role_of)(self.scope.get("user"))
        await super().connect()

    def _port_host(self) -> str:
        """Where published ports are reached, as the page's own links say (port_host)."""
        headers = dict(self.scope.get("headers") or [])
        browser_host = headers.get(b"host", b"").decode("latin-1")
        return presenters.port_host(self.host.url, browser_host)

    def _shown(self, row: dict[str, Any]) -> bool:
        if self.show == "running" and not row["running"]:
            return False
        if self.project and row["project"] != self.project:
            return False
        return not self.q or self.q in row["name"].lower() or self.q in row["image"].lower()

    def _resync_html(self) -> str:
        """Have the page fetch its rows once (after an engine outage events may be lost)."""
        return render_to_string(
            "_resync.html",
            {
                "id": "resync",
                "url": reverse("container-list", args=[self.host.name]),
                # The page's filter, sort and page as they are now.
                "include": "#container-filters, #page-now",
                "target": "container-rows",
            },
        )

    def _row_html(self, cid: str, summary: dict[str, Any] | None, verdicts: dict[str, Any]) -> str:
        row = presenters.container_row(summary) if summary is not None else None
        if row is None or not self._shown(row):
            return render_to_string("containers/_row_removed.html", {"short_id": cid[:12]})
        # The badge the page rendered, kept: from the checks' cache, never a registry call.
        row["update"] = verdicts.get(row["id"])
        if self.errors:
            # Never a log read here: a count no longer kept is fetched by the cell itself.
            error_counts.annotate([row], error_counts.cached(self.host.name, [row["id"]]))
        return render_to_string(
            "containers/_row.html",
            {
                "host": self.host,
                "row": row,
                "user_role": self.user_role,
                "oob": True,
                "port_host": self._port_host(),
                "errors": self.errors,
            },
        )

    def _verdicts(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return image_updates.list_verdicts(self.host.name, self.client, rows)

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        parts: list[str] = []
        if "liststats" in message:
            # One element carrying every sample: the page fills the cells of the rows it
            # shows (an out-of-band swap per cell would fail for rows filtered out).
            cells = {
                cid[:12]: list(presenters.list_stats_cells(sample).values())
                for cid, sample in message["liststats"].items()
            }
            parts.append(
                render_to_string("containers/_list_stats.html", {"cells_json": json.dumps(cells)})
            )
        rows = dict(message.get("rows") or {})
        # On joining: what changed since the page was rendered, so no change falls between.
        for cid, (when, row) in (message.get("recent_rows") or {}).items():
            if when >= self.since:
                rows[cid] = row
        present = [row for row in rows.values() if row is not None]
        verdicts = await database_sync_to_async(self._verdicts)(present) if present else {}
        parts.extend(self._row_html(cid, row, verdicts) for cid, row in rows.items())
        if (status := message.get("status")) and status.get("resync"):
            parts.append(self._resync_html())
        if status:
            parts.append(render_to_string("_live_status.html", {"status": status, "oob": True}))
        if parts:
            await self.send(text_data="".join(parts))


class EventsConsumer(StreamConsumer):
    """The events page: the host's feed, filtered by type and action."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        self.type = query.get("type", "")
        self.action = query.get("action", "")
        if self.type and not re.fullmatch(r"[a-z]{1,20}", self.type):
            raise ValueError("unknown event type")
        if len(self.action) > 64:
            raise ValueError("action filter too long")
        return [events_key(host)]

    def _wanted(self, ev: dict[str, Any]) -> bool:
        if self.type and ev.get("Type") != self.type:
            return False
        return not self.action or (ev.get("Action") or "").startswith(self.action)

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        events = [presenters.event_row(e) for e in message.get("events", []) if self._wanted(e)]
        parts = []
        if events:
            parts.append(
                render_to_string(
                    "events/_events_oob.html", {"events": reversed(events), "host": self.host}
                )
            )
        if status := message.get("status"):
            parts.append(render_to_string("_live_status.html", {"status": status, "oob": True}))
        if parts:
            await self.send(text_data="".join(parts))


class ProgressConsumer(StreamConsumer):
    """A pull or push in progress. Starting one changes the engine: admins only, and only
    with the ticket the view issued to this same person (dashboard/progress.py)."""

    role = ADMIN

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        from .. import progress

        user = self.scope.get("user")
        job = progress.read_ticket(query.get("t"), host.name, getattr(user, "pk", None))
        client = self.client
        key = keys.stream_key(host, keys.PROGRESS, job.job)
        return [(key, lambda: progress.source_for(job, client))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["html"])


# Which events change which list: the rows are read again when one of them happens.
# Per list: the event types that change it, and the actions of each (None: any action).
LIST_EVENTS: dict[str, dict[str, set[str] | None]] = {
    "images": {"image": None, "container": {"create", "destroy"}},
    "volumes": {"volume": None, "container": {"create", "destroy"}},
    "networks": {"network": None},
}


class ResourceListConsumer(StreamConsumer):
    """The images, volumes and networks lists: when the host's events say one of them changed
    (from the dashboard or anywhere else), the page reads its rows again, once per batch."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        self.kind = self.scope["url_route"]["kwargs"]["kind"]
        self.since = page_read_at(query)
        return [events_key(host)]

    def _relevant(self, ev: dict[str, Any]) -> bool:
        wanted = LIST_EVENTS[self.kind]
        if ev.get("Type") not in wanted:
            return False
        actions = wanted[ev["Type"]]
        if actions is not None and (ev.get("Action") or "") not in actions:
            return False
        when = event_time(ev)
        return when >= self.since

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        parts = []
        if any(self._relevant(ev) for ev in message.get("events") or []):
            context = {
                "id": "list-resync",
                "url": reverse(f"{self.kind[:-1]}-list", args=[self.host.name]),
                # The page's filter as it is now (it may have changed since this socket opened).
                "include": f"#{self.kind[:-1]}-filters",
                "target": f"{self.kind}-rows",
            }
            parts.append(render_to_string("_resync.html", context))
        if status := message.get("status"):
            parts.append(render_to_string("_live_status.html", {"status": status, "oob": True}))
        if parts:
            await self.send(text_data="".join(parts))


class ProjectsConsumer(StreamConsumer):
    """The projects list and a project's page, from the host's events stream: an event of a
    project's container (its labels come with the event) has the page read the part that
    changed again, once per batch: a project's page its own body (roll-up, services,
    networks, volumes), the list its rows (a project may have appeared or gone)."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        self.project = query.get("project", "")
        if self.project and not PROJECT_NAME.fullmatch(self.project):
            raise ValueError("not a project name")
        self.since = page_read_at(query)
        return [events_key(host)]

    def _relevant(self, ev: dict[str, Any]) -> bool:
        if event_time(ev) < self.since:
            return False
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        kind = ev.get("Type")
        if kind == "container":
            # A compose container, or a stack's task container (swarm copies the label).
            label = attrs.get(PROJECT_LABEL) or attrs.get(STACK_LABEL)
            return bool(label) and (not self.project or label == self.project)
        if kind in ("network", "volume", "service"):
            # Their events carry no labels: compose and stack deploy name them
            # <project>_<name>.
            name = attrs.get("name") or (ev.get("Actor") or {}).get("ID") or ""
            return not self.project or name.startswith(f"{self.project}_")
        return False

    def _resync_html(self) -> str:
        if self.project:
            url = reverse("project-detail", args=[self.host.name, self.project])
            target = f"project-{self.project}-body"
        else:
            url, target = reverse("project-list", args=[self.host.name]), "project-rows"
        context = {"id": "project-resync", "url": url, "target": target}
        return render_to_string("_resync.html", context)

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        parts = []
        status = message.get("status")
        events = message.get("events") or []
        if any(self._relevant(ev) for ev in events) or (status and status.get("resync")):
            parts.append(self._resync_html())
        if status:
            parts.append(render_to_string("_live_status.html", {"status": status, "oob": True}))
        if parts:
            await self.send(text_data="".join(parts))
