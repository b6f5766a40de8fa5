"""The engine stops while pages and streams are open, then comes back.

A lab engine of this test's own (its own namespace, socket and data root, started with
lab/engine-lab under names no other test uses), never the session's shared engine: the test
stops its dockerd and starts it again. Pages say so within a few seconds and nothing 500s;
when the engine is back, the events feed, the containers list and a log follow recover by
themselves, and the events the engine sent while they reconnected still arrive.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator

import pytest
import requests

from engine_client import EngineClient

from .support.browser import live_dashboard, login
from .support.churn import Churn, settle
from .support.compose import require_docker_cli
from .support.fault_lab import FaultLab, fault_lab_running
from .support.hub_loop import hub_loop_running

pytestmark = [pytest.mark.engine, pytest.mark.fault]


@pytest.fixture
def fault_lab() -> Iterator[FaultLab]:
    with fault_lab_running() as lab:
        yield lab


async def _collect(ws, into: list[str]) -> None:
    async for message in ws:
        into.append(message)


async def _wait_for(into: list[str], needle: str, timeout: float, start: int = 0) -> float:
    """Seconds until a message (from index `start` on) contains `needle`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(needle in m for m in into[start:]):
            return time.monotonic() - t0
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message with {needle!r} in {timeout}s; last: {into[-3:]!r}")


def _ws(live, session: requests.Session, path: str):
    from websockets.asyncio.client import connect

    return connect(
        "ws://" + live.url.split("://", 1)[1] + path,
        origin=live.url,
        additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
        ping_interval=None,
        max_size=None,
    )


def test_pages_and_streams_ride_out_an_engine_restart(fault_lab: FaultLab) -> None:
    engine = EngineClient(fault_lab.url, timeout=30)
    c = engine.containers.create(
        {
            "Image": "lab/busybox:latest",
            "Cmd": ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.2; done"],
            # The engine starts it again when it comes back.
            "HostConfig": {"RestartPolicy": {"Name": "always"}},
            "StopTimeout": 1,
        },
        name="restarting",
    )
    cid = c["Id"]
    engine.containers.start(cid)
    env = {
        "DASHBOARD_ENGINE_TIMEOUT": "2",
        "DASHBOARD_ENGINE_CONNECT_TIMEOUT": "1",
        "DASHBOARD_STREAM_LINGER_SECONDS": "1",
    }
    # A container cache of this process follows the same engine, while a seeded churn runs
    # before the engine stops and after it is back: then it must equal the engine's list.
    from dashboard import container_cache

    seed = secrets.randbelow(1 << 30)
    print(f"churn seed {seed}")
    churn = Churn(require_docker_cli(), fault_lab.url, seed)
    with hub_loop_running():
        cache = container_cache.follow("restarted", lambda: engine)
        assert cache is not None
        with live_dashboard(fault_lab.url, **env) as live:
            session = login(live)
            list_url = live.url + "/hosts/local/containers/"
            assert session.get(list_url, timeout=10).status_code == 200
            asyncio.run(_ride_out(fault_lab, live, session, engine, cid, churn))
            log = live.log()
        diff = settle(cache.rows, lambda: engine.containers.list(all=True))
        assert not diff, (seed, diff, churn.log)
        assert cache.full_reads >= 2, "read again in full once the stream was back"
    engine.close()
    # Django itself logs every 5xx answer at ERROR ("Service Unavailable"): those 503s are
    # the pages saying the engine is gone. Anything else at ERROR, or a traceback, is not.
    bad = [
        line
        for line in log.splitlines()
        if ("Traceback" in line or "level=ERROR" in line or "level=CRITICAL" in line)
        and 'msg="Service Unavailable:' not in line
    ]
    assert not bad, "\n".join(bad[:10])


async def _ride_out(
    lab: FaultLab, live, session, engine: EngineClient, cid: str, churn: Churn
) -> None:
    events: list[str] = []
    rows: list[str] = []
    logs: list[str] = []
    async with (
        _ws(live, session, "/ws/hosts/local/events/") as ev_ws,
        _ws(live, session, "/ws/hosts/local/containers/live/") as list_ws,
        _ws(live, session, f"/ws/hosts/local/containers/{cid}/logs/?tail=5") as log_ws,
    ):
        tasks = [
            asyncio.create_task(_collect(w, into))
            for w, into in ((ev_ws, events), (list_ws, rows), (log_ws, logs))
        ]
        await _wait_for(events, "● live", 15)
        await _wait_for(logs, "line ", 15)

        await asyncio.to_thread(churn.run, 8)
        # -- the engine stops ------------------------------------------------------------
        marks = (len(events), len(rows), len(logs))
        await asyncio.to_thread(lab.stop_engine)
        stopped_at = time.monotonic()
        said = await _wait_for(events, "Reconnecting", 10, marks[0])
        assert said < 8, "the events feed says the engine is gone within a few seconds"
        await _wait_for(rows, "Reconnecting", 10, marks[1])
        for path in (
            "/hosts/local/containers/",
            f"/hosts/local/containers/{cid}/",
            "/hosts/local/",
        ):
            t0 = time.monotonic()
            resp = await asyncio.to_thread(session.get, live.url + path, timeout=15)
            assert resp.status_code == 503, (path, resp.status_code)
            assert time.monotonic() - t0 < 4, "a page says so within the engine's timeouts"
            assert "cannot reach engine" in resp.text and 'data-retry="5"' in resp.text
        resp = await asyncio.to_thread(session.get, live.url + "/hosts/local/events/", timeout=15)
        assert resp.status_code == 200, "the events page itself needs no engine call"
        assert time.monotonic() - stopped_at < 30

        # -- the engine comes back ------------------------------------------------------
        marks = (len(events), len(rows), len(logs))
        await asyncio.to_thread(lab.start_engine)
        back_at = time.time()
        # The restart policy starts the container as the engine comes up, likely before
        # the feed has reconnected: its start event must still arrive (caught up by since).
        await _wait_for(events, "● live", 20, marks[0])
        await _wait_for(events, "restarting", 20, marks[0])
        start_seen = any('class="action">start<' in m for m in events[marks[0] :])
        assert start_seen, "the container's start while the feed reconnected was not missed"
        # The list re-reads its rows once, and shows the container running again.
        await _wait_for(rows, 'id="resync"', 20, marks[1])
        # The log follow picks up the restarted container's new lines by itself.
        await _wait_for(logs, '"state": "live"', 25, marks[2])
        await _wait_for(logs, "line ", 10, marks[2])
        after = [json.loads(m) for m in logs[marks[2] :]]
        stamps = [t for m in after for t in _times(m.get("lines", ""))]
        assert stamps and _unix(stamps[-1]) >= back_at - 1, "lines of the new run arrive"
        before = [t for m in logs[: marks[2]] for t in _times(json.loads(m).get("lines", ""))]
        assert not set(before) & set(stamps), "no line is sent twice after the reconnect"

        await asyncio.to_thread(churn.run, 8)
        # -- and new changes flow again --------------------------------------------------
        marks = (len(events), len(rows))
        made = await asyncio.to_thread(
            engine.containers.create,
            {"Image": "lab/busybox:latest", "Cmd": ["true"]},
            name="after-restart",
        )
        await _wait_for(events, "after-restart", 15, marks[0])
        await _wait_for(rows, f"container-{made['Id'][:12]}", 15, marks[1])
        resp = await asyncio.to_thread(session.get, live.url + "/hosts/local/containers/")
        assert resp.status_code == 200 and "after-restart" in resp.text
        for t in tasks:
            t.cancel()


def _times(html: str) -> list[str]:
    import re

    return re.findall(r"<time>([^<]+)</time>", html)


def _unix(ts: str) -> float:
    from datetime import datetime

    head, _, frac = ts.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (frac or "0"))
