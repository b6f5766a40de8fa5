"""A compose run's websocket: its output lines as they come, then its exit status."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from django.template.loader import render_to_string

from ..access import ADMIN
from ..engines import Host
from ..streams import keys
from ..streams.compose_run import RunResult
from ..streams.hub import Source
from .base import StreamConsumer


class ComposeRunConsumer(StreamConsumer):
    """Deploying is an admin's; the run is the one the view issued this same person a ticket
    for (dashboard/compose_runs.py), so a socket cannot start a run no view allowed."""

    role = ADMIN

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        from .. import compose_runs

        project = self.scope["url_route"]["kwargs"]["project"]
        user = self.scope.get("user")
        job = compose_runs.TICKETS.read(
            query.get("t"), host.name, project, getattr(user, "pk", None)
        )
        key = keys.stream_key(host, keys.COMPOSE, job.project, job.job)
        return [(key, lambda: compose_runs.source_for(job))]

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(text_data=message["html"])

    def refusal(self, text: str) -> str:
        """A ticket refused (expired, someone else's): said in the run's own status line,
        which the page names by the job id it also puts in the socket's query."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        job = (query.get("j") or [""])[-1]
        if not re.fullmatch(r"[0-9a-f]{16}", job):
            return super().refusal(text)
        context = {"job": job, "result": RunResult(refused=True, message=text), "oob": True}
        return render_to_string("projects/_run_status.html", context)
