"""Logs across containers: the merged live view of a selection, and its download.

The page lists what the selection covers now (one list call per host) and hands the
websocket that list; the consumer (consumers/merged_logs.py) follows each container through
the hub and lets later ones join.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import VIEWER, require_role
from ..forms.logs import SelectionForm
from ..log_selection import SELECTION_MAX, container_name, selected_containers, selection_hosts
from ..streams.merge import sort_key
from ..streams.threads import iterate_in_thread
from ..web import host_client

TAIL_CHOICES = ["100", "500", "1000"]


@require_GET
@require_role(VIEWER)
def merged_logs(request: HttpRequest, host: str) -> HttpResponse:
    form = SelectionForm(request.GET or None)
    h, _ = host_client(request, host)
    context: dict[str, Any] = {
        "host": h,
        "form": form,
        "max_lines": 5000,
        "selection_max": SELECTION_MAX,
    }
    if not form.is_valid():
        return render(request, "logs/merged.html", context, status=400 if request.GET else 200)
    selection = form.selection()
    hosts = selection_hosts(request, host, selection)
    followed, total = selected_containers(hosts, selection, running=True)
    tail = request.GET.get("tail", "100")
    tail = tail if tail in TAIL_CHOICES else "100"
    query = {
        **selection.query(),
        "tail": tail,
        "f": ",".join(f"{fh.name}:{row['Id']}:{container_name(row)}" for fh, row in followed),
    }
    context.update(
        {
            "selection": selection,
            "followed": [(fh, container_name(row)) for fh, row in followed],
            "left_out": total - len(followed),
            "tail": tail,
            "tail_choices": TAIL_CHOICES,
            "ws_url": f"/ws/hosts/{h.name}/logs/merged/?{urlencode(query)}",
            "download_query": selection.querystring(),
        }
    )
    return render(request, "logs/merged.html", context)


@require_GET
@require_role(VIEWER)
def merged_logs_download(request: HttpRequest, host: str) -> HttpResponse:
    """The selection's whole logs as one text, in time order, each line with its container:
    the containers' logs read side by side and merged as they are read (never held whole)."""
    form = SelectionForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(str(e) for field in form.errors.values() for e in field)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    selection = form.selection()
    hosts = selection_hosts(request, host, selection)
    followed, _ = selected_containers(hosts, selection, running=False)
    several = len(hosts) > 1
    streams = []
    for fh, row in followed:
        client = {hh.name: c for hh, c in hosts}[fh.name]
        label = f"{container_name(row)}@{fh.name}" if several else container_name(row)
        stream = client.containers.logs(row["Id"], follow=False, timestamps=True)
        streams.append((label, stream))

    def keyed(label: str, stream: Any) -> Iterator[tuple[tuple[int, int], str]]:
        for batch in stream.batches():
            for line in batch:
                key = sort_key(line.timestamp) if line.timestamp else (0, 0)
                yield key, f"{line.timestamp} {label} {line.text}\n"

    def lines() -> Iterator[bytes]:  # runs in a thread of its own (iterate_in_thread)
        merged = heapq.merge(*(keyed(label, s) for label, s in streams), key=lambda kv: kv[0])
        out: list[str] = []
        for _, text in merged:
            out.append(text)
            if len(out) >= 500:
                yield "".join(out).encode()
                out = []
        if out:
            yield "".join(out).encode()

    async def body() -> AsyncIterator[bytes]:
        with contextlib.ExitStack() as stack:
            for _, s in streams:
                stack.enter_context(contextlib.closing(s))
            async for chunk in iterate_in_thread(lines()):
                yield chunk

    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{host}-merged.log"'
    return response
