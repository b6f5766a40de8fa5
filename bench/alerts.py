"""Alert delivery delay: from a container's death (the engine's FinishedAt) to the signed
webhook arriving at a local receiver, through a live dashboard that evaluates the rules.

The delay includes on purpose the evaluator's hold (about 2 s, waiting for the `stop` that
tells a stop from a crash) and the group window (`--group`, 3 s by default: a burst becomes
one message); `--group 0` shows what is left without grouping.

    .venv/bin/python bench/alerts.py [--crashes 20 --group 3]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from typing import Any

import common as c

KEY = "bench-signing-key"


def measure(args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: Any) -> dict:
    from tests.support.receiver import webhook_receiver

    token = secrets.token_hex(4)
    csrf = {"X-CSRFToken": dash.session.cookies["csrftoken"], "Referer": dash.url + "/"}
    delays: list[float] = []
    with webhook_receiver() as receiver:
        resp = dash.session.post(
            dash.url + "/alerts/channels/",
            data={"name": "bench", "kind": "webhook", "url": receiver.url, "key": KEY},
            headers=csrf,
            allow_redirects=False,
        )
        assert resp.status_code == 302, resp.text[-1000:]
        page = dash.session.get(dash.url + "/alerts/rules/new/").text
        channel = page.split('name="channels" value="', 1)[1].split('"', 1)[0]
        rule = {"name": "bench", "kind": "exit", "label": f"benchalert={token}", "count": 3}
        rule |= {"minutes": 5, "seconds": 30, "cooldown": 0, "enabled": "on"}
        resp = dash.session.post(
            dash.url + "/alerts/rules/new/",
            data={**rule, "channels": channel},
            headers=csrf,
            allow_redirects=False,
        )
        assert resp.status_code == 302, resp.text[-1000:]
        time.sleep(5)  # the watcher holds its lease and has read the rule
        for i in range(args.crashes):
            cid = made.create(["sh", "-c", "exit 3"], Labels={"benchalert": token})
            got = receiver.wait_for(i + 1, timeout=60)
            if len(got) <= i:
                raise RuntimeError(f"crash {i + 1}: no alert within 60 s")
            finished = eng.client.containers.inspect(cid)["State"]["FinishedAt"]
            delays.append(got[i].at - c.rfc3339_to_unix(finished))
            c.log(f"crash {i + 1}: {delays[-1] * 1000:.0f} ms")
    ms = [d * 1000 for d in delays]
    return {
        "crashes": len(ms),
        "group_seconds": args.group,
        "p50_ms": c.rnd(c.percentile(ms, 50), 1),
        "p95_ms": c.rnd(c.percentile(ms, 95), 1),
        "max_ms": c.rnd(max(ms), 1) if ms else None,
        # Hold (2 s) + group window + a second of slack for ticks and the delivery itself.
        "pass": bool(ms) and (c.percentile(ms, 95) or 0) < (2 + args.group + 1.5) * 1000,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--crashes", type=int, default=20)
    ap.add_argument("--group", type=float, default=3.0, help="DASHBOARD_ALERTS_GROUP_SECONDS")
    args = ap.parse_args()
    c.watchdog(120 + 70 * args.crashes)
    out: dict[str, Any] = {"bench": "alerts"}
    env = {"DASHBOARD_ALERTS_WATCH": "1", "DASHBOARD_ALERTS_GROUP_SECONDS": str(args.group)}
    return c.run_bench(
        out, lambda eng, made, dash: measure(args, eng, made, dash), dashboard_env=env
    )


if __name__ == "__main__":
    sys.exit(main())
