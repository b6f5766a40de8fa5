"""One upstream per stream across processes (dashboard/streams/shared.py).

Two real daphne processes on a Redis of the test's own, five websocket viewers on each
following one container's log (a numbered line every 100 ms): the engine connections that
stream it are counted from outside (the engine socket's peers among each process's fds,
with a thread blocked reading them) and must be one in all; the process that reads it is
killed with SIGKILL, and the other must take over within 5 s with every viewer left seeing
each number once, in order. The pieces a takeover relies on (a batch's position, reading on
from it, a process's copy of another's replay) are checked without an engine too.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from dashboard.streams.render import render_lines
from dashboard.streams.sources import EventsSource, FollowedLogSource, StatsSource
from engine_client.streams import LogLine, LogResume

from .support.browser import LiveDashboard, free_port, live_dashboard, login
from .support.connections import engine_streams
from .support.lab import REQUIRE_ENGINE
from .support.processes import redis_server

_LINE = re.compile(r"<time>[^<]*</time>([^<]*)</div>")
VIEWERS = 5  # per process (bench/upstreams.py runs 25)
TAKEOVER_MAX_SECONDS = 5.0


def _log_source(stream: list[list[LogLine]]) -> FollowedLogSource:
    """A followed log over batches given here (what the engine would send after `since`)."""

    class Batches:
        def batches(self) -> Iterator[list[LogLine]]:
            yield from stream

        def close(self) -> None:
            pass

    return FollowedLogSource(
        lambda tail, since: Batches(),  # type: ignore[arg-type,return-value]
        what="container",
        tail="all",
        since=None,
        resume=LogResume(),
        when_ended=lambda source: False,
    )


def _lines(ts: str, *texts: str) -> list[LogLine]:
    return [LogLine("stdout", t, ts) for t in texts]


def test_a_new_reader_goes_on_from_the_last_line_another_sent_with_no_repeat():
    t1, t2 = "2026-11-30T10:00:01Z", "2026-11-30T10:00:02Z"  # Podman stamps to the second
    first = _log_source([_lines(t1, "1", "2") + _lines(t2, "3"), _lines(t2, "4")])
    sent: list = []
    first._emit = sent.append
    first.run()
    batches = [item for item in sent if item[0] == "lines"]
    position = first.position(batches)
    assert position == [t2, 2], "the last timestamp and how many lines carried it"
    # The new reader is sent the lines from that timestamp on, the two it has seen included.
    second = _log_source([_lines(t2, "3", "4", "5"), _lines("2026-11-30T10:00:03Z", "6")])
    second.resume_from(json.loads(json.dumps(position)))  # as it crosses the layer
    assert (second.tail, second.since) == ("all", "1796032802.000000000")
    more: list = []
    second._emit = more.append
    second.run()
    texts = [m for item in more if item[0] == "lines" for m in _LINE.findall(item[1])]
    assert texts == ["5", "6"]


def test_a_process_copy_of_a_log_replays_what_the_reader_would():
    reader, copy = _log_source([]), _log_source([])
    items = [
        ("status", "live", "following"),
        ("lines", render_lines(_lines("2026-11-30T10:00:01Z", "a", "b")), 2),
    ]
    reader.remember(items)
    copy.load_mirror_state(json.loads(json.dumps(reader.mirror_state())))
    assert copy.replay() == reader.replay()


def test_an_events_copy_keeps_when_each_row_changed_and_reads_on_after_the_last_event():
    reader, copy = EventsSource(None), EventsSource(None)  # type: ignore[arg-type]
    event = {"Type": "container", "Action": "start", "timeNano": 1_796_032_802_000_000_005}
    items = [("events", [event], {"c1": {"Id": "c1"}})]
    reader.remember(items)
    copy.load_mirror_state(json.loads(json.dumps(reader.mirror_state())))
    assert copy.replay() == reader.replay()
    assert reader.position(items) == "1796032802.000000006"


def test_a_stats_copy_draws_the_charts_the_reader_draws():
    reader, copy = StatsSource(None, "c1"), StatsSource(None, "c1")  # type: ignore[arg-type]
    sample = {
        "read": "2026-11-30T10:00:01Z",
        "cpu_percent": 12.5,
        "mem_used": 1 << 20,
        "mem_limit": 1 << 30,
        "mem_percent": 0.1,
        "net_rx": 10,
        "net_tx": 20,
        "blk_read": 0,
        "blk_write": 0,
        "pids": 1,
    }
    reader.combine([("sample", sample)])
    copy.load_mirror_state(json.loads(json.dumps(reader.mirror_state())))
    assert copy.replay() == reader.replay() != []
    more = [("sample", {**sample, "cpu_percent": 50.0})]
    assert copy.combine(more) == reader.combine(more), "the same history after it, too"


# -- two processes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with redis_server(free_port()) as url:
            yield url
    except FileNotFoundError:
        if REQUIRE_ENGINE:
            pytest.fail("redis-server is not installed (lab/engine-lab deps installs it)")
        pytest.skip("redis-server is not installed")


@contextmanager
def _two_dashboards(docker_host: str, **env: str) -> Iterator[list[LiveDashboard]]:
    """Two live dashboards, started side by side (each migrates its own database first)."""
    starting = [live_dashboard(docker_host, **env) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(cm.__enter__) for cm in starting]
    started = [
        (cm, f.result()) for cm, f in zip(starting, futures, strict=True) if not f.exception()
    ]
    try:
        for future in futures:
            if exc := future.exception():
                raise exc
        yield [live for _, live in started]
    finally:
        for cm, _ in reversed(started):
            cm.__exit__(None, None, None)


def _ws(live: LiveDashboard, cookie: str, path: str):
    from websockets.asyncio.client import connect

    return connect(
        "ws://" + live.url.split("://", 1)[1] + path,
        origin=live.url,
        additional_headers={"Cookie": cookie},
        ping_interval=None,
        max_size=None,
    )


async def _view(live: LiveDashboard, cookie: str, path: str, got: list[tuple[float, int]]):
    """Note each numbered line as it comes, with when, until cancelled or the socket ends."""
    from websockets.exceptions import ConnectionClosed

    try:
        async with _ws(live, cookie, path) as ws:
            async for raw in ws:
                now = time.monotonic()
                for text in _LINE.findall(json.loads(raw).get("lines", "")):
                    got.append((now, int(text)))
    except (ConnectionClosed, OSError):
        pass  # its process was killed


async def _until(check, what: str, seconds: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what} (after {seconds}s)")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def test_two_processes_read_a_log_once_and_the_other_takes_over_when_its_reader_dies(
    engine, make_container, redis_url
):
    socket_path = engine.lab_url.removeprefix("unix://")
    counter = "i=0; while true; do i=$((i+1)); echo $i; usleep 100000; done"
    cid = make_container(["sh", "-c", counter])["Id"]
    # No alert watching: its events stream would be one more engine connection to count.
    env = {
        "REDIS_URL": redis_url,
        "DASHBOARD_STREAM_LINGER_SECONDS": "1",
        "DASHBOARD_ALERTS_WATCH": "0",
    }
    path = f"/ws/hosts/local/containers/{cid}/logs/?tail=all"
    with _two_dashboards(engine.lab_url, **env) as (a, b):
        procs = {"A": a, "B": b}
        cookies = {n: f"sessionid={login(p).cookies['sessionid']}" for n, p in procs.items()}
        seen: dict[str, list[list[tuple[float, int]]]] = {n: [] for n in procs}

        async def scenario() -> dict[str, float]:
            tasks = []
            for name, live in procs.items():  # A's viewers first: A most likely reads
                for _ in range(VIEWERS):
                    seen[name].append([])
                    view = _view(live, cookies[name], path, seen[name][-1])
                    tasks.append(asyncio.create_task(view))
            everyone = [got for name in procs for got in seen[name]]
            await _until(lambda: all(len(g) >= 15 for g in everyone), "every viewer reads", 30)

            def streams() -> dict[str, int]:
                return {n: engine_streams(p.proc.pid, socket_path) for n, p in procs.items()}

            counts = await asyncio.to_thread(streams)
            assert sum(counts.values()) == 1, f"one engine stream for all viewers: {counts}"
            reader = next(n for n, count in counts.items() if count)
            other = "B" if reader == "A" else "A"
            procs[reader].kill()
            killed_at = time.monotonic()
            last = max(g[-1][1] for g in seen[other])
            # Taken over: the process left holds the engine stream (counted from outside).
            pid = procs[other].proc.pid
            while await asyncio.to_thread(engine_streams, pid, socket_path, 3) != 1:
                assert time.monotonic() - killed_at < TAKEOVER_MAX_SECONDS + 5, "no takeover"
            took = time.monotonic() - killed_at
            await _until(
                lambda: all(g[-1][1] >= last + 20 for g in seen[other]),
                f"{other}'s viewers read on after {reader} died",
                15,
            )
            after = await asyncio.to_thread(engine_streams, procs[other].proc.pid, socket_path)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return {"reader": reader, "other": other, "took": took, "after": after}

        try:
            out = asyncio.run(scenario())
        except BaseException:
            print("A:\n" + a.log()[-3000:] + "\nB:\n" + b.log()[-3000:])
            raise
        other = procs[out["other"]]
        print(f"takeover: {out}")
        assert out["after"] == 1, "the process left reads the log, once"
        assert out["took"] < TAKEOVER_MAX_SECONDS, f"taken over after {out['took']:.1f}s"
        for got in seen[out["other"]]:
            numbers = [n for _, n in got]
            assert numbers == list(range(1, len(numbers) + 1)), "no gap and no repeat"
        assert "Traceback" not in other.log()
