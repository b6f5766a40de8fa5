"""Log search without a database: the search page (its socket reads and filters the logs,
consumers/log_search.py), and a container's log at one moment, with the lines around it."""

from __future__ import annotations

import contextlib
import secrets
from collections import deque
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from engine_client.streams import LogLine

from .. import presenters
from ..access import VIEWER, require_role
from ..forms.logs import RANGE_CHOICES, SearchForm
from ..log_selection import SELECTION_MAX, container_name, selected_containers, selection_hosts
from ..streams.merge import sort_key
from ..streams.render import render_line
from ..web import host_client

# Lines shown before and after the moment a hit opens, and how far around it is read.
CONTEXT_LINES = 20
CONTEXT_SECONDS = 300


@require_GET
@require_role(VIEWER)
def log_search(request: HttpRequest, host: str) -> HttpResponse:
    h, _ = host_client(request, host)
    form = SearchForm(request.GET if "q" in request.GET else None, initial={"range": "1h"})
    context: dict[str, Any] = {"host": h, "form": form, "range_choices": RANGE_CHOICES}
    if not form.is_bound:
        # The selection the page was opened with stays chosen.
        context["form"] = form = SearchForm(initial={**request.GET.dict(), "range": "1h"})
        return render(request, "logs/search.html", context)
    if not form.is_valid():
        return render(request, "logs/search.html", context, status=400)
    selection = form.selection()
    hosts = selection_hosts(request, host, selection)
    # Stopped containers keep their logs: a search covers them too.
    found, total = selected_containers(hosts, selection, running=False)
    d = form.cleaned_data
    query = {
        **selection.query(),
        "q": d["q"],
        "regex": "1" if d["regex"] else "",
        "from": f"{d['since_ts']:.3f}",
        "to": f"{d['until_ts']:.3f}",
        "sid": secrets.token_hex(8),
        "f": ",".join(f"{fh.name}:{row['Id']}:{container_name(row)}" for fh, row in found),
    }
    context.update(
        {
            "selection": selection,
            "searched": len(found),
            "left_out": total - len(found),
            "selection_max": SELECTION_MAX,
            "ws_url": f"/ws/hosts/{h.name}/logs/search/?{urlencode(query)}",
        }
    )
    return render(request, "logs/search.html", context)


@require_GET
@require_role(VIEWER)
def container_log_at(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The container's log around the moment `t` (an engine timestamp): the lines before
    and after it, the first line of that moment marked."""
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    at = request.GET.get("t", "")
    try:
        key = sort_key(at)
        if key[0] <= 0:
            raise ValueError
    except ValueError:
        return render(
            request, "logs/at.html", {"host": h, "c": c, "error": "not a log timestamp"}, status=400
        )
    seconds = key[0] + key[1] / 1e9
    before: deque[LogLine] = deque(maxlen=CONTEXT_LINES)
    after: list[LogLine] = []
    stream = client.containers.logs(
        container_id,
        since=max(seconds - CONTEXT_SECONDS, 1),
        until=seconds + CONTEXT_SECONDS,
        timestamps=True,
    )
    with contextlib.closing(stream):
        for line in stream.lines():
            if not after and (not line.timestamp or sort_key(line.timestamp) < key):
                before.append(line)
                continue
            after.append(line)
            if len(after) > CONTEXT_LINES:
                break
    lines = [mark_safe(render_line(line)) for line in (*before, *after)]
    context = {"host": h, "c": c, "at": at, "lines": lines, "hit": len(before)}
    return render(request, "logs/at.html", context)
