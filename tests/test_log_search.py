"""Log search on the lab engines, without a database: the page validates, its socket reads
each container's log in the range and streams the hits grouped by container; the range is
kept to, a cancel stops the engine reads, parallel reads per host are capped, a container
whose log cannot be read says so, and bad input is refused beside its field."""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.streams.keys import LOG_SEARCH, parse_stream_key
from dashboard.streams.merge import sort_key

from .support.clients import ORIGIN
from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def ws_url(page: Any) -> str:
    assert page.status_code == 200, page.content.decode()[-2000:]
    m = re.search(r'data-ws="([^"]+)"', page.content.decode())
    assert m, "the page has a search socket"
    return html.unescape(m.group(1))


async def run_search(path: str, cookie: Any, until: Any = None, timeout: float = 30) -> dict:
    """Every message of a search until it is done (or `until(state)` holds): hits per
    container name, each group's last heading, the total and how it ended."""
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie])
    assert (await comm.connect())[0]
    state: dict[str, Any] = {"hits": {}, "heads": {}, "total": 0, "done": None, "comm": comm}
    deadline = time.monotonic() + timeout
    while state["done"] is None and not (until and until(state)):
        msg = json.loads(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
        for g in msg.get("groups", []):
            name = re.search(r"<a [^>]*>([^<]*)</a>", g["head"]).group(1)
            state["heads"][name] = g["head"]
            texts = re.findall(r'<div class="l [^"]*"><time>[^<]*</time>(.*?)</div>', g["lines"])
            state["hits"].setdefault(name, []).extend(texts)
        state["total"] = msg.get("total", state["total"])
        state["done"] = msg.get("done") or (msg.get("status") if "status" in msg else None)
    if state["done"] is not None:
        await comm.disconnect()
    return state


def _name(c: dict) -> str:
    return c["Name"].lstrip("/")


def _wait_for_line(engine: Any, cid: str, text: str) -> str:
    """The timestamp of the container's first line `text` (once it is in its log)."""
    deadline = time.monotonic() + 20
    while True:
        for line in engine.containers.logs(cid, timestamps=True).lines():
            if line.text == text:
                return line.timestamp
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.1)


def _local(seconds: float) -> str:
    """Unix seconds as the page's datetime-local field sends them (the server's zone: UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


async def test_a_search_finds_lines_in_its_range_and_not_outside(
    lab_settings, viewer, session_cookie, hub, engine, make_container
):
    c = await sync_to_async(make_container)(
        ["sh", "-c", "echo needle early; echo hay; sleep 2.2; echo needle late; sleep 300"]
    )
    other = await sync_to_async(make_container)(["sh", "-c", "echo hay only; sleep 300"])
    early = await sync_to_async(_wait_for_line)(engine, c["Id"], "needle early")
    await sync_to_async(_wait_for_line)(engine, c["Id"], "needle late")
    # A moment between the two lines, whatever the engine's precision (Podman: seconds).
    middle = sort_key(early)[0] + 1.0
    ids = f"{c['Id']},{other['Id']}"

    async def search(**params: str) -> dict:
        page = await sync_to_async(viewer.get)(
            "/hosts/local/logs/search/", {"ids": ids, "q": "NEEDLE", **params}
        )
        return await run_search(ws_url(page), session_cookie)

    whole = await search(range="15m")
    assert whole["hits"][_name(c)] == ["needle early", "needle late"]
    assert whole["hits"].get(_name(other), []) == [] and whole["total"] == 2
    assert 'data-count="0"' in whole["heads"][_name(other)]
    assert whole["done"]["state"] == "done"
    late = await search(range="custom", since=_local(middle), until=_local(time.time() + 60))
    assert late["hits"][_name(c)] == ["needle late"]
    before = await search(range="custom", since=_local(middle - 600), until=_local(middle))
    assert before["hits"][_name(c)] == ["needle early"]
    regex = await search(range="15m", regex="1", q=r"^needle\s+l")
    assert regex["hits"][_name(c)] == ["needle late"]


async def test_a_cancel_stops_the_engine_reads_and_reads_per_host_are_capped(
    lab_settings, viewer, session_cookie, hub, engine, make_container
):
    made = [await sync_to_async(make_container)(["seq", "1", "60000"]) for _ in range(5)]
    deadline = time.monotonic() + 30
    for c in made:
        # Exited: its whole log is written (reading it to check would cost as much).
        while (await sync_to_async(engine.containers.inspect)(c["Id"]))["State"]["Running"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    page = await sync_to_async(viewer.get)(
        "/hosts/local/logs/search/",
        {"ids": ",".join(c["Id"] for c in made), "q": "no such text", "range": "15m"},
    )
    state = await run_search(ws_url(page), session_cookie, until=lambda s: s["heads"])
    (key,) = [k for k in hub.upstreams if parse_stream_key(k).kind == LOG_SEARCH]
    source = hub.upstreams[key].source
    await state["comm"].send_to(text_data="cancel")
    reply = json.loads(await state["comm"].receive_from(timeout=5))
    assert reply["done"]["state"] == "cancelled"
    assert await sync_to_async(source.finished.wait)(10), "every read ended"
    assert source.reads_active == 0
    assert source.reads_started < len(made), "no read started after the cancel"
    assert source.reads_peak["local"] <= 4, "at most 4 reads at once on one host"
    await state["comm"].disconnect()


async def test_a_container_whose_log_driver_keeps_nothing_says_so(
    lab_settings, viewer, session_cookie, hub, make_container
):
    c = await sync_to_async(make_container)(
        ["sh", "-c", "echo lost; sleep 300"], HostConfig={"LogConfig": {"Type": "none"}}
    )
    page = await sync_to_async(viewer.get)(
        "/hosts/local/logs/search/", {"ids": c["Id"], "q": "lost", "range": "15m"}
    )
    state = await run_search(ws_url(page), session_cookie)
    head = state["heads"][_name(c)]
    assert 'data-state="unreadable"' in head and "logging driver" in head


async def test_a_catastrophic_regex_is_stopped_with_a_message(
    lab_settings, viewer, session_cookie, hub, make_container
):
    c = await sync_to_async(make_container)(["sh", "-c", f"echo {'a' * 40}b; sleep 300"])
    await asyncio.sleep(0.5)
    page = await sync_to_async(viewer.get)(
        "/hosts/local/logs/search/",
        {"ids": c["Id"], "q": "(a|aa)+$", "regex": "1", "range": "15m"},
    )
    started = time.monotonic()
    state = await run_search(ws_url(page), session_cookie)
    assert state["done"]["state"] == "error"
    assert "catastrophic" in state["done"]["text"]
    assert time.monotonic() - started < 10


async def test_a_pattern_matching_every_line_stops_at_the_hit_cap(
    lab_settings, viewer, session_cookie, hub, engine, make_container
):
    c = await sync_to_async(make_container)(["seq", "1", "1500"])
    await sync_to_async(_wait_for_line)(engine, c["Id"], "1500")
    page = await sync_to_async(viewer.get)(
        "/hosts/local/logs/search/", {"ids": c["Id"], "q": ".", "regex": "1", "range": "15m"}
    )
    state = await run_search(ws_url(page), session_cookie)
    assert state["done"]["state"] == "error"
    assert "Stopped at 1000 hits" in state["done"]["text"]
    assert 900 <= state["total"] <= 1000


def test_bad_input_is_refused_beside_its_field_and_reads_nothing(
    lab_settings, viewer, make_container
):
    c = make_container()
    base = {"ids": c["Id"]}
    r = viewer.get("/hosts/local/logs/search/", {**base, "q": "(unclosed", "regex": "1"})
    assert r.status_code == 400
    body = r.content.decode()
    assert 'id="q-msg"' in body and "not a valid regular expression" in body
    assert "data-ws=" not in body
    r = viewer.get(
        "/hosts/local/logs/search/",
        {
            **base,
            "q": "x",
            "range": "custom",
            "since": "2024-05-02T10:00",
            "until": "2024-05-01T10:00",
        },
    )
    assert r.status_code == 400
    assert 'id="until-msg"' in r.content.decode() and "before its end" in r.content.decode()
    too_many = ",".join(secrets.token_hex(32) for _ in range(10_000))
    r = viewer.get("/hosts/local/logs/search/", {"ids": too_many, "q": "x"})
    assert r.status_code == 400 and "10000 containers ticked" in r.content.decode()
    r = viewer.get("/hosts/local/logs/search/", {"label": f"{TEST_LABEL}={RUN_ID}", "q": ""})
    assert r.status_code == 400 and 'id="q-msg"' in r.content.decode()


def test_a_hit_opens_the_containers_log_at_that_moment_with_lines_around(
    lab_settings, viewer, engine, make_container
):
    c = make_container(["sh", "-c", "seq 1 100; echo the-moment; seq 101 200; sleep 300"])
    _wait_for_line(engine, c["Id"], "200")
    at = _wait_for_line(engine, c["Id"], "the-moment")
    r = viewer.get(f"/hosts/local/containers/{c['Id']}/logs/at/", {"t": at})
    assert r.status_code == 200
    texts = re.findall(r"</time>([^<]*)</div>", r.content.decode())
    hit = re.search(
        r'id="log-at-hit"><div class="l [^"]*"><time>[^<]*</time>([^<]*)<', r.content.decode()
    )
    if engine.lab_kind == "podman":
        # Stamped to the second: the moment is that second's first line.
        assert hit and len(texts) <= 41
    else:
        assert hit and hit.group(1) == "the-moment"
        assert texts == [*map(str, range(81, 101)), "the-moment", *map(str, range(101, 121))]
    r = viewer.get(f"/hosts/local/containers/{c['Id']}/logs/at/", {"t": "yesterday"})
    assert r.status_code == 400
