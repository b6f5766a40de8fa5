"""Log fan-out: N websocket clients follow one container's logs through the dashboard.

Goal (issue 3): every client receives every line, in order, and the engine sees exactly 1
upstream logs connection from the dashboard while they watch (counted from outside: the
engine socket's connections whose peer is a daphne fd with a thread blocked reading it);
10 s after the last client leaves, 0.

    .venv/bin/python bench/log_fanout.py --viewers 50 [--lines 10000 --rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import common as c


async def viewer(
    dash: c.Dashboard, path: str, out: dict[str, Any], done_evt: asyncio.Event
) -> None:
    ws = await c.ws_connect(dash, path)
    out["ws"] = ws
    out["messages"] = []
    out["connected_at"] = time.monotonic()
    try:
        async for raw in ws:
            out["messages"].append(raw)
            if '"END' in raw or "END</div>" in raw:
                out["done_at"] = time.monotonic()
                break
    except Exception as exc:  # noqa: BLE001 - reported
        out["error"] = repr(exc)
    finally:
        done_evt.set()


def analyse(messages: list[str], lines: int) -> dict[str, Any]:
    numbers: list[int] = []
    end = False
    states = []
    for raw in messages:
        msg = json.loads(raw)
        if "status" in msg:
            states.append(msg["status"].get("state"))
        for _cls, _ts, text in c.parse_lines(msg.get("lines", "")):
            if text == "END":
                end = True
                continue
            n = c.line_number(text)
            if n is not None:
                numbers.append(n)
    res = c.check_sequence(numbers, lines)
    res["end_seen"] = end
    res["states"] = sorted({s for s in states if s})
    return res


async def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    sock = eng.socket_path
    assert sock, "counting connections needs a unix-socket engine"

    cid = made.create(c.rate_writer(args.rate, args.lines, gate="go"))
    c.log(
        f"container {cid[:12]}: {args.lines} lines at {args.rate or 'full speed'}/s after the gate"
    )

    # Verify the counter on connections this process opens itself.
    selftest = await asyncio.to_thread(c.selftest_connection_counter, eng, cid)
    result["counter_selftest"] = selftest
    c.log(
        f"connection counter selftest: {'ok' if selftest['ok'] else 'FAILED'} {selftest['during']}"
    )

    before = await asyncio.to_thread(c.engine_connections, dash.pid, sock)
    result["dashboard_engine_connections_before"] = before
    c.log(f"dashboard -> engine connections before viewers: {before}")

    path = c.logs_ws_path(cid, tail="all")
    states: list[dict[str, Any]] = [{} for _ in range(args.viewers)]
    done_evts = [asyncio.Event() for _ in range(args.viewers)]
    t_conn = time.monotonic()
    tasks = [
        asyncio.create_task(viewer(dash, path, st, ev))
        for st, ev in zip(states, done_evts, strict=True)
    ]
    # Wait until every viewer is connected.
    deadline = time.monotonic() + 60
    while sum(1 for st in states if "ws" in st or "error" in st) < args.viewers:
        if time.monotonic() > deadline:
            raise TimeoutError("viewers did not connect in 60 s")
        await asyncio.sleep(0.05)
    result["connect_all_seconds"] = round(time.monotonic() - t_conn, 3)
    errors = [st["error"] for st in states if "error" in st]
    c.log(
        f"{args.viewers} viewers connected in {result['connect_all_seconds']}s; "
        f"errors: {len(errors)}"
    )
    await asyncio.sleep(1.0)

    samples: list[dict[str, int]] = []
    samples.append(await asyncio.to_thread(c.engine_connections, dash.pid, sock))
    c.log(f"connections with viewers, before lines: {samples[-1]}")

    cpu = c.CPUMeter({"dashboard": lambda: [dash.pid], **eng.cpu_groups()})
    cpu.start()
    made.put_file(cid, "/tmp", "go")
    t_start = time.monotonic()
    c.log("gate open: lines flowing")

    async def sampler() -> None:
        while not all(ev.is_set() for ev in done_evts):
            samples.append(await asyncio.to_thread(c.engine_connections, dash.pid, sock))
            await asyncio.sleep(0.5)

    sampling = asyncio.create_task(sampler())
    timeout = (args.lines / args.rate if args.rate else 10) + 60
    try:
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in done_evts)), timeout)
    except TimeoutError:
        c.log(f"not every viewer saw END within {timeout:.0f}s")
    t_end = time.monotonic()
    await sampling
    window = cpu.stop()
    result["stream_seconds"] = round(t_end - t_start, 3)
    result["cpu"] = {
        "dashboard_pct_core": window["dashboard"]["pct_core"],
        "engine_pct_core": c.engine_total(window),
        "window": window,
    }
    c.log(f"streaming took {result['stream_seconds']}s; connection samples: {len(samples)}")

    # Everyone leaves.
    for st in states:
        ws = st.get("ws")
        if ws is not None:
            await ws.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    t_left = time.monotonic()
    c.log("all viewers left; watching the upstream close")
    after: dict[str, Any] = {}
    for mark in (1, 3, 6, 10):
        await asyncio.sleep(max(0.0, t_left + mark - time.monotonic()))
        after[f"{mark}s"] = await asyncio.to_thread(c.engine_connections, dash.pid, sock)
        c.log(f"  +{mark}s: {after[f'{mark}s']}")

    per_viewer = [analyse(st.get("messages", []), args.lines) for st in states]
    ok_viewers = sum(1 for r in per_viewer if r["complete_in_order"] and r["end_seen"])
    bad = [dict(r, viewer=i) for i, r in enumerate(per_viewer) if not r["complete_in_order"]]
    latencies = [st["done_at"] - t_start for st in states if "done_at" in st]

    streaming = [s["streaming"] for s in samples]
    totals = [s["total"] for s in samples]
    result.update(
        {
            "viewers_complete_in_order": ok_viewers,
            "viewer_errors": errors[:5],
            "bad_viewers": bad[:5],
            "lines_per_viewer": per_viewer[0]["received"] if per_viewer else 0,
            "last_viewer_done_seconds": c.rnd(max(latencies)) if latencies else None,
            "upstream_logs_connections_while_watching": {
                "min": min(streaming),
                "max": max(streaming),
                "samples": len(streaming),
            },
            "engine_connections_total_while_watching": {"min": min(totals), "max": max(totals)},
            "after_last_left": after,
            "upstream_logs_connections_10s_after": after["10s"]["streaming"],
            "engine_connections_10s_after_minus_before": after["10s"]["total"] - before["total"],
        }
    )
    result["pass"] = bool(
        selftest["ok"]
        and ok_viewers == args.viewers
        and min(streaming) == 1
        and max(streaming) == 1
        and after["10s"]["streaming"] == 0
        and after["10s"]["total"] <= before["total"]
    )
    return result


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--lines", type=int, default=10000, help="lines the container prints")
    ap.add_argument(
        "--rate", type=int, default=1000, help="lines per second (0: as fast as it can)"
    )
    args = ap.parse_args()
    c.watchdog(600 + (args.lines / args.rate if args.rate else 0))
    out: dict[str, Any] = {
        "bench": "log_fanout",
        "viewers": args.viewers,
        "lines": args.lines,
        "rate": args.rate,
        "goal": "every viewer gets every line in order; exactly 1 upstream logs connection "
        "while watching; 0 ten seconds after the last viewer leaves",
    }
    return c.run_bench(out, lambda eng, made, dash: asyncio.run(run(args, eng, made, dash)))


if __name__ == "__main__":
    sys.exit(main())
