"""The containers list's "errors in the last hour" column: lines of each shown container's
log within the last hour matching the configured error pattern (DASHBOARD_LOG_ERROR_PATTERN).

Counting reads the whole hour of a log, so it is done only when the column is on and only for
the rows of the page shown, and each count is kept a short while (per container and pattern):
paging back, a filter change or a live row re-render within that time reads nothing. One
counting batch runs per host at a time, with at most PER_HOST_READS reads in it, so that
several pages opened at once cannot put more reads on an engine than a search does; a batch
that waited looks in the cache again before reading.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from engine_client.log_search import compile_matcher, count_matches

from .streams.log_search import PER_HOST_READS

HOUR = 3600.0

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _host_lock(host: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(host, threading.Lock())


def _keys(host: str, ids: list[str]) -> dict[str, str]:
    # The pattern is in the key: a changed setting never shows counts of the old one.
    tag = hashlib.sha1(settings.LOG_ERROR_PATTERN.encode()).hexdigest()[:12]
    return {cid: f"errors1h:{host}:{cid}:{tag}" for cid in ids}


def cached(host: str, ids: list[str]) -> dict[str, int | str]:
    """The counts still kept for `ids` (a number, or the engine's reason it could not be
    read); ids without one are left out. Never reads a log."""
    keys = _keys(host, ids)
    by_key = {key: cid for cid, key in keys.items()}
    return {by_key[key]: n for key, n in cache.get_many(list(keys.values())).items()}


def counts(host: str, client: Any, ids: list[str]) -> dict[str, int | str]:
    """Every id's count: the kept ones, the others read from the engine now."""
    found = cached(host, ids)
    if len(found) == len(set(ids)):
        return found
    with _host_lock(host):
        found = cached(host, ids)
        missing = [cid for cid in dict.fromkeys(ids) if cid not in found]
        if missing:
            now = time.time()
            matcher = compile_matcher(settings.LOG_ERROR_PATTERN, True)
            fresh = count_matches(
                client, missing, matcher, since=now - HOUR, until=now, parallel=PER_HOST_READS
            )
            keys = _keys(host, missing)
            cache.set_many(
                {keys[cid]: n for cid, n in fresh.items()}, settings.LOG_ERROR_CACHE_SECONDS
            )
            found.update(fresh)
    return found


def annotate(rows: list[dict[str, Any]], found: dict[str, int | str]) -> None:
    """Give each row (presenters.container_row) its `errors` cell: a count, a reason, or
    None when it has none yet (the cell then asks for it)."""
    for row in rows:
        n = found.get(row["id"])
        if n is None:
            row["errors"] = None
        elif isinstance(n, int):
            row["errors"] = {"count": n, "error": "", "pattern": settings.LOG_ERROR_PATTERN}
        else:
            row["errors"] = {"count": None, "error": n}
