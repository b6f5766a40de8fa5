"""Log search without a database: N containers x M MB of json-file logs each, a rare string
searched over all of them through the dashboard (its page, then its websocket), beside the
same logs read raw from the engine in the same run with the same cap on parallel reads per
host, and `docker logs | grep -Fi` over each container.

Goals (issue 17): dashboard time to done within 1.5x of the raw read; the hits identical
(container and line) to the raw read's and to grep's; the first hit under 1 s when the first
container holds a match near its start (timed from the socket's connect, which starts the
search, to the first hit received; the page's load is reported apart); at most the cap of
reads at once, counted from outside (the dashboard's streaming engine connections, as
bench/log_fanout.py counts them); engine CPU reported for both. A search takes at most 50
containers, so 100 are searched as two searches of 50, one after the other.

    .venv/bin/python bench/log_search.py --containers 100 --mb 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common as c

from engine_client.log_search import compile_matcher

NEEDLE = "rare-needle-x7q"
PER_HOST = 4  # the dashboard's cap (dashboard/streams/log_search.py PER_HOST_READS)


# Lines of some 70 bytes; in json-file each becomes about 135 bytes with its stream and time.
FILLER = "of a log line that says nothing in particular, padded out to size"
BLOCK_LINES = 200
JSON_LINE_BYTES = 135
HALF_LABEL = "dashboard.bench.half"


def make_containers(eng: c.Engine, made: c.Containers, n: int, mb: float) -> dict[str, Any]:
    """n containers each writing about `mb` MB of json-file log fast: a shell loop printing a
    block of lines made once (one write per block, no process per line). Container 0 prints
    the needle as its first line, every tenth one as its last line too. Named in creation
    order (the search reads its selection oldest first). Waits until each has exited and its
    log file has its size; returns the ids and the log sizes."""
    blocks = max(1, int(mb * 1e6 / (BLOCK_LINES * JSON_LINE_BYTES)))
    make_block = (
        f'b=""; i=0; while [ $i -lt {BLOCK_LINES} ]; do b="$b$i {FILLER}\n"; i=$((i+1)); done; '
    )
    ids = []
    for i in range(n):
        first = f"echo {NEEDLE} first-{i}; " if i == 0 else ""
        last = f"; echo {NEEDLE} last-{i}" if i % 10 == 0 else ""
        script = (
            f'{first}{make_block}n=0; while [ $n -lt {blocks} ]; do printf %s "$b"; n=$((n+1)); '
            f"done{last}"
        )
        half = "a" if i < n / 2 else "b"
        ids.append(
            made.create(
                ["sh", "-c", script],
                name=f"bench-{c.RUN_ID}-{i:03d}",
                Labels={HALF_LABEL: f"{c.RUN_ID}-{half}"},
            )
        )
    deadline = time.monotonic() + 1800
    sizes = []
    for cid in ids:
        while True:
            info = eng.client.containers.inspect(cid)
            if not info["State"]["Running"]:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the containers did not finish writing")
            time.sleep(0.5)
        with contextlib.suppress(OSError):
            sizes.append(os.path.getsize(info["LogPath"]))
    return {
        "ids": ids,
        "log_mb_min": round(min(sizes) / 1e6, 1) if sizes else None,
        "log_mb_total": round(sum(sizes) / 1e6, 1) if sizes else None,
    }


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


def grep_docker_logs(eng: c.Engine, ids: list[str], since: float, until: float) -> list:
    """The reference hits: `docker logs` of each container piped into `grep -Fi`."""
    docker = shutil.which("docker") or "docker"

    def one(cid: str) -> list[tuple[str, str]]:
        logs = subprocess.Popen(
            [docker, "-H", eng.docker_host, "logs", "--since", f"{since:.3f}"]
            + ["--until", f"{until:.3f}", cid],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        grep = subprocess.run(
            ["grep", "-Fi", NEEDLE], stdin=logs.stdout, capture_output=True, text=True
        )
        logs.wait()
        return [(cid[:12], line) for line in grep.stdout.splitlines()]

    with ThreadPoolExecutor(PER_HOST) as pool:
        return sorted(h for hits in pool.map(one, ids) for h in hits)


class ConnectionWatch:
    """The dashboard's connections to the engine, counted from outside while a search runs:
    the most streaming at once, less those streaming before it (the events stream)."""

    def __init__(self, dash: c.Dashboard, eng: c.Engine) -> None:
        self.pid, self.sock = dash.pid, eng.socket_path or ""
        self.before = c.engine_connections(self.pid, self.sock)["streaming"]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            # One look at a time: several looks would count a read that just ended and
            # the one that followed it on a new connection as two at once.
            seen = c.engine_connections(self.pid, self.sock, samples=1)
            self.peak = max(self.peak, seen["streaming"])

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return {
            "streaming_before": self.before,
            "streaming_peak": self.peak,
            "search_reads_peak": self.peak - self.before,
        }


async def dashboard_search(dash: c.Dashboard, label: str) -> dict[str, Any]:
    """One search through its page and socket. The first hit is timed from the moment the
    socket is opened (the search starts on its connect), not counting the page's load."""
    t0 = time.monotonic()
    page = dash.session.get(
        f"{dash.url}/hosts/local/logs/search/",
        params={"label": label, "q": NEEDLE, "range": "1h"},
        timeout=60,
    )
    page.raise_for_status()
    page_s = time.monotonic() - t0
    m = re.search(r'data-ws="([^"]+)"', page.text)
    if not m:
        raise RuntimeError("the search page has no socket: " + page.text[-500:])
    t1 = time.monotonic()
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
                first = time.monotonic() - t1
            for text in texts:
                hits.append((cid.group(1) if cid else g["id"], html.unescape(text)))
            names[g["id"]] = g["head"]
        if "done" in msg:
            done = msg["done"]
            break
    await ws.close()
    return {
        "seconds": round(time.monotonic() - t0, 3),
        "page_s": c.rnd(page_s),
        "first_hit_s": c.rnd(first),
        "done": done,
        "hits": sorted(hits),
    }


def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    c.log(f"making {args.containers} containers x {args.mb} MB of log")
    t0 = time.monotonic()
    made_logs = make_containers(eng, made, args.containers, args.mb)
    ids = made_logs.pop("ids")
    c.log(f"logs written in {time.monotonic() - t0:.0f} s: {made_logs}")
    now = time.time()
    since, until = now - 3600, now + 1
    groups = {"dashboard": lambda: [dash.pid], **eng.cpu_groups()}
    cpu = c.CPUMeter(groups)
    cpu.start()
    raw = raw_search(eng, ids, since, until)
    raw_cpu = cpu.stop()
    c.log(f"raw: {raw['seconds']} s, {len(raw['hits'])} hits")
    # A search takes at most 50 containers (log_selection.SELECTION_MAX): more are searched
    # as halves of 50, one after the other, each with the same cap.
    halves = [f"{HALF_LABEL}={c.RUN_ID}-a", f"{HALF_LABEL}={c.RUN_ID}-b"]
    if args.containers <= 50:
        halves = [f"{c.LABEL}={c.RUN_ID}"]
    cpu = c.CPUMeter(groups)
    cpu.start()
    watch = ConnectionWatch(dash, eng)
    parts = [asyncio.run(dashboard_search(dash, label)) for label in halves]
    reads = watch.stop()
    dash_cpu = cpu.stop()
    dashboard = {
        "seconds": round(sum(p["seconds"] for p in parts), 3),
        "page_s": [p["page_s"] for p in parts],
        "first_hit_s": parts[0]["first_hit_s"],
        "done": [p["done"] for p in parts],
        "hits": sorted(h for p in parts for h in p["hits"]),
    }
    c.log(f"dashboard: {dashboard['seconds']} s, {len(dashboard['hits'])} hits")
    c.log("grep over docker logs")
    grepped = grep_docker_logs(eng, ids, since, until)
    ratio = dashboard["seconds"] / raw["seconds"] if raw["seconds"] else None
    identical = dashboard["hits"] == raw["hits"] == grepped
    first_ok = dashboard["first_hit_s"] is not None and dashboard["first_hit_s"] < 1.0
    return {
        **made_logs,
        "searches": len(halves),
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
            "engine_connections": reads,
        },
        "grep_docker_logs_hits": len(grepped),
        "ratio": c.rnd(ratio),
        "hits_identical": identical,
        "first_hit_under_1s": first_ok,
        "cap_kept": reads["search_reads_peak"] <= PER_HOST,
        "pass": bool(
            identical
            and first_ok
            and ratio is not None
            and ratio <= 1.5
            and reads["search_reads_peak"] <= PER_HOST
        ),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--mb", type=float, default=2.0, help="MB of json-file log per container")
    args = ap.parse_args()
    c.watchdog(3600)
    out: dict[str, Any] = {
        "bench": "log_search",
        "containers": args.containers,
        "mb_each": args.mb,
        "per_host_cap": PER_HOST,
        "goal": "dashboard within 1.5x of the raw parallel read with the same cap; hits "
        "identical to grep; first hit under 1 s",
    }
    return c.run_bench(out, lambda eng, made, dash: run(args, eng, made, dash))


if __name__ == "__main__":
    sys.exit(main())
