"""An update of a selection of containers: each one's pull progress and phase as they come
(dashboard/update_jobs.py, streams/update_run.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..access import OPERATOR
from ..engines import Host
from ..streams import keys
from ..streams.hub import Source
from .base import StreamConsumer


class UpdateRunConsumer(StreamConsumer):
    """Updating is an operator's; the job is the one the view issued this same person a
    ticket for, so a socket cannot start an update no view allowed."""

    role = OPERATOR

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        from .. import update_jobs

        user = self.scope.get("user")
        job = update_jobs.read_ticket(query.get("t"), host.name, getattr(user, "pk", None))
        client = self.client
        key = keys.stream_key(host, keys.UPDATE_RUN, job.job)
        return [(key, lambda: update_jobs.source_for(job, client))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["html"])
