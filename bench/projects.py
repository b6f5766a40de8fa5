"""The Projects page with many compose projects on one host, next to the engine's own
container list call, measured in the same run, interleaved.

`--projects` projects of `--per-project` containers each (default 50 × 4), made through
the Engine API with the labels compose itself puts on its containers (project, service,
config files, working directory, container number), so the page groups them exactly as it
groups projects that `docker compose up` made; creating 200 containers through the
compose binary would take minutes and measure compose, not the page. `--running` of each
project's containers run (sleeping); the rest are created only, so the roll-up has both.

- `page`: `GET /hosts/local/projects/` (the list with every project's roll-up);
- `detail`: one project's page (`/hosts/local/projects/<name>/`);
- `raw`: `GET /containers/json?all=1` read and decoded by the engine client — what
  `docker ps -a` asks, and what the grouping is built on.

Goal (issue 14): median page / raw at most 1.5.

    .venv/bin/python bench/projects.py [--projects 50] [--per-project 4] [--running 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common as c
from list_page import compare, page_check, remove_containers

GOAL_RATIO = 1.5
SERVICES = ("web", "api", "worker", "db")


def project_name(i: int) -> str:
    return f"bench-{c.RUN_ID}-p{i:03d}"


def make_projects(made: c.Containers, projects: int, per: int, running: int) -> None:
    t0 = time.monotonic()

    def one(job: tuple[int, int]) -> None:
        i, k = job
        name = project_name(i)
        service = SERVICES[k % len(SERVICES)] + (str(k // len(SERVICES)) if k >= 4 else "")
        labels = {
            "com.docker.compose.project": name,
            "com.docker.compose.service": service,
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.project.working_dir": f"/srv/{name}",
            "com.docker.compose.project.config_files": f"/srv/{name}/compose.yaml",
        }
        made.create(
            ["sleep", "3600"],
            start=k < running,
            name=f"{name}-{service}-1",
            Labels=labels,
            HostConfig={},
        )

    jobs = [(i, k) for i in range(projects) for k in range(per)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, jobs))
    c.log(f"made {projects} projects × {per} containers in {time.monotonic() - t0:.1f}s")


def measure(args: argparse.Namespace, eng: c.Engine, made: c.Containers, dash: c.Dashboard):
    out: dict[str, Any] = {}
    try:
        make_projects(made, args.projects, args.per_project, args.running)
        out["containers_on_engine"] = len(eng.client.containers.list(all=True))
        s = dash.session
        base = dash.url + "/hosts/local/projects/"
        last = project_name(args.projects - 1)
        out["projects_page"] = compare(
            "projects",
            lambda: eng.client.containers.list(all=True),
            {
                "page": lambda: s.get(base, timeout=60),
                "detail": lambda: s.get(base + last + "/", timeout=60),
            },
            args.repeats,
            lambda key, resp: page_check(
                [last, f"{args.running}/{args.per_project} running"]
                if key == "page"
                else [last, f"{last}-db-1" if args.per_project >= 4 else last]
            )(key, resp),
        )
        page = s.get(base, timeout=60).text
        out["projects_in_page"] = page.count(f"bench-{c.RUN_ID}-p")
    finally:
        remove_containers(made)
    ratio = out["projects_page"]["page"]["ratio"]
    out["goal"] = f"median projects page/raw <= {GOAL_RATIO}"
    out["pass"] = ratio is not None and ratio <= GOAL_RATIO
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--projects", type=int, default=50)
    ap.add_argument("--per-project", type=int, default=4)
    ap.add_argument("--running", type=int, default=2, help="running containers per project")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    c.watchdog(900 + args.projects * args.per_project * 0.3)
    out: dict[str, Any] = {
        "bench": "projects",
        "projects": args.projects,
        "per_project": args.per_project,
        "running_per_project": args.running,
    }
    return c.run_bench(out, lambda eng, made, dash: measure(args, eng, made, dash))


if __name__ == "__main__":
    raise SystemExit(main())
