"""Service logs: one websocket client reads a service's logs merged from its two tasks (one on
each node of the lab's two-node swarm) through the dashboard, next to a raw
`GET /services/{id}/logs?details=1&timestamps=1&follow=1&tail=all` read in the same run.

Each task prints `seq 1 N` and keeps running. The dashboard names every line's task and node
(from the `details=1` prefix), so the check is per task: 1..N, each once, in order.

The two lab engines must be up (`lab/engine-lab up` starts both) and out of any swarm: the
bench makes the swarm and takes it apart again. DOCKER_HOST (default the lab's first engine)
and BENCH_DOCKER_HOST2 (default unix:///run/dl/n2.sock) name them; BENCH_SWARM_ADDR1/2 the
addresses of the lab's link (10.99.0.1/2).

    .venv/bin/python bench/service_logs.py --lines 50000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import common as c

from engine_client import EngineClient, EngineError

HOST2 = os.environ.get("BENCH_DOCKER_HOST2") or "unix:///run/dl/n2.sock"
ADDR1 = os.environ.get("BENCH_SWARM_ADDR1") or "10.99.0.1"
ADDR2 = os.environ.get("BENCH_SWARM_ADDR2") or "10.99.0.2"
LINGER = 0.5
_TASK = re.compile(r'<span class="task" data-task="(\w+)">.*?</span></span>(\d+)')


def raw_read(client: EngineClient, sid: str, total: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = 0
    stream = client.services.logs(sid, follow=True, tail="all", timestamps=True)
    guard = threading.Timer(120, stream.close)
    guard.start()
    with contextlib.closing(stream):
        for batch in stream.batches():
            n += len(batch)
            if n >= total:
                break
    guard.cancel()
    dt = time.perf_counter() - t0
    return {"seconds": round(dt, 4), "lines": n, "lines_per_s": round(n / dt)}


async def dashboard_read(dash: c.Dashboard, sid: str, total: int, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    ws = await c.ws_connect(dash, f"/ws/hosts/local/swarm/services/{sid}/logs/?tail=all")
    got, messages = 0, []
    try:
        async with asyncio.timeout(120):
            async for raw in ws:
                messages.append(raw)
                got += json.loads(raw).get("n") or 0
                if got >= total:
                    break
    except TimeoutError:
        pass
    dt = time.perf_counter() - t0
    await ws.close()
    per_task: dict[str, list[int]] = defaultdict(list)
    for raw in messages:
        for m in _TASK.finditer(json.loads(raw).get("lines", "")):
            per_task[m.group(1)].append(int(m.group(2)))
    in_order = len(per_task) == 2 and all(v == list(range(1, n + 1)) for v in per_task.values())
    return {
        "seconds": round(dt, 4),
        "lines": got,
        "lines_per_s": round(got / dt),
        "tasks": len(per_task),
        "complete_in_order_per_task": in_order,
    }


def make_swarm(manager: EngineClient, worker: EngineClient) -> None:
    for client in (manager, worker):
        if client.swarm.local_state()["state"] != "inactive":
            raise SystemExit(f"{client.url} is in a swarm already: the bench needs it out")
    manager.swarm.init(f"{ADDR1}:2377", ADDR1)
    token = manager.swarm.inspect()["JoinTokens"]["Worker"]
    worker.swarm.join([f"{ADDR1}:2377"], token, f"{ADDR2}:2377", ADDR2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        nodes = manager.nodes.list()
        if len(nodes) == 2 and all(x["Status"]["State"] == "ready" for x in nodes):
            return
        time.sleep(0.3)
    raise RuntimeError("the two nodes did not become ready")


def measure(args: argparse.Namespace, eng: c.Engine, dash: c.Dashboard) -> dict[str, Any]:
    from engine_client.service_spec import ServiceSpec

    worker = EngineClient(HOST2, timeout=60)
    make_swarm(eng.client, worker)
    try:
        spec = ServiceSpec(
            name=f"bench-{c.RUN_ID}",
            image=c.IMAGE,
            replicas=2,
            max_replicas_per_node=1,
            args=["sh", "-c", f"seq 1 {args.lines}; exec sleep 3600"],
            labels={c.LABEL: c.RUN_ID},
            stop_grace=10**8,
        ).body()
        sid = eng.client.services.create(spec)["ID"]
        total = 2 * args.lines
        deadline = time.monotonic() + 120
        while raw_read(eng.client, sid, total)["lines"] < total:  # both tasks have printed
            if time.monotonic() > deadline:
                raise RuntimeError("the tasks did not print their lines")
            time.sleep(0.5)
        nodes = {t["NodeID"] for t in eng.client.tasks.list(filters={"service": [sid]})}
        c.log(f"service {sid} printed {total} lines on {len(nodes)} nodes")
        raws, dashes = [], []
        for i in range(args.repeat):
            raws.append(raw_read(eng.client, sid, total))
            cpu = c.CPUMeter({"dashboard": lambda: [dash.pid]})
            cpu.start()
            d = asyncio.run(dashboard_read(dash, sid, total, args.lines))
            d["dashboard_cpu_s"] = cpu.stop()["dashboard"]["cpu_s"]
            dashes.append(d)
            c.log(f"run {i + 1}: raw {raws[-1]['seconds']}s, dashboard {d['seconds']}s, {d}")
            time.sleep(LINGER + 1.0)  # a fresh upstream for the next run
        raw_s = c.median([r["seconds"] for r in raws])
        dash_s = c.median([d["seconds"] for d in dashes])
        return {
            "nodes": len(nodes),
            "lines": total,
            "raw_follow_seconds": c.rnd(raw_s),
            "raw_lines_per_s": round(total / raw_s) if raw_s else None,
            "dashboard_seconds": c.rnd(dash_s),
            "dashboard_lines_per_s": round(total / dash_s) if dash_s else None,
            "ratio_dashboard_to_raw": c.rnd(dash_s / raw_s) if raw_s else None,
            "dashboard_cpu_s_median": c.median([d["dashboard_cpu_s"] for d in dashes]),
            "complete_in_order_per_task": all(d["complete_in_order_per_task"] for d in dashes),
            "goal": "dashboard <= 1.5x raw, every task's lines complete and in order",
            "pass": all(d["complete_in_order_per_task"] for d in dashes)
            and len(nodes) == 2
            and bool(raw_s and dash_s / raw_s <= 1.5),
        }
    finally:
        with contextlib.suppress(EngineError):
            for s in eng.client.services.list(filters={"label": [f"{c.LABEL}={c.RUN_ID}"]}):
                eng.client.services.remove(s["ID"])
        for client in (worker, eng.client):
            with contextlib.suppress(EngineError):
                client.swarm.leave(force=True)
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50000, help="lines per task")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    c.watchdog(900)
    out: dict[str, Any] = {"bench": "service_logs", "lines_per_task": args.lines}
    env = {"DASHBOARD_STREAM_LINGER_SECONDS": str(LINGER)}
    return c.run_bench(out, lambda eng, made, dash: measure(args, eng, dash), dashboard_env=env)


if __name__ == "__main__":
    sys.exit(main())
