"""One upstream per stream across processes (issue 20 part 2): two dashboard processes on
one Redis (a redis-server of the bench's own), N websocket viewers on each following the
same container's log (a numbered line every 1/rate s).

Reports, counted from outside (the engine socket's connections whose peer is a daphne fd a
thread is blocked reading; see common.py): the engine streams each process holds while
everyone watches (goal: 1 in all; each process reading its own would be 2). Then the process
holding the stream is killed (SIGKILL): how long until the other process holds the engine
stream (counted the same way), the longest a line waited from the container's write (its
engine timestamp) to a viewer's receipt among those received after the kill, next to the
same before the kill (the pipeline's own delay, measured in the same run), the longest
pause between receipts, and whether each of the other's viewers saw every number once, in
order. Goal: 1 connection; the engine stream taken over and no line delayed 5 s or more;
no gap, no repeat.

    .venv/bin/python bench/upstreams.py --viewers 25 [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import common as c

TAKEOVER_GOAL_SECONDS = 5.0


async def viewer(dash: c.Dashboard, path: str, got: list[tuple[float, int, float]]) -> None:
    """Note each numbered line as it comes: when, its number, and how long after the
    container wrote it (the engine's timestamp; this machine's clock), until cancelled or
    the socket ends."""
    with contextlib.suppress(Exception):  # its process is killed half-way: that is the point
        ws = await c.ws_connect(dash, path)
        async for raw in ws:
            now, wall = time.monotonic(), time.time()
            for _cls, ts, text in c.parse_lines(json.loads(raw).get("lines", "")):
                n = c.line_number(text)
                if n is not None:
                    got.append((now, n, wall - c.rfc3339_to_unix(ts)))


async def until(check: Any, seconds: float) -> float | None:
    """Seconds until `check()` held (polled), or None if it did not within `seconds`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def longest_pause(got: list[tuple[float, int, float]], start: float, end: float) -> float:
    """The longest wait for a line that ended between `start` and `end` (the wait may have
    begun before `start`: the last line before a kill to the first after it)."""
    times = [t for t, _, _ in got if t <= end]
    pauses = [b - a for a, b in zip(times, times[1:], strict=False) if b >= start]
    return max(pauses, default=end - start)


async def run(
    args: argparse.Namespace, eng: c.Engine, cid: str, dashes: dict[str, c.Dashboard]
) -> dict[str, Any]:
    sock = eng.socket_path
    assert sock, "counting connections needs a unix-socket engine"
    result: dict[str, Any] = {}
    path = c.logs_ws_path(cid, tail="all")
    seen: dict[str, list[list[tuple[float, int, float]]]] = {name: [] for name in dashes}
    tasks = []
    for name, dash in dashes.items():
        for _ in range(args.viewers):
            seen[name].append([])
            tasks.append(asyncio.create_task(viewer(dash, path, seen[name][-1])))
    everyone = [got for name in dashes for got in seen[name]]
    took = await until(lambda: all(len(g) >= 20 for g in everyone), 60)
    result["all_viewers_reading_seconds"] = c.rnd(took)
    c.log(f"{len(everyone)} viewers reading after {took}s")
    if took is None:
        result["lines_per_viewer"] = {name: [len(g) for g in seen[name]] for name in dashes}
        raise RuntimeError(f"not every viewer reads: {result['lines_per_viewer']}")

    def connections() -> dict[str, dict[str, int]]:
        return {name: c.engine_connections(d.pid, sock) for name, d in dashes.items()}

    watching = await asyncio.to_thread(connections)
    result["engine_connections_while_watching"] = watching
    streams = sum(v["streaming"] for v in watching.values())
    result["engine_log_streams_while_watching"] = streams
    c.log(f"engine connections while everyone watches: {watching}")
    holder = next((name for name, v in watching.items() if v["streaming"]), None)
    if holder is None:
        raise RuntimeError("no process streams the log from the engine")
    other = next(name for name in dashes if name != holder)
    result["holder"], result["survivor"] = holder, other

    # The cadence before the kill, in the same run: the baseline for the takeover gap.
    now = time.monotonic()
    result["baseline_longest_pause_seconds"] = c.rnd(
        max(longest_pause(g, now - 1.5, now) for g in seen[other])
    )
    result["baseline_max_line_delay_seconds"] = c.rnd(
        max(d for g in seen[other] for t, _, d in g if t >= now - 1.5)
    )
    dashes[holder].live.kill()
    killed_at = time.monotonic()
    c.log(f"killed {holder} (pid {dashes[holder].pid}), the process holding the stream")
    last = max(g[-1][1] for g in seen[other])
    engine_took = None
    while time.monotonic() - killed_at < TAKEOVER_GOAL_SECONDS + 10:
        conns = await asyncio.to_thread(c.engine_connections, dashes[other].pid, sock, 4)
        if conns["streaming"] == 1:
            engine_took = time.monotonic() - killed_at
            break
    result["engine_stream_reopened_after_seconds"] = c.rnd(engine_took)
    await until(lambda: all(g[-1][1] >= last + 20 for g in seen[other]), 20)
    end = time.monotonic()
    gaps = [longest_pause(g, killed_at, end) for g in seen[other]]
    result["takeover_gap_seconds"] = {"max": c.rnd(max(gaps)), "median": c.rnd(c.median(gaps))}
    # A line written while nobody read the engine waits for the takeover: the longest wait
    # is the takeover as a viewer lives it (a pause between receipts can hide in a backlog).
    delays = [d for g in seen[other] for t, _, d in g if t >= killed_at]
    result["takeover_max_line_delay_seconds"] = c.rnd(max(delays))
    gap = result["takeover_gap_seconds"]
    c.log(f"takeover: engine stream after {engine_took}s, viewers' gap {gap}")
    after = await asyncio.to_thread(c.engine_connections, dashes[other].pid, sock)
    result["engine_connections_after_takeover"] = after
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    checks = [c.check_sequence([n for _, n, _ in g], len(g)) for g in seen[other]]
    in_order = sum(1 for r in checks if r["complete_in_order"])
    result["survivor_viewers_in_order"] = in_order
    result["bad_viewers"] = [
        dict(r, viewer=i) for i, r in enumerate(checks) if not r["complete_in_order"]
    ][:5]
    result["pass"] = bool(
        streams == 1
        and after["streaming"] == 1
        and engine_took is not None
        and engine_took < TAKEOVER_GOAL_SECONDS
        and max(delays) < TAKEOVER_GOAL_SECONDS
        and in_order == args.viewers
    )
    return result


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--viewers", type=int, default=25, help="websocket viewers per process")
    ap.add_argument("--rate", type=int, default=10, help="numbered lines a second")
    args = ap.parse_args()
    c.watchdog(600)
    out: dict[str, Any] = {
        "bench": "upstreams",
        "viewers_per_process": args.viewers,
        "rate": args.rate,
        "goal": "1 engine connection for the log across both processes (one each would be 2); "
        f"after the holder is killed the other takes over within {TAKEOVER_GOAL_SECONDS:.0f} s, "
        "its viewers seeing every line once, in order",
    }

    def measure(eng: c.Engine, made: c.Containers, _: Any) -> dict[str, Any]:
        from tests.support.browser import free_port
        from tests.support.processes import redis_server

        cid = made.create(c.rate_writer(args.rate))
        with redis_server(free_port()) as redis_url:
            # No alert watching: its events stream would be one more connection to count.
            env = {
                "REDIS_URL": redis_url,
                "DASHBOARD_STREAM_LINGER_SECONDS": "1",
                "DASHBOARD_ALERTS_WATCH": "0",
            }
            with c.dashboard(eng, **env) as a, c.dashboard(eng, **env) as b:
                try:
                    return asyncio.run(run(args, eng, cid, {"A": a, "B": b}))
                finally:
                    out["dashboard_log_problems"] = {
                        name: d.log_problems() for name, d in (("A", a), ("B", b))
                    }

    return c.run_bench(out, measure, with_dashboard=False)


if __name__ == "__main__":
    sys.exit(main())
