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
from .lab import REQUIRE_ENGINE

LAB = str(ROOT / "lab" / "engine-lab")


class FaultLab:
    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        run = f"/run/dlf{tag}"
        self.env = {
            **os.environ,
            "LAB_NS": f"dlf{tag}",
            "LAB_RUN": run,
            "LAB_SOCK": f"{run}/n1.sock",
            "LAB_DATA": f"/var/lib/dlf{tag}",
            "LAB_REG_DATA": f"/var/lib/dlf{tag}-registry",
            "LAB_BROWSER": "0",
            "LAB_NODE2": "0",
            "LAB_PODMAN": "0",
            "LAB_D26": "0",
        }
        self.url = f"unix://{run}/n1.sock"
        self.pidfile = Path(run) / "n1.pid"

    def lab(self, *args: str, timeout: float = 180) -> None:
        subprocess.run([LAB, *args], env=self.env, check=True, capture_output=True, timeout=timeout)

    def stop_engine(self) -> None:
        """SIGTERM to this lab's dockerd only (its namespace and registry stay)."""
        pid = int(self.pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def start_engine(self) -> None:
        self.lab("up")


@contextmanager
def fault_lab_running() -> Iterator[FaultLab]:
    """A lab engine of the test's own, up; taken down and purged afterwards. Skips (fails
    with DASHBOARD_REQUIRE_ENGINE=1) without root and dockerd."""
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        if REQUIRE_ENGINE:
            pytest.fail("the engine restart test needs root and dockerd", pytrace=False)
        pytest.skip("needs root and dockerd (lab/engine-lab deps)")
    lab = FaultLab()
    try:
        lab.lab("up")
        yield lab
    finally:
        subprocess.run([LAB, "down", "--purge"], env=lab.env, capture_output=True, timeout=180)
        # Its logs and lock file: the run directory is this test's own.
        shutil.rmtree(lab.env["LAB_RUN"], ignore_errors=True)
