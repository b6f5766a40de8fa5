"""Merged live logs: several containers (a selection, a compose project), on one host or
several, in one view.

Each container is followed through the hub by the same key as its own log page, so a
container in two merged views and on its own page is read once. Lines are put in time order
within a batch window and tagged with their container (and host) by `streams.merge`. A
selection that can grow (a project, a label, a whole host) listens to each host's events
stream: a container that starts and matches joins the view.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from engine_client import EngineClient
from engine_client.validators import CONTAINER_REF, PROJECT_NAME

from ..access import may_use_host
from ..engines import HOST_NAME_RE, Host, client_for, configured_hosts
from ..forms.logs import SelectionForm
from ..log_selection import SELECTION_MAX, Selection, container_name
from ..streams import keys
from ..streams.hub import Source, get_hub
from ..streams.merge import LogMerger, parse_message, tag_html
from ..streams.sources import container_logs
from ..streams.swarm_sources import service_logs
from .base import NOT_ALLOWED, NOT_FOUND, StreamConsumer
from .live import events_key, parse_tail

# A followed container as the page names it: host:id:name.
_FOLLOWED = re.compile(rf"({HOST_NAME_RE}):([0-9a-f]{{64}}):({CONTAINER_REF.pattern})")


def _other_hosts(user: Any, names: list[str]) -> dict[str, Host] | int:
    """The hosts a selection spans beside the URL's, or the close code (in a thread)."""
    hosts = configured_hosts()
    out = {}
    for name in names:
        if name not in hosts:
            return NOT_FOUND
        if not may_use_host(user, name):
            return NOT_ALLOWED
        out[name] = hosts[name]
    return out


def followed_items(text: str, hosts: dict[str, Host]) -> list[tuple[str, str, str]]:
    """The page's list of containers, `host:id:name,...`: (host, id, name) each, on `hosts`."""
    items = [i for i in text.split(",") if i]
    if len(items) > SELECTION_MAX:
        raise ValueError(f"at most {SELECTION_MAX} containers")
    out = []
    for item in items:
        m = _FOLLOWED.fullmatch(item)
        if m is None or m.group(1) not in hosts:
            raise ValueError("containers are named as host:id:name, on the selection's hosts")
        out.append((m.group(1), m.group(2), m.group(3)))
    return out


class MergedLogsConsumer(StreamConsumer):
    """The merged view of a selection: `f` names what the page found (host:id:name), the
    selection's own parameters say which containers may join later."""

    async def admit_more(self, host: Host, query: dict[str, str]) -> int | None:
        """The selection's other hosts, each one the user may use."""
        self.hosts: dict[str, Host] = {host.name: host}
        extra = [n for n in re.split(r"[\s,]+", query.get("hosts", "")) if n and n != host.name]
        if extra:
            others = await database_sync_to_async(_other_hosts)(self.scope.get("user"), extra)
            if isinstance(others, int):
                return others
            self.hosts.update(others)
        return None

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        self.tail = parse_tail(query.get("tail"))
        self.merger = LogMerger()
        self.sources: dict[str, tuple[str, str | None]] = {}  # key -> (source id, tag)
        self.followed: set[tuple[str, str]] = set()
        self.events: dict[str, str] = {}  # events key -> host name
        self._flush: asyncio.TimerHandle | None = None
        self.selection = self.read_selection(query)
        out = self.followed_streams(query)
        # The first lines wait (at most FIRST_HOLD s) for every followed log's backlog: each
        # comes in a message of its own, and only together can they be put in order.
        self.awaiting = {key for key, _ in out}
        self._hold_until = asyncio.get_running_loop().time() + FIRST_HOLD
        if self.selection is not None and self.selection.dynamic:
            for name, h in self.hosts.items():
                key, factory = events_key(h)
                self.events[key] = name
                out.append((key, factory))
        return out

    # -- what is followed ------------------------------------------------------------------

    def read_selection(self, query: dict[str, str]) -> Selection | None:
        form = SelectionForm(query)
        if not form.is_valid():
            errors = [str(e) for field in form.errors.values() for e in field]
            raise ValueError("; ".join(errors))
        return form.selection()

    def followed_streams(self, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        return [
            self.follow(h, cid, name)
            for h, cid, name in followed_items(query.get("f", ""), self.hosts)
        ]

    tag_kind = ""

    def label_of(self, host: str, name: str) -> str:
        return f"{name}@{host}" if len(self.hosts) > 1 else name

    def follow(self, host: str, cid: str, label: str) -> tuple[str, Callable[[], Source]]:
        """The container's followed log, by the key its own log page uses."""
        key = keys.stream_key(host, keys.LOGS, cid, self.tail, "")
        source_id = f"{host}/{cid[:12]}"
        self.sources[key] = (
            source_id,
            tag_html(source_id, self.label_of(host, label), self.tag_kind),
        )
        self.followed.add((host, cid))
        return key, _logs_factory(client_for(self.hosts[host]), cid, self.tail)

    # -- what arrives ----------------------------------------------------------------------

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        if key in self.events:
            await self.join_started(self.events[key], message.get("rows") or {})
            return
        if "text" not in message or key not in self.sources:
            return
        source_id, tag = self.sources[key]
        self.merger.feed(source_id, tag, message["text"])
        if key in self.awaiting and backlog_in(message["text"], tag):
            self.awaiting.discard(key)
            if not self.awaiting and self._flush is not None:
                self._flush.cancel()  # the last backlog is in: no need to wait longer
                self._flush = None
        self.schedule_flush()

    async def join_started(self, host: str, rows: dict[str, Any]) -> None:
        """Containers of the selection that started since the page was read join it."""
        for cid, row in rows.items():
            if row is None or row.get("State") != "running" or (host, cid) in self.followed:
                continue
            if self.selection is None or not self.selection.matches(row):
                continue
            if len(self.followed) >= SELECTION_MAX:
                return
            key, factory = self.follow(host, cid, container_name(row))
            self.merger.notice(self.sources[key][1] or "", "Started: joins the view.")
            _, replay, seq = await get_hub().join(key, self.channel_name, factory)
            self.joined[key] = seq
            for message in replay:
                await self.forward(key, message)
        self.schedule_flush()

    def schedule_flush(self) -> None:
        if self._flush is None and self.merger.due:
            delay = getattr(settings, "STREAM_BATCH_SECONDS", 0.03)
            loop = asyncio.get_running_loop()
            if self.awaiting:
                delay = max(delay, self._hold_until - loop.time())
            self._flush = loop.call_later(delay, lambda: loop.create_task(self.flush()))

    async def flush(self) -> None:
        self._flush = None
        message = self.merger.drain()
        if message is not None:
            await self.send(text_data=json.dumps(message))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_flush", None) is not None:
            self._flush.cancel()  # type: ignore[union-attr]
            self._flush = None
        await super().disconnect(code)


def _logs_factory(client: EngineClient, cid: str, tail: int | str) -> Callable[[], Source]:
    return lambda: container_logs(client, cid, tail=tail, since=None)


def backlog_in(text: str, tag: str | None) -> bool:
    """Whether a followed log's message brings its backlog: lines, or a state that says
    none come (a log first says it follows, then sends what it has)."""
    lines, status = parse_message(text, tag)
    return bool(lines) or bool(status and status.get("state") != "live")


# How long a merged view's first lines may wait for the other followed logs' backlogs.
FIRST_HOLD = 1.0

# What a project's merged log follows: containers as the page named them, id:service.
_PROJECT_CONTAINER = re.compile(r"([0-9a-f]{64}):([a-zA-Z0-9][a-zA-Z0-9_.-]{0,127})")
_PROJECT_SERVICE = re.compile(r"([a-z0-9]{25}):([a-zA-Z0-9][a-zA-Z0-9_.-]{0,127})")


class ProjectLogsConsumer(MergedLogsConsumer):
    """A project's merged log: its containers (tagged with their service) followed by the
    keys of their own log pages, in time order; containers of the project that start later
    join. A swarm stack's services are followed as the engine merges their tasks (each line
    tagged with its task and node by the service's source). The page names what to follow:
    a viewer may read any container's log on the host anyway, so the list is checked for
    form, not for rights."""

    def read_selection(self, query: dict[str, str]) -> Selection | None:
        project = self.scope["url_route"]["kwargs"]["project"]
        if not PROJECT_NAME.fullmatch(project):
            raise ValueError("not a project name")
        # A stack's task containers come and go with its services' own logs.
        return None if query.get("s") else Selection(project=project)

    tag_kind = "svc"

    def label_of(self, host: str, name: str) -> str:
        return name

    def followed_streams(self, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        items = [i for i in (query.get("c") or "").split(",") if i]
        if len(items) > SELECTION_MAX:
            raise ValueError(f"at most {SELECTION_MAX} containers")
        out = []
        for item in items:
            m = _PROJECT_CONTAINER.fullmatch(item)
            if m is None:
                raise ValueError("containers are named as id:service")
            out.append(self.follow(self.host.name, m.group(1), m.group(2)))
        services = [i for i in (query.get("s") or "").split(",") if i]
        if len(services) > SELECTION_MAX:
            raise ValueError(f"at most {SELECTION_MAX} services")
        for item in services:
            m = _PROJECT_SERVICE.fullmatch(item)
            if m is None:
                raise ValueError("services are named as id:service")
            sid, service = m.groups()
            key = keys.stream_key(self.host, keys.SERVICE_LOGS, sid, self.tail, service)
            self.sources[key] = (f"service/{sid}", None)
            out.append((key, _service_logs_factory(self.client, sid, self.tail, service)))
        return out

    async def join_started(self, host: str, rows: dict[str, Any]) -> None:
        # The tag of a project's container is its service (the label compose sets).
        named = {
            cid: (
                {**row, "Names": ["/" + (row.get("Labels") or {}).get(SERVICE_LABEL, "")]}
                if row
                else row
            )
            for cid, row in rows.items()
        }
        await super().join_started(host, named)


SERVICE_LABEL = "com.docker.compose.service"


def _service_logs_factory(
    client: EngineClient, sid: str, tail: int | str, service: str
) -> Callable[[], Source]:
    return lambda: service_logs(client, sid, tail=tail, service=service)
