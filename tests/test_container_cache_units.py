"""The container cache's rules with no engine: the Status text aged as the engine words it,
events derived when they came without a row, and when the cache says it cannot be trusted.
The engine's behaviour is tests/test_container_cache.py's."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dashboard.container_cache import (
    RETRY_SECONDS,
    HostCache,
    aged_status,
    human_duration,
    parse_status,
    select,
)
from engine_client import EngineUnreachable


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (61, "About a minute"),
        (150, "2 minutes"),
        (3600, "About an hour"),
        (5 * 3600, "5 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_durations_are_worded_as_the_engine_words_them(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_a_status_read_earlier_is_aged_to_now() -> None:
    parsed = parse_status("Up 5 seconds (healthy)")
    assert parsed == ("Up", 5.0, " (healthy)")
    assert aged_status(parsed, read_at=100.0, now=200.0) == "Up About a minute (healthy)"
    exited = parse_status("Exited (137) 2 minutes ago")
    assert exited is not None
    assert aged_status(exited, 0.0, 3600.0) == "Exited (137) About an hour ago"
    assert parse_status("Created") is None


class _Client:
    """A stand-in engine client for the cache's worker: a list it answers, or a failure."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.fail = False
        self.asked: list[Any] = []
        self.containers = self

    def list(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        self.asked.append(filters)
        if self.fail:
            raise EngineUnreachable("gone", url="unix:///nowhere")
        ids = (filters or {}).get("id")
        return [r for r in self.rows if not ids or r["Id"] in ids]


def _row(cid: str, state: str = "running", status: str = "Up 5 seconds", **more: Any) -> dict:
    return {"Id": cid, "Names": [f"/{cid}"], "State": state, "Status": status, **more}


def _ev(cid: str, action: str, **attrs: str) -> dict[str, Any]:
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": cid, "Attributes": attrs},
        "time": int(time.time()),
    }


def _settled(cache: HostCache) -> None:
    cache.inbox.join()


@pytest.fixture
def live_cache() -> Any:
    client = _Client([_row("a"), _row("b", "exited", "Exited (0) 3 minutes ago")])
    cache = HostCache("t", lambda: client)  # type: ignore[arg-type,return-value]
    cache.settle_seconds = 60.0  # the read once more after events: its own test
    cache.feed({"status": {"state": "live"}, "at": time.time()})
    _settled(cache)
    yield cache, client
    cache.stop()


def test_it_is_not_trusted_until_read_and_live(live_cache: Any) -> None:
    cache, _ = live_cache
    assert {r["Id"] for r in cache.rows()} == {"a", "b"}
    cache.feed({"status": {"state": "reconnecting", "text": "x"}, "at": time.time()})
    _settled(cache)
    assert cache.rows() is None


def test_rows_that_came_with_events_replace_the_cached_ones(live_cache: Any) -> None:
    cache, client = live_cache
    time.sleep(0.6)  # past the grace after the full read
    cache.feed(
        {
            "events": [_ev("a", "die", exitCode="1"), _ev("b", "destroy")],
            "rows": {"a": _row("a", "exited", "Exited (1) 1 second ago"), "b": None},
            "at": time.time(),
        }
    )
    _settled(cache)
    rows = {r["Id"]: r for r in cache.rows()}
    assert set(rows) == {"a"} and rows["a"]["State"] == "exited"
    assert client.asked == [None]  # only the first full read: nothing re-read


def test_events_without_rows_are_derived_or_read_again(live_cache: Any) -> None:
    cache, client = live_cache
    time.sleep(0.6)
    client.rows.append(_row("new", "created", "Created"))
    cache.feed(
        {
            "events": [
                _ev("a", "pause"),
                _ev("b", "rename", name="bee"),
                _ev("a", "health_status: unhealthy"),
                _ev("new", "create"),
            ],
            "rows": {},
            "at": time.time(),
        }
    )
    _settled(cache)
    rows = {r["Id"]: r for r in cache.rows()}
    assert rows["a"]["State"] == "paused"
    assert "(unhealthy)" in rows["a"]["Status"] and "(Paused)" in rows["a"]["Status"]
    assert rows["b"]["Names"] == ["/bee"]
    assert rows["new"]["State"] == "created"
    assert client.asked[1:] == [{"id": ["new"]}]  # only what could not be derived


def test_a_changed_container_is_read_once_more_after_its_last_event(live_cache: Any) -> None:
    cache, client = live_cache
    time.sleep(0.6)
    cache.settle_seconds = 0.1
    # The row read with the event can predate it (the engine writes its list a moment later).
    stale = _row("a", "running", "Up 5 seconds")
    client.rows[0] = _row("a", "paused", "Up 5 seconds (Paused)")
    cache.feed({"events": [_ev("a", "pause")], "rows": {"a": stale}, "at": time.time()})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(client.asked) < 2:
        time.sleep(0.02)
    cache.inbox.join()
    time.sleep(0.05)
    assert client.asked[1:] == [{"id": ["a"]}]
    assert {r["Id"]: r for r in cache.rows()}["a"]["State"] == "paused"


def test_a_failed_read_again_makes_it_untrusted_until_a_full_read(live_cache: Any) -> None:
    cache, client = live_cache
    time.sleep(0.6)
    client.fail = True
    cache.feed({"events": [_ev("zz", "create")], "rows": {}, "at": time.time()})
    _settled(cache)
    assert cache.rows() is None
    client.fail = False
    cache.refresh()
    _settled(cache)
    assert cache.rows() is not None


def test_a_failed_full_read_is_tried_again_after_a_pause_not_at_once(live_cache: Any) -> None:
    # Seen on Podman as its service stopped: a read failed while the events stream still
    # said live, with a container due to be read once more; the worker then tried the full
    # read hundreds of times a second until the stream noticed.
    cache, client = live_cache
    time.sleep(0.6)
    cache.settle_seconds = 0.2  # due to be read once more after the failure
    client.fail = True
    cache.feed({"events": [_ev("zz", "create")], "rows": {}, "at": time.time()})
    _settled(cache)
    asked = len(client.asked)
    time.sleep(0.6)
    assert len(client.asked) - asked <= 1, "full reads tried again at once"
    client.fail = False
    deadline = time.monotonic() + 2 * RETRY_SECONDS + 1
    while cache.rows() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache.rows() is not None, "tried again after the pause, and trusted once read"


def test_select_lists_what_the_engine_would() -> None:
    rows = [
        _row("a"),
        _row("b", "exited"),
        _row("c", "paused", Labels={"com.docker.compose.project": "p"}),
    ]
    assert [r["Id"] for r in select(rows, every=False)] == ["a", "c"]
    assert [r["Id"] for r in select(rows, project="p")] == ["c"]
