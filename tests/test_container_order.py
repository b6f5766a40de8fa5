"""The containers list at thousands of containers, with no engine: the cache makes each
container's sort keys once per change and each order once per change of its rows, and a
page click builds rows (and update verdicts) only for the containers it shows.

The page's behaviour against real engines is tests/test_list_paging.py's and
tests/test_container_cache_pages.py's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import container_cache, container_order, image_updates, presenters
from dashboard.container_cache import HostCache
from dashboard.views.containers import SORT_COLUMNS

PER = 50


class _Client:
    """Answers the cache's list calls from a list (no engine: the fault is not the point)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.containers = self

    def list(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        ids = (filters or {}).get("id")
        return [r for r in self.rows if not ids or r["Id"] in ids]


def _rows(n: int) -> list[dict[str, Any]]:
    states = ["running", "exited", "created", "paused"]
    return [
        {
            "Id": f"{i:064x}",
            # Names differing only in case tie on the name key: the order must still match.
            "Names": [f"/{'C' if i % 7 == 0 else 'c'}-{(i * 37) % n:05d}"],
            "Image": f"img{i % 5}",
            "State": states[i % 4],
            "Status": "Up 5 seconds" if i % 4 == 0 else "Exited (0) 3 minutes ago",
            "Created": 1_700_000_000 + (i * 13) % 97,
            "Labels": {"com.docker.compose.project": f"p{i % 3}"} if i % 2 else {},
        }
        for i in range(n)
    ]


def _filled(rows: list[dict[str, Any]], name: str = "t") -> HostCache:
    cache = HostCache(name, lambda: _Client(rows))  # type: ignore[arg-type,return-value]
    cache.settle_seconds = 60.0
    cache.feed({"status": {"state": "live"}, "at": time.time()})
    cache.inbox.join()
    return cache


@pytest.fixture
def key_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = container_order.row_keys

    def counting(row: dict[str, Any]) -> container_order.RowKeys:
        calls.append(row["Id"])
        return real(row)

    monkeypatch.setattr(container_cache, "row_keys", counting)
    return calls


@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("sort", [key for key, _ in SORT_COLUMNS])
def test_the_cached_order_is_the_order_of_sorting_the_rows(sort: str, desc: bool) -> None:
    cache = _filled(_rows(300))
    try:
        by_entry = container_order.entry_sort_keys()[sort]
        expected = sorted(cache.rows() or [], key=by_entry, reverse=desc)
        got = cache.ordered(sort, desc)
        assert got is not None
        assert [r["Id"] for _, r in got] == [r["Id"] for r in expected]
        assert all(k == container_order.row_keys(r) for k, r in got)
    finally:
        cache.stop()


def test_keys_are_made_once_per_change_and_orders_once_per_version(key_calls: list[str]) -> None:
    rows = _rows(200)
    cache = _filled(rows)
    try:
        assert len(key_calls) == 200  # the full read
        first = cache.ordered("name", False)
        assert cache.ordered("name", False) is first, "sorted again with nothing changed"
        assert len(key_calls) == 200
        # A rename (derived from the event alone) makes that one container's keys again
        # and a new order in which it moved.
        time.sleep(container_cache.FILL_GRACE_SECONDS + 0.1)
        cid = rows[5]["Id"]
        ev = {
            "Type": "container",
            "Action": "rename",
            "Actor": {"ID": cid, "Attributes": {"name": "aaa-first"}},
        }
        cache.feed({"events": [ev], "rows": {}, "at": time.time()})
        cache.inbox.join()
        assert key_calls[200:] == [cid]
        again = cache.ordered("name", False)
        assert again is not first and again is not None
        assert again[0][1]["Id"] == cid and again[0][0].name == "aaa-first"
        # Untrusted (the stream went down): no order at all, as for `rows`.
        cache.feed({"status": {"state": "reconnecting", "text": "x"}, "at": time.time()})
        cache.inbox.join()
        assert cache.ordered("name", False) is None
    finally:
        cache.stop()


@pytest.fixture
def cached_host(settings: Any, db: Any) -> Iterator[HostCache]:
    """Host "local" served from a cache of 1,000 containers; its engine does not exist, so
    any engine call the page made would fail it."""
    from dashboard.engines import reset_clients

    settings.DOCKER_HOST = "unix:///run/no-engine-here.sock"
    settings.DASHBOARD_HOST_NAME = "local"
    reset_clients()
    cache = _filled(_rows(1000), "local")
    container_cache._caches["local"] = cache
    container_cache._loop[:] = [object()]  # type: ignore[list-item]
    yield cache
    container_cache.unbind()
    reset_clients()


def test_a_sort_or_next_page_builds_rows_only_for_the_containers_shown(
    cached_host: HostCache,
    viewer: Any,
    key_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    judged: list[int] = []
    real_row = presenters.container_row
    real_verdicts = image_updates.list_verdicts

    def row(s: dict[str, Any]) -> dict[str, Any]:
        built.append(s["Id"])
        return real_row(s)

    def verdicts(host: str, client: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
        judged.append(len(rows))
        return real_verdicts(host, client, rows)

    monkeypatch.setattr(presenters, "container_row", row)
    monkeypatch.setattr(image_updates, "list_verdicts", verdicts)
    expected = sorted(
        cached_host.rows() or [], key=container_order.entry_sort_keys()["name"], reverse=True
    )
    for query, first in [("sort=name&order=desc", 0), ("sort=name&order=desc&page=2", PER)]:
        built.clear()
        judged.clear()
        resp = viewer.get(f"/hosts/local/containers/?{query}")
        assert resp.status_code == 200
        html = resp.content.decode()
        assert 'id="cache-note"' not in html, "read from the engine, not the cache"
        assert f"of {len(expected)}" in html
        assert built == [r["Id"] for r in expected[first : first + PER]]
        assert judged == [PER], "update verdicts worked out for containers not shown"
        shown = re.findall(r'data-id="([0-9a-f]{64})"', html)
        assert shown == built
    assert key_calls == [], "sort keys made again for a page click"


def test_filters_from_the_cache_match_what_the_engine_would_list(
    cached_host: HostCache, viewer: Any
) -> None:
    rows = cached_host.rows() or []
    html = viewer.get("/hosts/local/containers/?show=running&project=p1&q=C-001&per=500").content
    running = container_cache.select(rows, every=False, project="p1")
    wanted = [r for r in running if "c-001" in presenters.container_name(r["Names"]).lower()]
    wanted.sort(key=container_order.entry_sort_keys()["created"], reverse=True)
    assert 0 < len(wanted) < len(rows)
    shown = re.findall(r'data-id="([0-9a-f]{64})"', html.decode())
    assert shown == [r["Id"] for r in wanted]
    assert f"of {len(wanted)}" in html.decode()
