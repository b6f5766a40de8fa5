"""Browser logs: headless Chromium follows, on the logs page, a container writing `--rate`
lines a second for `--duration` seconds. Every `--every` seconds: the page's line count
(`#log-view` children), the lines it has received (`data-received`), its JS heap
(CDP Performance.getMetrics JSHeapUsedSize, and performance.memory), its DOM node count,
the RSS of Chromium's renderer processes (the DOM lives outside the JS heap).

Goal (issue 3): the page's line count stays bounded (at most its data-max-lines) and its JS
heap stays under 100 MB; the page keeps up (receives >= 95% of the lines written).

    .venv/bin/python bench/browser_logs.py [--rate 1000 --duration 60 --every 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import common as c

HEAP_GOAL = 100 * 1024 * 1024

PROBE = """() => {
  const v = document.getElementById("log-view");
  return {
    lines: v ? v.childElementCount : null,
    max_lines: v ? parseInt(v.getAttribute("data-max-lines") || "0", 10) : null,
    received: v ? parseInt(v.getAttribute("data-received") || "0", 10) : null,
    heap: performance.memory ? performance.memory.usedJSHeapSize : null,
    state: (document.getElementById("log-state") || {}).textContent || null,
  };
}"""


def run(
    args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard
) -> dict[str, Any]:
    cid = made.create(c.rate_writer(args.rate))
    c.log(f"container {cid[:12]} writing {args.rate} lines/s")
    return follow_in_chromium(args, eng, dash, f"/hosts/local/containers/{cid}/logs/", args.rate)


def follow_in_chromium(
    args: argparse.Namespace, eng: c.Engine, dash: c.Dashboard, path: str, written: float
) -> dict[str, Any]:
    """Chromium on the log page at `path` (the single log, or a merged view) for
    `args.duration` s, sampled every `args.every` s; `written`: lines a second written."""
    from playwright.sync_api import sync_playwright

    samples: list[dict[str, Any]] = []
    console_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=c.CHROMIUM, args=c.CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.add_cookies(
                [
                    {"name": k, "value": v, "url": dash.url}
                    for k, v in dash.session.cookies.items()
                    if k in ("sessionid", "csrftoken")
                ]
            )
            page = ctx.new_page()
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            cdp = ctx.new_cdp_session(page)
            cdp.send("Performance.enable")
            url = dash.url + path
            page.goto(url, wait_until="load")
            page.wait_for_function(
                "() => parseInt(document.getElementById('log-view')"
                ".getAttribute('data-received') || '0', 10) > 0",
                timeout=60000,
            )
            t0 = time.monotonic()
            received0 = page.evaluate(PROBE)["received"] or 0
            cpu = c.CPUMeter({"dashboard": lambda: [dash.pid], **eng.cpu_groups()})
            cpu.start()
            c.log(f"page following {url}")
            next_at = t0
            while True:
                next_at += args.every
                time.sleep(max(0.0, next_at - time.monotonic()))
                probe = page.evaluate(PROBE)
                metrics = {
                    m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                }
                sample = {
                    "t": round(time.monotonic() - t0, 1),
                    "lines_in_page": probe["lines"],
                    "received": probe["received"],
                    "js_heap_mb": round(metrics.get("JSHeapUsedSize", 0) / 2**20, 2),
                    "js_heap_total_mb": round(metrics.get("JSHeapTotalSize", 0) / 2**20, 2),
                    "perf_memory_mb": round(probe["heap"] / 2**20, 2) if probe["heap"] else None,
                    "dom_nodes": int(metrics.get("Nodes", 0)),
                    "renderer_rss_mb": round(c.chromium_renderer_rss() / 2**20, 1),
                    "dashboard_rss_mb": round((dash.rss() or 0) / 2**20, 1),
                    "state": probe["state"],
                }
                # Nodes the page dropped stay counted until a garbage collection (a small JS
                # heap makes those rare): counted again after one, a leak stays, lag goes.
                cdp.send("HeapProfiler.collectGarbage")
                after_gc = cdp.send("Performance.getMetrics")["metrics"]
                sample["dom_nodes_after_gc"] = int(
                    next((m["value"] for m in after_gc if m["name"] == "Nodes"), 0)
                )
                samples.append(sample)
                c.log(
                    f"t={sample['t']}s lines={sample['lines_in_page']} "
                    f"received={sample['received']} heap={sample['js_heap_mb']}MB "
                    f"nodes={sample['dom_nodes']} (after GC {sample['dom_nodes_after_gc']}) "
                    f"renderer RSS={sample['renderer_rss_mb']}MB"
                )
                if sample["t"] >= args.duration - 0.5:
                    break
            w = cpu.stop()
            max_lines = probe["max_lines"]
            got = (samples[-1]["received"] or 0) - received0
            span = time.monotonic() - t0
        finally:
            browser.close()
    counts = [s["lines_in_page"] or 0 for s in samples]
    heaps = [s["js_heap_mb"] for s in samples]
    rate = got / span if span else 0
    return {
        "samples": samples,
        "max_lines_setting": max_lines,
        "max_lines_in_page": max(counts),
        "max_js_heap_mb": max(heaps),
        "max_dom_nodes": max(s["dom_nodes"] for s in samples),
        "max_dom_nodes_after_gc": max(s["dom_nodes_after_gc"] for s in samples),
        "max_renderer_rss_mb": max(s["renderer_rss_mb"] for s in samples),
        "received_rate": round(rate, 1),
        "written_rate": written,
        "console_errors": console_errors[:5],
        "cpu": {
            "dashboard_pct_core": w["dashboard"]["pct_core"],
            "engine_pct_core": c.engine_total(w),
            "machine_busy_pct_core": w["machine_busy_pct_core"],
        },
        "goal": "lines in the page bounded (<= data-max-lines), JS heap < 100 MB, "
        "page receives >= 95% of the lines written",
        "pass": bool(
            max(counts) <= (max_lines or 5000)
            and max(heaps) * 2**20 < HEAP_GOAL
            and rate >= 0.95 * written
        ),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--every", type=float, default=10)
    args = ap.parse_args()
    c.watchdog(300 + 2 * args.duration)
    out: dict[str, Any] = {"bench": "browser_logs", "rate": args.rate, "duration": args.duration}
    return c.run_bench(out, lambda eng, made, dash: run(args, eng, made, dash))


if __name__ == "__main__":
    sys.exit(main())
