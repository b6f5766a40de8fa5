"""Log throughput: one websocket client reads a long log (tail all, then follow) through
the dashboard, next to a raw `GET /containers/{id}/logs` read of the same log in the same run.

Goal (issue 3): dashboard time within 1.5x the raw read, no line lost or reordered.

The container prints `seq 1 N` and then keeps running, so both reads follow: the raw
baseline is the engine client reading `follow=1&tail=all&timestamps=1` (the dashboard's own
parameters) until it has N lines; a raw non-follow read and a bytes-only read (plain socket,
nothing parsed: the engine's own pace) are reported too. Repeats alternate
raw and dashboard reads (this machine is shared: medians and bests are both reported; the
goal is judged on medians). Each dashboard read starts a fresh upstream (the dashboard runs
with a short linger and the previous upstream is let close first), so none is served from a
replay.

    .venv/bin/python bench/log_throughput.py --lines 200000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from typing import Any

import common as c

GOAL_RATIO = 1.5
LINGER = 0.5  # DASHBOARD_STREAM_LINGER_SECONDS for this bench: fresh upstream every run


def raw_read(eng: c.Engine, cid: str, lines: int, follow: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = 0
    last = ""
    stream = eng.client.containers.logs(cid, follow=follow, tail="all", timestamps=True, tty=False)
    guard = threading.Timer(120, stream.close)  # a follow that never gets N lines ends too
    guard.start()
    with contextlib.closing(stream):
        for batch in stream.batches():
            n += len(batch)
            last = batch[-1].text
            if n >= lines:
                break
    guard.cancel()
    dt = time.perf_counter() - t0
    return {"seconds": round(dt, 4), "lines": n, "lines_per_s": round(n / dt), "last": last}


def raw_bytes_read(eng: c.Engine, cid: str, lines: int) -> dict[str, Any]:
    """The engine's own pace: `GET /containers/{id}/logs?follow=1&tail=all&timestamps=1` on a
    plain socket, bytes counted and nothing parsed, until the last line's bytes arrived."""
    import socket

    assert eng.socket_path, "the bytes-only read needs a unix-socket engine"
    version = eng.client.api_version
    request = (
        f"GET /v{version}/containers/{cid}/logs?stdout=1&stderr=1&tail=all&timestamps=1"
        "&follow=1 HTTP/1.1\r\nHost: engine\r\n\r\n"
    ).encode()
    last = f" {lines}\n".encode()
    t0 = time.perf_counter()
    total = 0
    buf = bytearray(1 << 20)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sk:
        sk.settimeout(120)
        sk.connect(eng.socket_path)
        sk.sendall(request)
        window = b""
        while True:
            n = sk.recv_into(buf)
            if not n:
                break
            total += n
            window = window[-64:] + bytes(buf[max(0, n - 64) : n])
            if last in window:
                break
    dt = time.perf_counter() - t0
    return {"seconds": round(dt, 4), "bytes": total, "lines_per_s": round(lines / dt)}


async def dashboard_read(dash: c.Dashboard, cid: str, lines: int, timeout: float) -> dict[str, Any]:
    messages: list[str] = []
    got = 0
    t0 = time.perf_counter()
    ws = await c.ws_connect(dash, c.logs_ws_path(cid, tail="all"))
    t_open = time.perf_counter()
    t_first = None
    try:
        async with asyncio.timeout(timeout):
            async for raw in ws:
                messages.append(raw)
                # Count without parsing the whole message: "n" is the last key but one.
                msg = json.loads(raw)
                if msg.get("n"):
                    if t_first is None:
                        t_first = time.perf_counter()
                    got += msg["n"]
                if got >= lines:
                    break
    except TimeoutError:
        pass
    dt = time.perf_counter() - t0
    await ws.close()
    numbers: list[int] = []
    for raw in messages:
        for _cls, _ts, text in c.parse_lines(json.loads(raw).get("lines", "")):
            n = c.line_number(text)
            if n is not None:
                numbers.append(n)
    check = c.check_sequence(numbers, lines)
    return {
        "seconds": round(dt, 4),
        "handshake_s": round(t_open - t0, 4),
        "first_lines_s": round((t_first or t0) - t0, 4),
        "lines": got,
        "lines_per_s": round(got / dt),
        "messages": len(messages),
        "bytes": sum(len(m) for m in messages),
        **check,
    }


async def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    cid = made.create(["sh", "-c", f"seq 1 {args.lines}; exec sleep 3600"])
    c.wait_log_lines(eng, cid, str(args.lines))
    c.log(f"container {cid[:12]} has printed {args.lines} lines")
    linger = LINGER
    raw_follow: list[dict[str, Any]] = []
    raw_plain: list[dict[str, Any]] = []
    raw_bytes: list[dict[str, Any]] = []
    dash_runs: list[dict[str, Any]] = []
    # Warm the engine's page cache and our code paths once, unmeasured.
    await asyncio.to_thread(raw_read, eng, cid, args.lines, False)
    profiler = c.start_profiler(dash.pid, args.profile) if args.profile else None
    for i in range(args.repeat):
        raw_bytes.append(await asyncio.to_thread(raw_bytes_read, eng, cid, args.lines))
        raw_follow.append(await asyncio.to_thread(raw_read, eng, cid, args.lines, True))
        c.log(
            f"run {i + 1}: raw follow {raw_follow[-1]['seconds']}s "
            f"({raw_follow[-1]['lines_per_s']}/s); bytes only {raw_bytes[-1]['seconds']}s"
        )
        cpu = c.CPUMeter({"dashboard": lambda: [dash.pid], **eng.cpu_groups()})
        cpu.start()
        d = await dashboard_read(dash, cid, args.lines, timeout=120)
        w = cpu.stop()
        d["dashboard_cpu_s"] = w["dashboard"]["cpu_s"]
        d["engine_cpu_s"] = round(sum(w[k]["cpu_s"] for k in ("dockerd", "containerd", "shims")), 3)
        d["machine_busy_pct_core"] = w["machine_busy_pct_core"]
        dash_runs.append(d)
        c.log(
            f"run {i + 1}: dashboard {d['seconds']}s ({d['lines_per_s']}/s), "
            f"in order: {d['complete_in_order']}, dashboard CPU {d['dashboard_cpu_s']}s, "
            f"engine CPU {d['engine_cpu_s']}s"
        )
        await asyncio.sleep(linger + 1.0)  # let the upstream close: the next run is fresh
        raw_plain.append(await asyncio.to_thread(raw_read, eng, cid, args.lines, False))
        c.log(f"run {i + 1}: raw (no follow) {raw_plain[-1]['seconds']}s")

    if profiler:
        c.stop_profiler(profiler, args.profile)
    raw_s = c.median([r["seconds"] for r in raw_follow])
    raw_plain_s = c.median([r["seconds"] for r in raw_plain])
    dash_s = c.median([d["seconds"] for d in dash_runs])
    ratio = dash_s / raw_s if raw_s else None
    best_raw = min(r["seconds"] for r in raw_follow)
    best_dash = min(d["seconds"] for d in dash_runs)
    complete = all(d["complete_in_order"] for d in dash_runs)
    return {
        "dashboard_seconds": c.rnd(dash_s),
        "dashboard_lines_per_s": round(args.lines / dash_s) if dash_s else None,
        "raw_follow_seconds": c.rnd(raw_s),
        "raw_follow_lines_per_s": round(args.lines / raw_s) if raw_s else None,
        "raw_nofollow_seconds": c.rnd(raw_plain_s),
        "raw_bytes_only_seconds": c.rnd(c.median([r["seconds"] for r in raw_bytes])),
        "ratio_dashboard_to_raw": c.rnd(ratio),
        "ratio_dashboard_to_raw_nofollow": c.rnd(dash_s / raw_plain_s) if raw_plain_s else None,
        "ratio_best_to_best": c.rnd(best_dash / best_raw),
        "dashboard_cpu_s_median": c.median([d["dashboard_cpu_s"] for d in dash_runs]),
        "loadavg_end": c.loadavg(),
        "all_lines_in_order": complete,
        "runs": {
            "raw_bytes_only": raw_bytes,
            "raw_follow": raw_follow,
            "raw_nofollow": raw_plain,
            "dashboard": dash_runs,
        },
        "goal": f"dashboard time <= {GOAL_RATIO}x raw, no line lost or reordered",
        "pass": bool(complete and ratio is not None and ratio <= GOAL_RATIO),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", help="py-spy the dashboard into this file (collapsed stacks)")
    args = ap.parse_args()
    c.watchdog(900)
    out: dict[str, Any] = {"bench": "log_throughput", "lines": args.lines, "repeat": args.repeat}
    return c.run_bench(
        out,
        lambda eng, made, dash: asyncio.run(run(args, eng, made, dash)),
        dashboard_env={"DASHBOARD_STREAM_LINGER_SECONDS": str(LINGER)},
    )


if __name__ == "__main__":
    sys.exit(main())
