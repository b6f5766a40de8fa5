"""A container's logs: the live page (its websocket streams them) and the whole log as a
download, streamed from the engine."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import presenters
from ..access import VIEWER, require_role
from ..streams.threads import iterate_in_thread
from ..web import host_client

TAIL_CHOICES = ["100", "500", "1000", "5000", "all"]
SINCE_CHOICES = [("", "the start"), ("10m", "10 minutes"), ("1h", "1 hour"), ("24h", "24 hours")]


@require_GET
@require_role(VIEWER)
def container_logs(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    tail = request.GET.get("tail", "100")
    tail = tail if tail in TAIL_CHOICES else "100"
    since = request.GET.get("since", "")
    since = since if since in dict(SINCE_CHOICES) else ""
    query = urlencode({"tail": tail, "since": since})
    context = {
        "host": h,
        "c": c,
        "tail": tail,
        "since": since,
        "tail_choices": TAIL_CHOICES,
        "since_choices": SINCE_CHOICES,
        "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/logs/?{query}",
        "max_lines": 5000,
    }
    return render(request, "containers/logs.html", context)


@require_GET
@require_role(VIEWER)
def container_logs_download(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The whole log as text, streamed from the engine (never held in memory)."""
    h, client = host_client(request, host)
    timestamps = request.GET.get("timestamps") == "1"
    stream = client.containers.logs(container_id, follow=False, timestamps=timestamps)

    def lines():  # runs in a thread of its own (iterate_in_thread)
        for batch in stream.batches():
            out = []
            for line in batch:
                prefix = f"{line.timestamp} " if line.timestamp else ""
                out.append(f"{prefix}{line.text}\n")
            yield "".join(out).encode()

    async def body() -> AsyncIterator[bytes]:
        with contextlib.closing(stream):
            async for chunk in iterate_in_thread(lines()):
                yield chunk

    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    name = f"{h.name}-{container_id[:12]}.log"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
