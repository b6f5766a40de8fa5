"""A lab engine of a test's own (its own namespace, socket and data root, under names no
other test uses), for tests that stop and start an engine: never the session's shared one."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .browser import ROOT
from .lab import LAB_IMAGE, REQUIRE_ENGINE

LAB = str(ROOT / "lab" / "engine-lab")


# The lab engine kind (tests/support/lab.py LAB_ENGINES) -> its socket and pid file in the
# lab's run directory, and the lab settings that start that engine alone.
KINDS = {
    "docker": ("n1", {"LAB_PODMAN": "0", "LAB_D26": "0"}),
    "podman": ("p", {"LAB_DOCKER1": "0", "LAB_PODMAN": "1", "LAB_D26": "0", "LAB_REGISTRIES": "0"}),
    "docker26": (
        "n3",
        {"LAB_DOCKER1": "0", "LAB_PODMAN": "0", "LAB_D26": "1", "LAB_REGISTRIES": "0"},
    ),
}


class FaultLab:
    def __init__(self, kind: str = "docker") -> None:
        tag = secrets.token_hex(2)
        run = f"/run/dlf{tag}"
        sock, settings = KINDS[kind]
        self.kind = kind
        self.env = {
            **os.environ,
            "LAB_NS": f"dlf{tag}",
            "LAB_RUN": run,
            "LAB_SOCK": f"{run}/n1.sock",
            "LAB_DATA": f"/var/lib/dlf{tag}",
            "LAB_REG_DATA": f"/var/lib/dlf{tag}-registry",
            "LAB_BROWSER": "0",
            "LAB_NODE2": "0",
            **settings,
        }
        self.url = f"unix://{run}/{sock}.sock"
        self.pidfile = Path(run) / f"{sock}.pid"
        # How this engine lists the lab image: Podman names local images localhost/...
        self.image = f"localhost/{LAB_IMAGE}" if kind == "podman" else LAB_IMAGE

    def lab(self, *args: str, timeout: float = 180) -> None:
        done = subprocess.run(
            [LAB, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            # The lab's own account of what failed, not just its exit status.
            raise RuntimeError(f"engine-lab {' '.join(args)}: {done.stderr[-2000:]}")

    def stop_engine(self) -> None:
        """SIGTERM to this lab's engine only: its dockerd, or Podman's API service (whose
        containers run on without it, each under a conmon of its own); its namespace and
        registry stay."""
        pid = int(self.pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def start_engine(self) -> None:
        self.lab("up")


@contextmanager
def fault_lab_running(kind: str = "docker") -> Iterator[FaultLab]:
    """A lab engine of the test's own, of `kind` (docker, podman, docker26), up; taken down
    and purged afterwards. Skips (fails with DASHBOARD_REQUIRE_ENGINE=1) without root and
    the engine's program."""
    program = "podman" if kind == "podman" else "dockerd"
    if os.geteuid() != 0 or not shutil.which(program):
        if REQUIRE_ENGINE:
            pytest.fail(f"the engine restart test needs root and {program}", pytrace=False)
        pytest.skip(f"needs root and {program} (lab/engine-lab deps)")
    lab = FaultLab(kind)
    try:
        lab.lab("up")
        yield lab
    finally:
        subprocess.run([LAB, "down", "--purge"], env=lab.env, capture_output=True, timeout=180)
        # Its logs and lock file: the run directory is this test's own.
        shutil.rmtree(lab.env["LAB_RUN"], ignore_errors=True)
