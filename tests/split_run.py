"""The whole suite as two pytest processes side by side: the engines of the lab's first
network namespace (Docker 20.10 and Podman, which share its ports, so their tests never run
at the same time) with every test that needs no engine, and Docker 26 (a namespace, registry
and ports of its own) with only its own parametrised tests. The suite mostly waits on
engines, so on two cores this takes little more than the larger half.

    python tests/split_run.py [pytest args...]

DASHBOARD_TEST_ENGINES still chooses engines: without docker26 in it, one process runs.
The second half's output is printed after the first's; the exit status is the first
failing half's.

The container image's tests (`-m image`: build, run, browse, about 100 s) run in a third
process beside those, started with the others, when the first engine is chosen."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECOND = "docker26"
NO_TESTS = 5  # pytest's exit status when nothing was collected


def main(args: list[str]) -> int:
    engines = [
        e
        for e in (os.environ.get("DASHBOARD_TEST_ENGINES") or "docker,podman,docker26").split(",")
        if e
    ]
    pytest = [sys.executable, "-m", "pytest", *args]
    with image_tests(pytest, engines) as rc_image:
        rc = split(pytest, engines)
    return rc or (0 if rc_image[0] == NO_TESTS else rc_image[0])


@contextlib.contextmanager
def image_tests(pytest: list[str], engines: list[str]) -> Iterator[list[int]]:
    """The image's tests in a process of their own, beside the block's; its exit status in
    the yielded list once the block is done. The other processes leave them out."""
    result = [NO_TESTS]
    if "docker" not in engines:
        os.environ["DASHBOARD_TEST_IMAGE_TESTS"] = "skip"
        yield result
        return
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            pytest,
            cwd=ROOT,
            env={
                **os.environ,
                "DASHBOARD_TEST_ENGINES": "docker",
                "DASHBOARD_TEST_IMAGE_TESTS": "only",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        os.environ["DASHBOARD_TEST_IMAGE_TESTS"] = "skip"
        try:
            yield result
        finally:
            result[0] = proc.wait()
            log.seek(0)
            print("\n===== the image's tests (run beside the above) =====", flush=True)
            sys.stdout.write(log.read())
            print(f"\n===== exit status: image {result[0]}", flush=True)


def split(pytest: list[str], engines: list[str]) -> int:
    if SECOND not in engines or len(engines) == 1:
        return subprocess.call(pytest, cwd=ROOT)
    first = ",".join(e for e in engines if e != SECOND)
    with tempfile.TemporaryFile("w+") as log:
        second = subprocess.Popen(
            pytest,
            cwd=ROOT,
            env={**os.environ, "DASHBOARD_TEST_ENGINES": SECOND, "DASHBOARD_TEST_ONLY_ENGINE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            rc_first = subprocess.call(
                pytest, cwd=ROOT, env={**os.environ, "DASHBOARD_TEST_ENGINES": first}
            )
        finally:
            rc_second = second.wait()
        log.seek(0)
        print(f"\n===== the {SECOND} half (run beside the one above) =====", flush=True)
        sys.stdout.write(log.read())
    print(f"\n===== exit status: {first} {rc_first}, {SECOND} {rc_second}", flush=True)
    # The second half finding nothing (options that choose only engine-free tests, say) is
    # no failure; the first half's own "no tests" still is.
    return rc_first or (0 if rc_second == NO_TESTS else rc_second)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
