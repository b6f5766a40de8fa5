"""The containers list's "errors in the last hour" column at 50 rows (issue 17): the page
with the column next to the page without it, in the same run, and the floor under the
column's cost: the same 50 logs read raw from the engine with the same cap (4 reads at
once), plus the raw list call.

The dashboard runs with DASHBOARD_LOG_ERROR_CACHE_SECONDS=0, so every page with the column
counts again (its cold cost: what the first viewer after a minute pays); within the cache's
minute the column costs a cache lookup per row (the "warm" figure: the same pages on a
second dashboard that keeps counts). Each container wrote `--lines` lines, `i % 5` of them
error lines: the counts shown are checked against that.

    .venv/bin/python bench/errors_column.py --rows 50 --lines 5000
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common as c

PER_HOST = 4  # the dashboard's cap (dashboard/streams/log_search.py PER_HOST_READS)


def make_containers(eng: c.Engine, made: c.Containers, n: int, lines: int) -> dict[str, int]:
    """n running containers, each `lines` lines of which i % 5 say ERROR; id -> errors."""
    want = {}
    for i in range(n):
        errors = i % 5
        script = (
            f"seq 1 {lines - errors} | sed 's/$/ request served in 3 ms, nothing to report/'; "
            f'for k in $(seq 1 {errors}); do echo "ERROR: failure $k"; done; '
            "echo END; exec sleep 3600"
        )
        want[made.create(["sh", "-c", script])] = errors
    for cid in want:
        c.wait_log_lines(eng, cid, "END")
    return want


def raw_floor(eng: c.Engine, ids: list[str]) -> float:
    """The raw list call, then every log's last hour read with the same cap."""
    client = eng.client.sibling(pool_size=PER_HOST)
    t0 = time.perf_counter()
    client.containers.list(all=True)
    now = time.time()

    def read(cid: str) -> int:
        stream = client.containers.logs(cid, since=now - 3600, until=now, tty=False)
        with contextlib.closing(stream):
            return sum(1 for line in stream.lines() if "ERROR" in line.text)

    with ThreadPoolExecutor(PER_HOST) as pool:
        list(pool.map(read, ids))
    took = time.perf_counter() - t0
    client.close()
    return took


def page(dash: c.Dashboard, errors: bool) -> tuple[float, dict[str, str]]:
    params = {"q": f"bench-{c.RUN_ID}", "per": "50", **({"errors": "on"} if errors else {})}
    t0 = time.perf_counter()
    r = dash.session.get(f"{dash.url}/hosts/local/containers/", params=params, timeout=120)
    took = time.perf_counter() - t0
    r.raise_for_status()
    cells = dict(re.findall(r'id="errors-([0-9a-f]{12})"[^>]*data-count="([^"]*)"', r.text))
    return took, cells


def measure(dash: c.Dashboard, want: dict[str, int], repeats: int) -> dict[str, Any]:
    page(dash, False)  # the first page of a process warms its templates and container cache
    off: list[float] = []
    on: list[float] = []
    wrong: dict[str, Any] = {}
    for _ in range(repeats):
        off.append(page(dash, False)[0])
        took, cells = page(dash, True)
        on.append(took)
        for cid, n in want.items():
            if cells.get(cid[:12]) != str(n):
                wrong[cid[:12]] = {"want": n, "shown": cells.get(cid[:12])}
    return {
        "page_without_column_s": c.rnd(c.median(off)),
        "page_with_column_s": c.rnd(c.median(on)),
        "column_cost_s": c.rnd((c.median(on) or 0) - (c.median(off) or 0)),
        "counts_wrong": wrong,
    }


def run(args: argparse.Namespace, eng: c.Engine, made: c.Containers, cold: c.Dashboard) -> dict:
    c.log(f"making {args.rows} containers x {args.lines} lines")
    want = make_containers(eng, made, args.rows, args.lines)
    floors = [raw_floor(eng, list(want)) for _ in range(args.repeats)]
    c.log("cold: every page with the column counts again")
    out_cold = measure(cold, want, args.repeats)
    c.log("warm: counts kept a minute")
    with c.dashboard(eng) as warm:
        page(warm, True)  # counts them once
        out_warm = measure(warm, want, args.repeats)
    ok = not out_cold["counts_wrong"] and not out_warm["counts_wrong"]
    return {
        "raw_list_and_logs_s": c.rnd(c.median(floors)),
        "cold": out_cold,
        "warm": out_warm,
        "cold_vs_raw_floor": c.rnd((out_cold["column_cost_s"] or 0) / (c.median(floors) or 1)),
        "pass": ok,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--lines", type=int, default=5000, help="lines per container's hour")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    c.watchdog(1200)
    out: dict[str, Any] = {
        "bench": "errors_column",
        "rows": args.rows,
        "lines": args.lines,
        "per_host_cap": PER_HOST,
        "goal": "the column's cost at 50 rows reported next to the page without it; counts right",
    }
    return c.run_bench(
        out,
        lambda eng, made, dash: run(args, eng, made, dash),
        dashboard_env={"DASHBOARD_LOG_ERROR_CACHE_SECONDS": "0"},
    )


if __name__ == "__main__":
    sys.exit(main())
