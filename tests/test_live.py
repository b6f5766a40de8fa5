"""Websockets through the real ASGI app: auth, origin, the hub's sharing and lingering,
logs, events-driven rows, reconnection after a broken engine connection."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.streams.keys import EVENTS, stream_key

from .support.clients import ORIGIN

# Every test here reads the lab engine through the dashboard, quick to sample list stats.
pytestmark = [
    pytest.mark.engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("live_settings"),
]


@pytest.fixture
def live_settings(lab_settings):
    lab_settings.LIST_STATS_INTERVAL = 0.5
    return lab_settings


def ws(path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=list(headers))


async def receive_lines(comm: WebsocketCommunicator, want: int, timeout: float = 20) -> list[str]:
    """Texts of log lines received until `want` of them arrived."""
    import re

    texts: list[str] = []
    deadline = time.monotonic() + timeout
    while len(texts) < want:
        msg = json.loads(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
        for m in re.finditer(
            r'<div class="l [^"]*"><time>[^<]*</time>(.*?)</div>', msg.get("lines", "")
        ):
            texts.append(m.group(1))
    return texts


async def test_anonymous_websockets_are_refused(hub, make_container):
    c = await sync_to_async(make_container)()
    comm = ws(f"/ws/hosts/local/containers/{c['Id']}/logs/", ORIGIN)
    connected, code = await comm.connect()
    assert not connected and code == 4403
    assert hub.upstreams == {}


async def test_cross_origin_websockets_are_refused(hub, session_cookie, make_container):
    c = await sync_to_async(make_container)()
    comm = ws(
        f"/ws/hosts/local/containers/{c['Id']}/logs/",
        (b"origin", b"http://evil.example"),
        session_cookie,
    )
    connected, _ = await comm.connect()
    assert not connected
    assert hub.upstreams == {}


async def test_bad_parameters_are_refused_with_a_reason(hub, session_cookie, make_container):
    c = await sync_to_async(make_container)()
    comm = ws(f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=-5", ORIGIN, session_cookie)
    connected, _ = await comm.connect()
    assert connected
    msg = json.loads(await comm.receive_from())
    assert "tail must be" in msg["status"]["text"]
    assert (await comm.receive_output())["type"] == "websocket.close"
    assert hub.upstreams == {}


async def test_a_second_viewer_shares_the_first_ones_upstream_and_the_last_closes_it(
    hub, session_cookie, make_container
):
    c = await sync_to_async(make_container)(["sh", "-c", "seq 1 20; sleep 300"])
    path = f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=all"
    first = ws(path, ORIGIN, session_cookie)
    assert (await first.connect())[0]
    assert await receive_lines(first, 20) == [str(i) for i in range(1, 21)]
    second = ws(path, ORIGIN, session_cookie)
    assert (await second.connect())[0]
    # The late joiner gets the replay, not a new engine stream.
    assert await receive_lines(second, 20) == [str(i) for i in range(1, 21)]
    assert len(hub.upstreams) == 1
    (up,) = hub.upstreams.values()
    assert up.viewers == 2
    threads = [t for t in threading.enumerate() if t.name.startswith("stream ")]
    assert len(threads) == 1
    await first.disconnect()
    await second.disconnect()
    await asyncio.sleep(0.2)
    assert hub.upstreams, "it lingers a moment after the last viewer leaves"
    await asyncio.sleep(0.6)
    assert hub.upstreams == {}
    threads[0].join(timeout=5)
    assert not threads[0].is_alive(), "the upstream thread ended: its engine connection is closed"
    assert not get_channel_layer().groups, "no group left behind"


async def test_a_page_opened_after_a_stream_closed_still_streams(
    hub, session_cookie, make_container
):
    c = await sync_to_async(make_container)(["sh", "-c", "while true; do echo hi; sleep 0.2; done"])
    path = f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=1"
    first = ws(path, ORIGIN, session_cookie)
    assert (await first.connect())[0]
    await receive_lines(first, 2)
    await first.disconnect()
    await asyncio.sleep(0.8)
    assert hub.upstreams == {}
    again = ws(path, ORIGIN, session_cookie)
    assert (await again.connect())[0]
    assert len(await receive_lines(again, 3)) >= 3
    await again.disconnect()


async def test_a_broken_engine_connection_is_reopened_without_losing_or_repeating_lines(
    hub, session_cookie, make_container, engine
):
    c = await sync_to_async(make_container)(
        ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done"]
    )
    comm = ws(f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=all", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    got = await receive_lines(comm, 10)
    (up,) = hub.upstreams.values()
    broken = up.source.stream
    # Cut the engine connection under the reader, as a dying proxy or daemon would.
    broken._sock.shutdown(socket.SHUT_RDWR)
    got += await receive_lines(comm, 40)
    numbers = [int(x) for x in got]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "no gap, no repeat"
    assert up.source.stream is not broken, "a new engine stream was opened"
    await comm.disconnect()


async def test_a_stopped_and_started_container_updates_its_row_through_events(
    hub, session_cookie, engine, make_container
):
    c = await sync_to_async(make_container)(start=False)
    short = c["Id"][:12]
    comm = ws(f"/ws/hosts/local/containers/live/?since={time.time():.3f}", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    await asyncio.sleep(0.5)  # the events stream is open
    # Changed outside the dashboard, as with the CLI.
    await sync_to_async(engine.containers.start)(c["Id"])
    html = ""
    deadline = time.monotonic() + 15
    while f'id="container-{short}"' not in html or "badge running" not in html:
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    assert 'hx-swap-oob="true"' in html
    await sync_to_async(engine.containers.stop)(c["Id"], timeout=1)
    while "badge exited" not in html:
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    await sync_to_async(engine.containers.remove)(c["Id"], force=True)
    while 'hx-swap-oob="delete"' not in html:
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    assert f'id="container-{short}"' in html
    await comm.disconnect()


async def test_the_list_socket_sends_cpu_and_memory_of_running_containers(
    hub, session_cookie, make_container
):
    c = await sync_to_async(make_container)()
    comm = ws("/ws/hosts/local/containers/live/", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    short = c["Id"][:12]
    deadline = time.monotonic() + 15
    html = ""
    import html as htmllib

    cpu = mem = "…"
    while cpu == "…":  # the first sample has no CPU figure yet: it needs two
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
        if 'id="list-stats"' in html:
            raw = html.split('data-stats="')[1].split('"')[0]
            cpu, mem = json.loads(htmllib.unescape(raw)).get(short, ["…", ""])
    assert cpu.endswith(" %") and ("KiB" in mem or "MiB" in mem)
    await comm.disconnect()


async def test_the_events_feed_filters_by_type(hub, session_cookie, make_container):
    comm = ws("/ws/hosts/local/events/?type=container", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    await asyncio.sleep(0.5)
    c = await sync_to_async(make_container)()
    html = ""
    deadline = time.monotonic() + 15
    while "start" not in html:
        html += await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    assert c["Id"] in html
    assert "type-network" not in html, "network events are filtered out"
    await comm.disconnect()


async def test_events_missed_while_the_stream_was_down_are_caught_up(
    hub, session_cookie, engine, make_container
):
    comm = ws("/ws/hosts/local/events/?type=container", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    await asyncio.sleep(0.5)
    (up,) = hub.upstreams.values()
    closers = list(up.source._closers)
    # Break the events connection from under the reader (not a close of ours)...
    stream_close = closers[-1].__self__
    stream_close._sock.shutdown(socket.SHUT_RDWR)
    # ...and make an event while it is down (the source waits a second before reconnecting).
    c = await sync_to_async(make_container)(start=False)
    html = ""
    deadline = time.monotonic() + 15
    while c["Id"] not in html:
        html += await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    assert "Reconnecting" in html, "the page is told it is reconnecting"
    assert "create" in html
    await comm.disconnect()


async def test_the_list_rereads_its_rows_once_after_an_events_outage(hub, session_cookie):
    comm = ws("/ws/hosts/local/containers/live/?q=web&show=running", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    await asyncio.sleep(0.5)
    source = hub.upstreams[stream_key("local", EVENTS)].source
    source._closers[-1].__self__._sock.shutdown(socket.SHUT_RDWR)
    html = ""
    deadline = time.monotonic() + 15
    while 'id="resync"' not in html:
        html += await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    # The page's filter, sort and page as they are when it re-reads (not the socket's).
    assert 'hx-get="/hosts/local/containers/"' in html
    assert 'hx-include="#container-filters, #page-now"' in html
    assert 'hx-trigger="load"' in html
    await comm.disconnect()
