"""Log search without a database: N containers x M lines of json-file logs, a rare string
searched over all of them through the dashboard (its page, then its websocket), beside the
same logs read raw from the engine in the same run with the same cap on parallel reads per
host and filtered the way `grep -F` would.

Goals (issue 17): dashboard time to done within 1.5x of the raw read; the hits identical
(container and line) to the raw grep; the first hit under 1 s when the first container
holds a match near its start; at most the cap of reads at once (counted inside the search
source: the raw side uses the same cap); engine CPU reported for both.

    .venv/bin/python bench/log_search.py --containers 100 --lines 300000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common as c

from engine_client.log_search import compile_matcher

NEEDLE = "rare-needle-x7q"
PER_HOST = 4  # the dashboard's cap (dashboard/streams/log_search.py PER_HOST_READS)


def make_containers(eng: c.Engine, made: c.Containers, n: int, lines: int) -> list[str]:
    """Container 0 prints the needle near its start; every tenth one at its end too."""
    ids = []
    for i in range(n):
        first = f"echo {NEEDLE} first-{i}; " if i == 0 else ""
        last = f"; echo {NEEDLE} last-{i}" if i % 10 == 0 else ""
        # Lines of some 70 bytes: 300,000 of them make about 20 MB of json-file log.
        pad = "s/$/ of a log line that says nothing in particular, padded out/"
        script = f"{first}seq 1 {lines} | sed '{pad}'{last}"
        ids.append(made.create(["sh", "-c", script]))
    deadline = time.monotonic() + 600
    for cid in ids:
        while eng.client.containers.inspect(cid)["State"]["Running"]:
            if time.monotonic() > deadline:
                raise TimeoutError("the containers did not finish writing")
            time.sleep(0.2)
    return ids


def raw_search(eng: c.Engine, ids: list[str], since: float, until: float) -> dict[str, Any]:
    """The baseline: each log read raw (the engine client, same range), filtered by `in`."""
    client = eng.client.sibling(pool_size=PER_HOST)
    matcher = compile_matcher(NEEDLE)
    hits: list[tuple[str, str]] = []
    first: list[float] = []
    t0 = time.monotonic()

    def read(cid: str) -> None:
        stream = client.containers.logs(cid, since=since, until=until, timestamps=True, tty=False)
        with contextlib.closing(stream):
            for line in stream.lines():
                if matcher(line.text):
                    if not first:
                        first.append(time.monotonic() - t0)
                    hits.append((cid[:12], line.text))

    with ThreadPoolExecutor(PER_HOST) as pool:
        list(pool.map(read, ids))
    done = time.monotonic() - t0
    client.close()
    return {
        "seconds": round(done, 3),
        "first_hit_s": c.rnd(first[0] if first else None),
        "hits": sorted(hits),
    }


async def dashboard_search(dash: c.Dashboard, label: str) -> dict[str, Any]:
    t0 = time.monotonic()
    page = dash.session.get(
        f"{dash.url}/hosts/local/logs/search/",
        params={"label": label, "q": NEEDLE, "range": "1h"},
        timeout=60,
    )
    page.raise_for_status()
    m = re.search(r'data-ws="([^"]+)"', page.text)
    if not m:
        raise RuntimeError("the search page has no socket: " + page.text[-500:])
    ws = await c.ws_connect(dash, html.unescape(m.group(1)))
    names: dict[str, str] = {}
    hits: list[tuple[str, str]] = []
    first = None
    done: dict[str, Any] = {}
    async for raw in ws:
        msg = json.loads(raw)
        for g in msg.get("groups", []):
            cid = re.search(r"/containers/([0-9a-f]{12})", g["head"])
            texts = re.findall(r'<div class="l [^"]*"><time>[^<]*</time>(.*?)</div>', g["lines"])
            if texts and first is None:
                first = time.monotonic() - t0
            for text in texts:
                hits.append((cid.group(1) if cid else g["id"], html.unescape(text)))
            names[g["id"]] = g["head"]
        if "done" in msg:
            done = msg["done"]
            break
    await ws.close()
    return {
        "seconds": round(time.monotonic() - t0, 3),
        "first_hit_s": c.rnd(first),
        "done": done,
        "hits": sorted(hits),
    }


def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    c.log(f"making {args.containers} containers x {args.lines} lines")
    ids = make_containers(eng, made, args.containers, args.lines)
    now = time.time()
    groups = {"dashboard": lambda: [dash.pid], **eng.cpu_groups()}
    cpu = c.CPUMeter(groups)
    cpu.start()
    raw = raw_search(eng, ids, now - 3600, now + 1)
    raw_cpu = cpu.stop()
    c.log(f"raw: {raw['seconds']} s, {len(raw['hits'])} hits")
    cpu = c.CPUMeter(groups)
    cpu.start()
    dashboard = asyncio.run(dashboard_search(dash, f"{c.LABEL}={c.RUN_ID}"))
    dash_cpu = cpu.stop()
    c.log(f"dashboard: {dashboard['seconds']} s, {len(dashboard['hits'])} hits")
    ratio = dashboard["seconds"] / raw["seconds"] if raw["seconds"] else None
    identical = dashboard["hits"] == raw["hits"]
    first_ok = dashboard["first_hit_s"] is not None and dashboard["first_hit_s"] < 1.0
    return {
        "raw": {
            **{k: v for k, v in raw.items() if k != "hits"},
            "hits": len(raw["hits"]),
            "engine_pct_core": c.engine_total(raw_cpu),
            "cpu": raw_cpu,
        },
        "dashboard": {
            **{k: v for k, v in dashboard.items() if k != "hits"},
            "hits": len(dashboard["hits"]),
            "engine_pct_core": c.engine_total(dash_cpu),
            "cpu": dash_cpu,
        },
        "ratio": c.rnd(ratio),
        "hits_identical": identical,
        "first_hit_under_1s": first_ok,
        "pass": bool(identical and first_ok and ratio is not None and ratio <= 1.5),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--lines", type=int, default=30000, help="lines per container (300000: ~20 MB)")
    args = ap.parse_args()
    c.watchdog(1800)
    out: dict[str, Any] = {
        "bench": "log_search",
        "containers": args.containers,
        "lines": args.lines,
        "per_host_cap": PER_HOST,
        "goal": "dashboard within 1.5x of the raw parallel read with the same cap; hits "
        "identical to grep; first hit under 1 s",
    }
    return c.run_bench(out, lambda eng, made, dash: run(args, eng, made, dash))


if __name__ == "__main__":
    sys.exit(main())
