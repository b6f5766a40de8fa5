"""A merged live view of busy containers (issue 17): `--containers` containers each writing
`--rate` numbered lines a second, watched by `--viewers` merged views of the same selection
(a label) through the dashboard's websocket.

Measured: each line's delay from the engine's timestamp (`<time>`) to its receipt over the
websocket (this machine's clock for both), p50/p95/p99 over every viewer; whether every
viewer got every container's numbers 1..N once each, in order (lines are sorted by time
within a batch, so each container's own lines keep their order); and the dashboard's engine
connections streaming while the views watch, counted from outside (as bench/log_fanout.py
does), less those streaming before (the host's events stream): one per container, however
many views watch.

Baseline: `--raw-containers` of them followed raw by the engine client in this process
during the same window (the engine's own follow delay, same clock, same load).

Goal: p95 under 100 ms, no line lost, one upstream per container.

    .venv/bin/python bench/log_merged.py --containers 20 --rate 100 --viewers 3 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import common as c

GOAL_P95_MS = 100.0
GATE = "go"
_SRC = re.compile(r'data-src="[^"/]*/([0-9a-f]{12})"')


async def viewer(
    dash: c.Dashboard, path: str, ends: int, seconds: float
) -> list[tuple[float, str]]:
    """Every message of one merged view, with its receipt time, until it has received `ends`
    END lines (each container's last) or `seconds` have passed: a view that lags is waited
    for, so a late line is counted late, not lost."""
    records: list[tuple[float, str]] = []
    seen = 0
    ws = await c.ws_connect(dash, path)
    try:
        async with asyncio.timeout(seconds):
            async for raw in ws:
                records.append((time.time(), raw))
                seen += raw.count("END</div>")
                if seen >= ends:
                    break
    except TimeoutError:
        pass
    await ws.close()
    return records


def digest(records: list[tuple[float, str]], warmup_until: float) -> tuple[list, dict]:
    """The delays of the lines received after the warm-up, and each container's numbers."""
    delays: list[float] = []
    numbers: dict[str, list[int]] = defaultdict(list)
    for now, raw in records:
        msg = json.loads(raw)
        for _cls, ts, body in c.parse_lines(msg.get("lines", "")):
            src = _SRC.search(body)
            if not src:
                continue  # a notice (joined, stopped), not a container's line
            text = html.unescape(re.sub(r"<[^>]*>", "", body.split("</button>", 1)[-1]))
            n = c.line_number(text.strip())
            if n is not None:
                numbers[src.group(1)].append(n)
            if ts and now >= warmup_until:
                delays.append(now - c.rfc3339_to_unix(ts))
    return delays, numbers


def raw_follow(eng: c.Engine, cids: list[str], stop: threading.Event) -> list[tuple[float, str]]:
    """The engine's own follow delay, the baseline: the engine client reading `cids` with
    `follow=1&timestamps=1` in this process, beside the views, until `stop`."""
    records: list[tuple[float, str]] = []
    streams = [
        eng.client.containers.logs(cid, follow=True, tail=0, timestamps=True, tty=False)
        for cid in cids
    ]

    def read(stream: Any) -> None:
        try:
            for batch in stream.batches():
                now = time.time()
                records.extend((now, line.timestamp) for line in batch)
        except (c.EngineError, OSError, AttributeError, ValueError):
            pass  # closed from the main thread: the end (DESIGN.md: closing from elsewhere)

    threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in streams]
    for t in threads:
        t.start()
    stop.wait()
    for stream in streams:
        stream.close()
    for t in threads:
        t.join(10)
    return records


async def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    lines = args.rate * args.duration
    ids = [
        made.create(c.rate_writer(args.rate, lines=lines, gate=GATE))
        for _ in range(args.containers)
    ]
    c.log(f"{len(ids)} containers made, waiting at their gate")
    # The containers page starts the process's events stream (the container cache), so it
    # streams before the views come and is not counted as theirs.
    dash.session.get(f"{dash.url}/hosts/local/containers/", timeout=60).raise_for_status()
    page = dash.session.get(
        f"{dash.url}/hosts/local/logs/",
        params={"label": f"{c.LABEL}={c.RUN_ID}", "tail": "100"},
        timeout=60,
    )
    page.raise_for_status()
    m = re.search(r'data-ws="([^"]+)"', page.text)
    if not m:
        raise RuntimeError("the merged page has no socket: " + page.text[-500:])
    path = html.unescape(m.group(1))
    sock = eng.socket_path or ""
    await asyncio.sleep(2)
    before = await asyncio.to_thread(c.engine_connections, dash.pid, sock)
    seconds = args.duration + 120
    tasks = [
        asyncio.create_task(viewer(dash, path, len(ids), seconds)) for _ in range(args.viewers)
    ]
    await asyncio.sleep(3)  # every view joined (each follow opened before the first line)
    watching = await asyncio.to_thread(c.engine_connections, dash.pid, sock)
    c.log(f"connections before {before}, with {args.viewers} views {watching}; opening gates")
    profiler = c.start_profiler(dash.pid, args.profile) if args.profile else None
    raw_stop = threading.Event()
    raw_task = asyncio.create_task(
        asyncio.to_thread(raw_follow, eng, ids[: args.raw_containers], raw_stop)
    )
    cpu = c.CPUMeter({"dashboard": lambda: [dash.pid], **eng.cpu_groups()})
    cpu.start()
    opened = time.time()
    for cid in ids:
        made.put_file(cid, "/tmp", GATE)
    during = []
    for _ in range(3):
        await asyncio.sleep(args.duration / 4)
        during.append(await asyncio.to_thread(c.engine_connections, dash.pid, sock))
    results = await asyncio.gather(*tasks)
    w = cpu.stop()
    raw_stop.set()
    raw_records = await raw_task
    raw_ms = [
        (now - c.rfc3339_to_unix(ts)) * 1000
        for now, ts in raw_records
        if ts and now >= opened + 1.0
    ]
    if profiler:
        c.stop_profiler(profiler, args.profile)
    per_view = []
    delays: list[float] = []
    complete = True
    for records in results:
        d, numbers = digest(records, opened + 1.0)
        delays.extend(d)
        checks = {cid[:12]: c.check_sequence(numbers.get(cid[:12], []), lines) for cid in ids}
        bad = {k: v for k, v in checks.items() if not v["complete_in_order"]}
        complete = complete and not bad
        per_view.append(
            {
                "lines": sum(v["received"] for v in checks.values()),
                "containers_incomplete": bad,
            }
        )
    ms = [x * 1000 for x in delays]
    upstreams = [s["streaming"] - before["streaming"] for s in [watching, *during]]
    # A look may catch a short request in flight (a row re-read after an event): the
    # middle of the looks says how many streams stay open.
    steady = sorted(upstreams)[len(upstreams) // 2]
    p95 = c.percentile(ms, 95)
    return {
        "lines_per_container": lines,
        "delay": {
            "lines": len(ms),
            "p50_ms": c.rnd(c.percentile(ms, 50), 2),
            "p95_ms": c.rnd(p95, 2),
            "p99_ms": c.rnd(c.percentile(ms, 99), 2),
            "max_ms": c.rnd(max(ms), 2) if ms else None,
        },
        "raw_engine_follow": {
            "containers": min(args.raw_containers, len(ids)),
            "lines": len(raw_ms),
            "p50_ms": c.rnd(c.percentile(raw_ms, 50), 2),
            "p95_ms": c.rnd(c.percentile(raw_ms, 95), 2),
            "p99_ms": c.rnd(c.percentile(raw_ms, 99), 2),
        },
        "views": per_view,
        "no_line_lost": complete,
        "engine_connections": {"before": before, "watching": watching, "during": during},
        "log_upstreams_seen": upstreams,
        "log_upstreams_steady": steady,
        "one_upstream_per_container": steady == len(ids),
        "cpu": {
            "dashboard_pct_core": w["dashboard"]["pct_core"],
            "engine_pct_core": c.engine_total(w),
            "machine_busy_pct_core": w["machine_busy_pct_core"],
        },
        "pass": bool(p95 is not None and p95 < GOAL_P95_MS and complete and steady == len(ids)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--rate", type=int, default=100, help="lines per second per container")
    ap.add_argument("--viewers", type=int, default=3, help="merged views of the same selection")
    ap.add_argument("--duration", type=int, default=30, help="seconds of writing")
    ap.add_argument(
        "--raw-containers", type=int, default=2, help="containers also followed raw (baseline)"
    )
    ap.add_argument("--profile", help="py-spy the dashboard into this file (collapsed stacks)")
    args = ap.parse_args()
    c.watchdog(420 + 2 * args.duration)
    out: dict[str, Any] = {
        "bench": "log_merged",
        "containers": args.containers,
        "rate": args.rate,
        "viewers": args.viewers,
        "goal": f"p95 < {GOAL_P95_MS:g} ms; no line lost; one upstream per container",
    }
    return c.run_bench(out, lambda eng, made, dash: asyncio.run(run(args, eng, made, dash)))


if __name__ == "__main__":
    sys.exit(main())
