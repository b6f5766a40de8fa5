"""The container cache under a long churn (issue 20's proof, the bench-sized one): a cache
(dashboard/container_cache.py) follows the engine's events in this process, on a hub loop of
its own as daphne's would be; `--containers` containers of the churn's own are made (a
seeded share of them with a 1 s healthcheck, `--running` of them started), then the docker
CLI churns them for `--seconds` from a logged seed (create, start, stop, kill, pause,
unpause, rename, remove, healthchecks flipping: tests/support/churn.py, the suite's churn,
kept at `--containers` containers). When it stops, the cached list is compared with `GET
/containers/json?all=1` on the listed fields (tests/support/churn.py COMPARED; Status as state
and health) until they agree or `--settle` seconds pass.

Reports: the seed, the churn's operations, events the cache was fed, its re-reads (full and
of some containers), the differences left (goal: 0), seconds from the churn's last operation
until the cache equalled the engine's list, the raw list call's median time (same run), and
the memory the cache holds (tracemalloc on a cache filled from the same engine, as
bench/list_page.py measures it).

    .venv/bin/python bench/cache_churn.py [--seconds 60] [--containers 200] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common as c
from list_page import cache_memory

from tests.support.churn import CHURN_LABEL, Churn, differences
from tests.support.compose import require_docker_cli
from tests.support.lab import RUN_ID as TEST_RUN_ID
from tests.support.lab import TEST_LABEL

HEALTHCHECK = {
    "Test": ["CMD-SHELL", "test -e /tmp/ok"],
    "Interval": 1_000_000_000,
    "Timeout": 1_000_000_000,
    "Retries": 1,
}


class EventCount:
    """Events (and messages) the cache's events stream delivered, counted on the hub loop."""

    def __init__(self) -> None:
        self.events = 0
        self.messages = 0

    def __call__(self, message: dict[str, Any]) -> None:
        self.messages += 1
        self.events += len(message.get("events") or [])


def fill(eng: c.Engine, made: c.Containers, churn: Churn, n: int, running: int) -> None:
    """`n` containers named and labelled as the churn's own (so it churns them), made through
    the API (the CLI one by one would take minutes), `running` of them started."""
    t0 = time.monotonic()
    plan = []
    for _ in range(n):
        churn._n += 1
        plan.append((f"churn-{churn.tag}-{churn._n}", churn.rng.random() < 0.5))

    def one(item: tuple[str, bool]) -> str:
        name, health = item
        extra = {"Healthcheck": HEALTHCHECK} if health else {}
        labels = {TEST_LABEL: TEST_RUN_ID, CHURN_LABEL: churn.tag}
        return made.create(["sleep", "3600"], start=False, name=name, Labels=labels, **extra)

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, plan))
    for name, _ in plan:
        churn.alive[name] = "created"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(eng.client.containers.start, ids[:running]))
    for name, _ in plan[:running]:
        churn.alive[name] = "running"
    c.log(f"made {n} containers ({running} running) in {time.monotonic() - t0:.1f}s")


def measure(args: argparse.Namespace, eng: c.Engine, made: c.Containers) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from dashboard import container_cache
    from dashboard.streams import keys
    from dashboard.streams.hub import get_hub
    from dashboard.streams.sources import EventsSource
    from tests.support.hub_loop import hub_loop_running

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    c.log(f"churn seed {seed} (--seed {seed} replays it)")
    out: dict[str, Any] = {"seed": seed}
    churn = Churn(
        require_docker_cli(),
        eng.docker_host,
        seed,
        image=c.IMAGE,
        size=args.containers,
        tag=f"bench-{c.RUN_ID}",
    )
    client = eng.client
    counted = EventCount()
    name = f"bench-{c.RUN_ID}"
    try:
        with hub_loop_running() as loop:
            cache = container_cache.follow(name, lambda: client)
            assert cache is not None
            key = keys.stream_key(name, keys.EVENTS)

            async def count() -> None:
                get_hub().listen(key, lambda: EventsSource(client), counted)

            asyncio.run_coroutine_threadsafe(count(), loop).result(10)
            deadline = time.monotonic() + 60
            while not cache.trusted:
                if time.monotonic() > deadline:
                    raise RuntimeError("the cache never filled")
                time.sleep(0.05)
            fill(eng, made, churn, args.containers, args.running)
            t0 = time.monotonic()
            events0, full0, some0 = counted.events, cache.full_reads, cache.one_reads
            while time.monotonic() - t0 < args.seconds:
                churn.step()
            churned = time.monotonic()
            ops = len(churn.log)
            out["churn"] = {
                "seconds": c.rnd(churned - t0, 1),
                "operations": ops,
                "failed": sum(1 for line in churn.log if not line.endswith("-> 0")),
                "containers_at_end": len(churn.alive),
            }
            c.log(f"churned {ops} operations in {churned - t0:.1f}s")
            # Settled: the cached list equals the engine's, polled until the deadline.
            diff: list[str] = ["the cache was never trustworthy"]
            settle_s = None
            while time.monotonic() - churned < args.settle:
                rows = cache.rows()
                if rows is not None:
                    diff = differences(rows, client.containers.list(all=True))
                    if not diff:
                        settle_s = time.monotonic() - churned
                        break
                time.sleep(0.05)
            out["settle_s"] = c.rnd(settle_s, 2)
            out["mismatches"] = len(diff) if settle_s is None else 0
            out["mismatch_sample"] = diff[:10] if settle_s is None else []
            out["events_seen"] = counted.events - events0
            out["full_reads"] = cache.full_reads - full0
            out["some_reads"] = cache.one_reads - some0
            raw = []
            for _ in range(15):
                t = time.perf_counter()
                listed = client.containers.list(all=True)
                raw.append(time.perf_counter() - t)
            out["raw_list"] = {
                "containers": len(listed),
                "median_ms": c.rnd(c.median(raw) * 1000, 1),
                "p95_ms": c.rnd(c.percentile(raw, 95) * 1000, 1),
            }
            cache.stop()
        out["cache_memory"] = cache_memory(eng)
    finally:
        churn.clean()
    out["goal"] = "0 mismatches after the churn settles"
    out["pass"] = out["mismatches"] == 0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--running", type=int, default=40, help="how many start running")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--settle", type=float, default=30, help="seconds to wait for agreement")
    args = ap.parse_args()
    c.watchdog(300 + args.seconds + args.containers * 0.5)
    out: dict[str, Any] = {
        "bench": "cache_churn",
        "seconds": args.seconds,
        "containers": args.containers,
        "running": args.running,
    }
    return c.run_bench(out, lambda eng, made, dash: measure(args, eng, made), with_dashboard=False)


if __name__ == "__main__":
    sys.exit(main())
