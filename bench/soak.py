"""Soak: viewers join and leave logs, stats, events and the containers list continuously
while containers start, stop and print; the dashboard's RSS and its connections to the
engine every minute.

- `--printers` containers print a line every 0.1 s; `--cyclers` containers are stopped and
  started again in turn, and a short-lived container is made and removed, every few
  seconds (events, list rows, log and stats streams that end and resume);
- `--viewers` websocket clients, each in a loop: pick a stream (a printer's or a cycler's
  log, a stats page, the events feed, the containers list), watch it for 3-15 s, leave;
- every minute: daphne's RSS, its connections to the engine (total / streaming / idle,
  counted from outside as bench/common.py explains), the messages received, errors.

Goals (issue 9): idle RSS at most 85 MB (after start-up and one visit of every page, before
the load); RSS at the end within 10% of minute 5 (of the middle minute for runs shorter than
10 minutes); the engine connections back to the idle baseline once the viewers have left;
no warning, error or traceback in the dashboard's log.

    .venv/bin/python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import threading
import time
from typing import Any

import common as c

GOAL_IDLE_RSS_MB = 85.0
GOAL_DRIFT = 0.10


def mb(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)


class Churn(threading.Thread):
    """Stops and starts the cyclers in turn; makes and removes a short-lived container."""

    def __init__(self, made: c.Containers, cyclers: list[str], every: float) -> None:
        super().__init__(daemon=True, name="churn")
        self.made, self.cyclers, self.every = made, cyclers, every
        self.stop = threading.Event()
        self.actions = 0
        self.errors: list[str] = []

    def run(self) -> None:
        client = self.made.client
        i = 0
        while not self.stop.wait(self.every):
            cid = self.cyclers[i % len(self.cyclers)]
            i += 1
            try:
                if client.containers.inspect(cid)["State"]["Running"]:
                    client.containers.stop(cid, timeout=1)
                else:
                    client.containers.start(cid)
                short = self.made.create(["sh", "-c", "echo short-lived; sleep 1"])
                time.sleep(1.5)
                client.containers.remove(short, force=True)
                self.made.ids.remove(short)
                self.actions += 2
            except c.EngineError as exc:
                self.errors.append(exc.message)


async def viewer(
    dash: c.Dashboard, targets: list[str], stop: asyncio.Event, counts: dict[str, int], seed: int
) -> None:
    rnd = random.Random(seed)
    while not stop.is_set():
        path = rnd.choice(targets)
        stay = rnd.uniform(3, 15)
        try:
            ws = await c.ws_connect(dash, path)
        except Exception as exc:  # noqa: BLE001 - counted, the soak goes on
            counts["connect_errors"] += 1
            c.log(f"viewer could not connect to {path}: {exc!r}")
            await asyncio.sleep(1)
            continue
        counts["joins"] += 1
        deadline = time.monotonic() + stay
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.05)):
                        await ws.recv()
                    counts["messages"] += 1
                except TimeoutError:
                    break
        except Exception as exc:  # noqa: BLE001
            counts["stream_errors"] += 1
            c.log(f"viewer of {path} broke: {exc!r}")
        finally:
            with contextlib.suppress(Exception):
                await ws.close()
        await asyncio.sleep(rnd.uniform(0.2, 2))


def upstreams(dash: c.Dashboard) -> dict[str, float]:
    """Open upstream streams by kind, as the dashboard's own /metrics counts them."""
    text = dash.session.get(dash.url + "/metrics", timeout=30).text
    out = {}
    for line in text.splitlines():
        if line.startswith("dashboard_upstream_streams{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            out[kind] = float(line.rsplit(" ", 1)[1])
    return {k: v for k, v in out.items() if v}


def sample(eng: c.Engine, dash: c.Dashboard) -> dict[str, Any]:
    conns = c.engine_connections(dash.pid, eng.socket_path) if eng.socket_path else {}
    return {"rss_mb": mb(dash.rss()), "engine_connections": conns, "upstreams": upstreams(dash)}


async def soak(args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard):
    printers = [
        made.create(["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; usleep 100000; done"])
        for _ in range(args.printers)
    ]
    cyclers = [
        made.create(["sh", "-c", "trap 'exit 0' TERM; while :; do echo cycle; sleep 1; done"])
        for _ in range(args.cyclers)
    ]
    targets = (
        [c.logs_ws_path(cid, tail=100) for cid in printers + cyclers]
        + [f"/ws/hosts/local/containers/{cid}/stats/" for cid in printers[:2] + cyclers[:2]]
        + ["/ws/hosts/local/events/", "/ws/hosts/local/containers/live/"]
    )
    # Idle: after start-up and one visit of every page, before any viewer.
    for path in ("containers/", "images/", "volumes/", "networks/", "events/", "system/", ""):
        dash.session.get(f"{dash.url}/hosts/local/{path}", timeout=60)
    await asyncio.sleep(args.settle)
    idle = sample(eng, dash)
    c.log(f"idle: {idle}")

    churn = Churn(made, cyclers, args.churn_every)
    churn.start()
    stop = asyncio.Event()
    counts = {"joins": 0, "messages": 0, "connect_errors": 0, "stream_errors": 0}
    tasks = [
        asyncio.create_task(viewer(dash, targets, stop, counts, i)) for i in range(args.viewers)
    ]
    minutes: list[dict[str, Any]] = []
    t0 = time.monotonic()
    for minute in range(1, args.minutes + 1):
        await asyncio.sleep(max(t0 + 60 * minute - time.monotonic(), 0))
        row = {
            "minute": minute,
            **await asyncio.to_thread(sample, eng, dash),
            **counts,
            "churn_actions": churn.actions,
            "log_problems": dash.log_problems()["count"],
        }
        minutes.append(row)
        conns = row["engine_connections"]
        c.log(
            f"minute {minute:3d}: rss {row['rss_mb']} MB, engine connections "
            f"{conns.get('total')} ({conns.get('streaming')} streaming), joins {counts['joins']}, "
            f"messages {counts['messages']}, log problems {row['log_problems']}"
        )
    stop.set()
    await asyncio.gather(*tasks)
    churn.stop.set()
    await asyncio.to_thread(churn.join, 30)
    # Viewers gone: streams linger a few seconds, then close.
    await asyncio.sleep(args.linger_wait)
    after = await asyncio.to_thread(sample, eng, dash)
    c.log(f"after the viewers left: {after}")

    ref_minute = 5 if args.minutes >= 10 else max(1, (args.minutes + 1) // 2)
    ref = minutes[ref_minute - 1]["rss_mb"]
    end = minutes[-1]["rss_mb"]
    drift = (end - ref) / ref if ref else None
    base_streaming = idle["engine_connections"].get("streaming")
    conns_back = (
        after["engine_connections"].get("streaming") == base_streaming and not after["upstreams"]
    )
    problems = dash.log_problems()
    checks = {
        "idle_rss_ok": idle["rss_mb"] is not None and idle["rss_mb"] <= GOAL_IDLE_RSS_MB,
        "rss_drift_ok": drift is not None and drift <= GOAL_DRIFT,
        "connections_back_to_baseline": conns_back,
        "no_log_problems": problems["count"] == 0,
        "no_viewer_errors": counts["connect_errors"] == 0 and counts["stream_errors"] == 0,
    }
    return {
        "idle": idle,
        "minutes": minutes,
        "after_viewers_left": after,
        "rss_reference_minute": ref_minute,
        "rss_drift": c.rnd(drift, 3),
        "churn_errors": churn.errors[:5],
        "dashboard_log_problems": problems,
        "checks": checks,
        "goal": f"idle RSS <= {GOAL_IDLE_RSS_MB:g} MB, end RSS within {GOAL_DRIFT:.0%} of "
        "minute 5 (middle minute if shorter), streaming engine connections back to the idle "
        "baseline, no warning/error in the log",
        "pass": all(checks.values()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--viewers", type=int, default=12)
    ap.add_argument("--printers", type=int, default=4)
    ap.add_argument("--cyclers", type=int, default=3)
    ap.add_argument("--churn-every", type=float, default=6.0, help="seconds between changes")
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--linger-wait", type=float, default=20.0)
    args = ap.parse_args()
    c.watchdog(600 + 70 * args.minutes)
    out: dict[str, Any] = {"bench": "soak", "minutes": args.minutes, "viewers": args.viewers}
    env = {"DASHBOARD_STREAM_LINGER_SECONDS": "5"}
    return c.run_bench(
        out, lambda eng, made, dash: asyncio.run(soak(args, eng, made, dash)), dashboard_env=env
    )


if __name__ == "__main__":
    sys.exit(main())
