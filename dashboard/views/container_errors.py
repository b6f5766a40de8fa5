"""The containers list's "errors in the last hour": lines matching the configured error
pattern in each running container's log of the last hour, counted on demand (a button,
never on every list render: it reads every log) and kept briefly."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from engine_client.log_search import compile_matcher, count_matches

from ..access import VIEWER, require_role
from ..log_selection import SELECTION_MAX, container_name
from ..web import host_client

HOUR = 3600


@require_GET
@require_role(VIEWER)
def container_errors(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    pattern = settings.LOG_ERROR_PATTERN
    rows = sorted(client.containers.list(), key=lambda r: container_name(r))[:SELECTION_MAX]
    tag = hashlib.sha1(pattern.encode()).hexdigest()[:12]
    keys = {r["Id"]: f"errors1h:{h.name}:{r['Id']}:{tag}" for r in rows}
    by_key = {key: cid for cid, key in keys.items()}
    cached = cache.get_many(list(keys.values()))
    counts: dict[str, int | str] = {by_key[key]: n for key, n in cached.items()}
    missing = [cid for cid in keys if cid not in counts]
    if missing:
        now = time.time()
        fresh = count_matches(
            client, missing, compile_matcher(pattern, True), since=now - HOUR, until=now
        )
        cache.set_many({keys[cid]: n for cid, n in fresh.items()}, settings.LOG_ERROR_CACHE_SECONDS)
        counts.update(fresh)
    shown = []
    for r in rows:
        n = counts.get(r["Id"], "")
        count, error = (n, "") if isinstance(n, int) else (None, n)
        shown.append({"id": r["Id"], "name": container_name(r), "count": count, "error": error})
    # The noisiest first; those that could not be read last.
    shown.sort(key=lambda s: -1 if s["count"] is None else -s["count"])
    context = {"host": h, "rows": shown, "pattern": pattern}
    return render(request, "containers/_errors.html", context)
