"""The run pages' websockets: one container run once, its output and its exit code; one run
of the docker CLI for a swarm stack (deploy, remove), its output and its exit status."""

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


class StackRunConsumer(StreamConsumer):
    """A stack deploy or remove: admins only, and only with the ticket the view issued to
    this same person for this host and stack (dashboard/stack_runs.py)."""

    role = ADMIN

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        from .. import stack_runs

        user = self.scope.get("user")
        stack = self.scope["url_route"]["kwargs"]["stack"]
        job = stack_runs.TICKETS.read(query.get("t"), host.name, stack, getattr(user, "pk", None))
        key = keys.stream_key(host, keys.STACK_RUN, job.job)
        return [(key, lambda: stack_runs.source_for(job, host))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])
