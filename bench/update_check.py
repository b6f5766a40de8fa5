"""Image update checks over many containers: `--containers` containers (created, not
started) over `--images` references in the lab registry, checked through the dashboard's
cache (dashboard/image_updates.check_host, in this process with a private database), next
to the raw engine call it is built on (`GET /distribution/{ref}/json` once per reference),
measured in the same run.

- `first`: a full check with an empty cache: one registry request per distinct reference;
- `cached`: the same check again within the interval: no registry request at all;
- `raw`: the engine's distribution call for every reference, nothing else.

Goal (issue 18): `first` asks exactly `--images` times, `cached` never, and first / raw at
most 1.5 (the rest is one container list and the database).

    .venv/bin/python bench/update_check.py [--containers 200] [--images 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from typing import Any

import common as c

from engine_client import EngineError
from engine_client.images import read_progress

GOAL_RATIO = 1.5
REGISTRY = os.environ.get("BENCH_REGISTRY") or "127.0.0.1:5000"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ["DASHBOARD_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-updates-")
    os.environ["DASHBOARD_ALERTS_WATCH"] = "0"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def measure(eng: c.Engine, made: c.Containers, _dash: Any, args: argparse.Namespace) -> dict:
    client = eng.client
    repo = f"{REGISTRY}/bench/r{c.RUN_ID}/app"
    refs = [f"{repo}:t{i:02d}" for i in range(args.images)]
    c.log(f"pushing {len(refs)} tags of {c.IMAGE}")
    for ref in refs:
        client.images.tag(c.IMAGE, ref)
        read_progress(client.images.push(ref))
    try:
        c.log(f"creating {args.containers} containers")
        for n in range(args.containers):
            made.create(["sleep", "3600"], start=False, Image=refs[n % len(refs)])
        setup_django()
        from django.conf import settings

        from dashboard import image_updates as iu

        settings.IMAGE_UPDATE_INTERVAL = 3600
        ours = [r for r in iu.container_references(client) if r.startswith(repo)]

        t0 = time.perf_counter()
        first = iu.check_host("local", client, ours)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cached = iu.check_host("local", client, ours)
        cached_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for ref in refs:
            client.updates.distribution(ref)
        raw_s = time.perf_counter() - t0
        statuses = sorted({row.status for row in first.checks.values()})
    finally:
        for ref in refs:
            with contextlib.suppress(EngineError):
                client.images.remove(ref)
    ratio = first_s / raw_s if raw_s else None
    ok = (
        len(first.asked) == len(refs)
        and not cached.asked
        and ratio is not None
        and ratio <= GOAL_RATIO
    )
    return {
        "references": len(ours),
        "first_s": c.rnd(first_s),
        "first_registry_requests": len(first.asked),
        "cached_s": c.rnd(cached_s),
        "cached_registry_requests": len(cached.asked),
        "raw_s": c.rnd(raw_s),
        "first_over_raw": c.rnd(ratio),
        "statuses": statuses,
        "goal": f"first asks {len(refs)} times, cached 0, first/raw <= {GOAL_RATIO}",
        "pass": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "update_check", **vars(args)}
    return c.run_bench(
        out, lambda eng, made, dash: measure(eng, made, dash, args), with_dashboard=False
    )


if __name__ == "__main__":
    raise SystemExit(main())
