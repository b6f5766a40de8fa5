"""Browser memory of a merged view (issue 17): headless Chromium on the merged logs page of
`--containers` busy containers (each writing `--rate` lines a second) for `--duration`
seconds. Every `--every` seconds: the lines in the page, the lines received, the JS heap
(CDP Performance.getMetrics JSHeapUsedSize, and performance.memory), DOM nodes, and the
RSS of Chromium's renderer processes.

Goal: the JS heap stays under 100 MB; the lines in the page stay bounded (data-max-lines);
the page keeps up (receives >= 95% of the lines written).

    .venv/bin/python bench/browser_merged.py [--containers 20 --rate 100 --duration 60]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import common as c
from browser_logs import follow_in_chromium


def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    for _ in range(args.containers):
        made.create(c.rate_writer(args.rate))
    c.log(f"{args.containers} containers writing {args.rate} lines/s each")
    path = f"/hosts/local/logs/?label={c.LABEL}%3D{c.RUN_ID}"
    return follow_in_chromium(args, eng, dash, path, args.containers * args.rate)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--rate", type=int, default=100, help="lines per second per container")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--every", type=float, default=10)
    args = ap.parse_args()
    c.watchdog(300 + 2 * args.duration)
    out: dict[str, Any] = {
        "bench": "browser_merged",
        "containers": args.containers,
        "rate": args.rate,
        "duration": args.duration,
    }
    return c.run_bench(out, lambda eng, made, dash: run(args, eng, made, dash))


if __name__ == "__main__":
    sys.exit(main())
