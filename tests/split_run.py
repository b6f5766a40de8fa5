"""The whole suite as pytest processes side by side, each lab engine in a network namespace
(and registry, and ports) of its own. The suite mostly waits on engines, so on two cores it
takes little more than its longest process:

- Docker 20.10: its parametrised tests and every other test that uses a lab engine
  (swarm, faults, the browser tests that need its two nodes);
- one process per group beside it (DASHBOARD_TEST_BESIDE: groups separated by ';', engines
  in a group by ','; default "podman;docker26"), each with its engines' parametrised tests;
- the tests that need no engine (those `make check` runs) go with the group named by
  DASHBOARD_TEST_FREE_WITH (default: Podman's; "docker" keeps them in the first process);
- the container image's tests (`-m image`: built and run on Docker 26, driven from Chromium)
  in Docker 26's process, one after the other with its own tests, which include the browser
  tests (DASHBOARD_TEST_BROWSER_ENGINE, tests/support/lab.py).

    python tests/split_run.py [pytest args...]

DASHBOARD_TEST_ENGINES still chooses engines: with one engine, one process runs everything.
The other processes' output is printed after the first's; the exit status is the first
failing process's (one that found no test is no failure, except the first)."""

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
FIRST = "docker"
IMAGE_ENGINE = "docker26"


def groups_beside(engines: list[str]) -> list[list[str]]:
    """The groups of `engines` that run in processes of their own, beside the first."""
    spec = os.environ.get("DASHBOARD_TEST_BESIDE", "podman;docker26")
    groups = [[e for e in g.split(",") if e in engines and e != FIRST] for g in spec.split(";")]
    # A lone engine needs no split.
    return [g for g in groups if g] if len(engines) > 1 else []


def jobs(engines: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(name, environment) of each process; the first is the one run in the foreground."""
    beside = groups_beside(engines)
    taken = {e for g in beside for e in g}
    first = [e for e in engines if e not in taken]
    if not first:
        first = beside.pop(0)
    free_with = os.environ.get("DASHBOARD_TEST_FREE_WITH", "podman")
    free_group = next((g for g in beside if free_with in g), None)
    skip_image = {"DASHBOARD_TEST_IMAGE_TESTS": "skip"}
    # Every process must agree on the run's engines and where the browser tests run
    # (tests/support/lab.py).
    browser = {"DASHBOARD_TEST_BROWSER_ENGINE": "docker26" if "docker26" in engines else "docker"}
    browser["DASHBOARD_TEST_RUN_ENGINES"] = ",".join(engines)
    out = [
        (
            ",".join(first),
            {
                "DASHBOARD_TEST_ENGINES": ",".join(first),
                **browser,
                **skip_image,
                **({"DASHBOARD_TEST_NO_FREE": "1"} if free_group else {}),
            },
        )
    ]
    for group in beside:
        env = {
            "DASHBOARD_TEST_ENGINES": ",".join(group),
            "DASHBOARD_TEST_ONLY_ENGINE": "1",
            **browser,
        }
        name = ",".join(group)
        if group is free_group:
            env["DASHBOARD_TEST_WITH_FREE"] = "1"
            name += " + engine-free"
        # The image is built and run on Docker 26: its tests run in that engine's process.
        image = {"DASHBOARD_TEST_IMAGE_TESTS": "with"} if IMAGE_ENGINE in group else skip_image
        if IMAGE_ENGINE in group:
            name += " + image"
        out.append((name, env | image))
    return out


def main(args: list[str]) -> int:
    engines = [
        e
        for e in (os.environ.get("DASHBOARD_TEST_ENGINES") or "docker,podman,docker26").split(",")
        if e
    ]
    pytest = [sys.executable, "-m", "pytest", *args]
    if not groups_beside(engines):
        return subprocess.call(pytest, cwd=ROOT)
    with ExitStack() as logs:
        return run(pytest, jobs(engines), logs)


def run(pytest: list[str], todo: list[tuple[str, dict[str, str]]], logs: ExitStack) -> int:
    (first, first_env), *rest = todo
    others: list[tuple[str, subprocess.Popen[bytes], IO[str]]] = []
    if any(env.get("DASHBOARD_TEST_IMAGE_TESTS") == "with" for _, env in rest):
        # What the image's build needs and no engine does (on a fresh machine, minutes of
        # mmdebstrap), made while the tests run: the image tests' own build waits for it
        # (lab/build-image locks each tarball) instead of starting it.
        log = logs.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115 (closed by the stack)
        prepare = [str(ROOT / "lab" / "build-image"), "prepare"]
        proc = subprocess.Popen(prepare, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        others.append(("image build's preparation", proc, log))
    for name, env in rest:
        log = logs.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115 (closed by the stack)
        proc = subprocess.Popen(
            pytest, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        others.append((name, proc, log))
    try:
        rc_first = subprocess.call(pytest, cwd=ROOT, env={**os.environ, **first_env})
    finally:
        codes = [(name, proc.wait(), out) for name, proc, out in others]
    for name, _, out in codes:
        out.seek(0)
        print(f"\n===== the {name} process (run beside the one above) =====", flush=True)
        sys.stdout.write(out.read())
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
