"""The container list through the JSON API (`GET /api/v1/hosts/local/containers/` with a
personal token, read and decoded by `requests`) against the engine's own
`GET /containers/json?all=1` read and decoded by the engine client, measured in the same
run, interleaved, at `--containers` containers (most created, not running).

The token is made on the dashboard's own tokens page by the bench's logged-in session. The
API reads the container cache, as the page does: the bench waits until the page no longer
says it read the engine, then measures.

Goal (issue 19): median API / raw at most 1.3.

    .venv/bin/python bench/api.py --containers 1000
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

import common as c
import list_page as lp

GOAL_RATIO = 1.3


def make_token(dash: c.Dashboard) -> str:
    s = dash.session
    page = s.post(
        dash.url + "/account/tokens/",
        data={
            "name": "bench",
            "role": "viewer",
            "days": "1",
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": dash.url + "/account/tokens/"},
        timeout=30,
    )
    match = re.search(r'id="token-secret">(dsh_[^<]+)<', page.text)
    if match is None:
        raise RuntimeError(f"no token on the page (HTTP {page.status_code})")
    return match.group(1)


def measure(args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: Any) -> dict:
    lp.make_containers(made, args.containers, args.running)
    out: dict[str, Any] = {"cache_wait_s": c.rnd(lp.wait_for_cache(dash), 1)}
    token = make_token(dash)
    api = dash.session.__class__()  # a fresh session: the API never reads a cookie
    api.headers["Authorization"] = f"Bearer {token}"
    url = dash.url + "/api/v1/hosts/local/containers/"

    def via_api() -> Any:
        resp = api.get(url, timeout=60)
        resp.rows = resp.json()  # decoded, as the raw call's are
        return resp

    def check(key: str, resp: Any) -> None:
        if resp.status_code != 200 or len(resp.rows) < args.containers:
            raise RuntimeError(f"{key}: HTTP {resp.status_code}, {len(resp.rows)} rows")

    result = lp.compare(
        "containers",
        lambda: eng.client.containers.list(all=True),
        {"api": via_api},
        args.repeats,
        check,
    )
    api.close()
    out["containers_list"] = result
    out["loadavg"] = c.loadavg()
    out["pass"] = result["api"]["ratio"] is not None and result["api"]["ratio"] <= GOAL_RATIO
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--running", type=int, default=20, help="how many of them run")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    c.watchdog(900 + args.containers * 0.2)
    out: dict[str, Any] = {"bench": "api", "containers": args.containers, "goal": GOAL_RATIO}
    return c.run_bench(out, lambda eng, made, dash: measure(args, eng, made, dash))


if __name__ == "__main__":
    sys.exit(main())
