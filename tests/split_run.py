"""The whole suite as pytest processes side by side, one per group of lab engines, each
engine in a network namespace (and registry, and ports) of its own: the first process runs
Docker 20.10 with every test that needs no engine; each other group runs only the tests
parametrised by its engines. The suite mostly waits on engines, so on two cores this takes
little more than the largest group.

    python tests/split_run.py [pytest args...]

DASHBOARD_TEST_ENGINES still chooses engines. DASHBOARD_TEST_BESIDE says which run beside the
first process: groups separated by ';', engines in a group by ',' (default
"podman;docker26": one process each). The other processes' output is printed after the
first's; the exit status is the first failing process's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
NO_TESTS = 5  # pytest's exit status when nothing was collected


def groups_beside(engines: list[str]) -> list[list[str]]:
    """The groups of `engines` that run in processes of their own, beside the first."""
    spec = os.environ.get("DASHBOARD_TEST_BESIDE", "podman;docker26")
    groups = [[e for e in g.split(",") if e in engines] for g in spec.split(";")]
    # A lone engine needs no split.
    return [g for g in groups if g] if len(engines) > 1 else []


def main(args: list[str]) -> int:
    engines = [
        e
        for e in (os.environ.get("DASHBOARD_TEST_ENGINES") or "docker,podman,docker26").split(",")
        if e
    ]
    pytest = [sys.executable, "-m", "pytest", *args]
    beside = groups_beside(engines)
    if not beside:
        return subprocess.call(pytest, cwd=ROOT)
    taken = {e for g in beside for e in g}
    first = ",".join(e for e in engines if e not in taken)
    if not first:
        # Every chosen engine is in a group: the first of them runs in the first process,
        # with the engine-free tests.
        first = ",".join(beside.pop(0))
    with ExitStack() as logs:
        return run_beside(pytest, first, beside, logs)


def run_beside(pytest: list[str], first: str, beside: list[list[str]], logs: ExitStack) -> int:
    others: list[tuple[str, subprocess.Popen[bytes], IO[str]]] = []
    for group in beside:
        log = logs.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115 (closed by the stack)
        env = {
            **os.environ,
            "DASHBOARD_TEST_ENGINES": ",".join(group),
            "DASHBOARD_TEST_ONLY_ENGINE": "1",
        }
        proc = subprocess.Popen(pytest, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        others.append((",".join(group), proc, log))
    try:
        env = {**os.environ, "DASHBOARD_TEST_ENGINES": first}
        rc_first = subprocess.call(pytest, cwd=ROOT, env=env)
    finally:
        codes = [(name, proc.wait(), log) for name, proc, log in others]
    for name, _, log in codes:
        log.seek(0)
        print(f"\n===== the {name} process (run beside the one above) =====", flush=True)
        sys.stdout.write(log.read())
    print(
        "\n===== exit status: "
        + ", ".join([f"{first} {rc_first}"] + [f"{n} {rc}" for n, rc, _ in codes]),
        flush=True,
    )
    # Another process finding nothing (options that choose only engine-free tests, say) is
    # no failure; the first process's own "no tests" still is.
    return rc_first or next((rc for _, rc, _ in codes if rc not in (0, NO_TESTS)), 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
