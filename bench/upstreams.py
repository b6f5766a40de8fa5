"""One upstream per stream across processes (issue 20 part 2): two dashboard processes on
one Redis (a redis-server of the bench's own), N websocket viewers on each following the
same container's log (a numbered line every 1/rate s).

Reports, counted from outside (the engine socket's connections whose peer is a daphne fd a
thread is blocked reading; see common.py): the engine streams each process holds while
everyone watches (goal: 1 in all; each process reading its own would be 2). Then the process
holding the stream is killed (SIGKILL): how long the other's viewers went without a line
(the takeover gap; next to the longest pause between lines before the kill, measured in the
same run, which is the container's own cadence plus batching), how long until the other
process holds the engine stream, and whether each of its viewers saw every number once, in
order. Goal: 1 connection, takeover under 5 s, no gap, no repeat.

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


async def viewer(dash: c.Dashboard, path: str, got: list[tuple[float, int]]) -> None:
    """Note each numbered line as it comes, with when, until cancelled or the socket ends."""
    with contextlib.suppress(Exception):  # its process is killed half-way: that is the point
        ws = await c.ws_connect(dash, path)
        async for raw in ws:
            now = time.monotonic()
            for _cls, _ts, text in c.parse_lines(json.loads(raw).get("lines", "")):
                n = c.line_number(text)
                if n is not None:
                    got.append((now, n))


async def until(check: Any, seconds: float) -> float | None:
    """Seconds until `check()` held (polled), or None if it did not within `seconds`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def longest_pause(got: list[tuple[float, int]], start: float, end: float) -> float:
    times = [t for t, _ in got if t >= start and t <= end]
    if len(times) < 2:
        return end - start
    return max(b - a for a, b in zip(times, times[1:], strict=False))


async def run(
    args: argparse.Namespace, eng: c.Engine, cid: str, dashes: dict[str, c.Dashboard]
) -> dict[str, Any]:
    sock = eng.socket_path
    assert sock, "counting connections needs a unix-socket engine"
    result: dict[str, Any] = {}
    path = c.logs_ws_path(cid, tail="all")
    seen: dict[str, list[list[tuple[float, int]]]] = {name: [] for name in dashes}
    tasks = []
    for name, dash in dashes.items():
        for _ in range(args.viewers):
            seen[name].append([])
            tasks.append(asyncio.create_task(viewer(dash, path, seen[name][-1])))
    everyone = [got for name in dashes for got in seen[name]]
    took = await until(lambda: all(len(g) >= 20 for g in everyone), 60)
    result["all_viewers_reading_seconds"] = c.rnd(took)
    c.log(f"{len(everyone)} viewers reading after {took}s")

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
    gap = result["takeover_gap_seconds"]
    c.log(f"takeover: engine stream after {engine_took}s, viewers' gap {gap}")
    after = await asyncio.to_thread(c.engine_connections, dashes[other].pid, sock)
    result["engine_connections_after_takeover"] = after
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    checks = [c.check_sequence([n for _, n in g], len(g)) for g in seen[other]]
    in_order = sum(1 for r in checks if r["complete_in_order"])
    result["survivor_viewers_in_order"] = in_order
    result["bad_viewers"] = [
        dict(r, viewer=i) for i, r in enumerate(checks) if not r["complete_in_order"]
    ][:5]
    result["pass"] = bool(
        streams == 1
        and after["streaming"] == 1
        and max(gaps) < TAKEOVER_GOAL_SECONDS
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
            env = {"REDIS_URL": redis_url, "DASHBOARD_STREAM_LINGER_SECONDS": "1"}
            with c.dashboard(eng, **env) as a, c.dashboard(eng, **env) as b:
                result = asyncio.run(run(args, eng, cid, {"A": a, "B": b}))
                result["dashboard_log_problems"] = {
                    name: d.log_problems() for name, d in (("A", a), ("B", b))
                }
                return result

    return c.run_bench(out, measure, with_dashboard=False)


if __name__ == "__main__":
    sys.exit(main())
