"""A seeded churn of containers made with the docker CLI (create, start, stop, kill, pause,
rename, remove, healthchecks flipping), and the comparison of a cached container list with
the engine's own: shared by the cache tests and bench/cache_churn.py."""

from __future__ import annotations

import random
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .lab import LAB_IMAGE, RUN_ID, TEST_LABEL

# The list entry's fields, compared as they are.
COMPARED = (
    "Id",
    "Names",
    "Image",
    "ImageID",
    "Command",
    "Created",
    "State",
    "Ports",
    "Labels",
    "HostConfig",
    "NetworkSettings",
    "Mounts",
    "SizeRw",
    "SizeRootFs",
    # Podman's list adds these (empty on every row seen).
    "Name",
    "Config",
    "NetworkingConfig",
    "Platform",
    "AdjustCPUShares",
)
# The one place a field of the list entry is excused from being equal, and why.
EXCUSED = {
    # "Up 3 seconds" is relative to when it was read: compared as state and health.
    "Status": "state+health",
}
CHURN_LABEL = "dashboard.churn"


def state_and_health(row: dict[str, Any]) -> tuple[str, str]:
    m = re.search(r"\((healthy|unhealthy|health: starting)\)", row.get("Status") or "")
    return (row.get("State") or "", m.group(1) if m else "")


def differences(cached: list[dict[str, Any]], engine: list[dict[str, Any]]) -> list[str]:
    """What differs between two container lists, on COMPARED fields and Status as state and
    health; a field in neither COMPARED nor EXCUSED is a difference of its own."""
    out = []
    a = {r["Id"]: r for r in cached}
    b = {r["Id"]: r for r in engine}
    for cid in sorted(a.keys() - b.keys()):
        out.append(f"{cid[:12]} cached, gone from the engine")
    for cid in sorted(b.keys() - a.keys()):
        out.append(f"{cid[:12]} {b[cid].get('Names')} listed by the engine, not cached")
    for cid in sorted(a.keys() & b.keys()):
        x, y = a[cid], b[cid]
        for key in sorted(x.keys() | y.keys()):
            if key in EXCUSED:
                if state_and_health(x) != state_and_health(y):
                    out.append(f"{cid[:12]} {key}: {x.get(key)!r} != {y.get(key)!r}")
            elif key not in COMPARED:
                out.append(f"{cid[:12]} field {key!r} is neither compared nor excused")
            elif x.get(key) != y.get(key):
                out.append(f"{cid[:12]} {key}: {x.get(key)!r} != {y.get(key)!r}")
    return out


def settle(
    cached: Callable[[], list[dict[str, Any]] | None],
    engine: Callable[[], list[dict[str, Any]]],
    timeout: float = 15.0,
) -> list[str]:
    """Poll until the cache equals the engine's list (returns []) or the deadline passes
    (returns the last differences)."""
    deadline = time.monotonic() + timeout
    diff = ["the cache was never trustworthy"]
    while time.monotonic() < deadline:
        rows = cached()
        if rows is not None:
            diff = differences(rows, engine())
            if not diff:
                return []
        time.sleep(0.2)
    return diff


@dataclass
class Churn:
    """Random operations on a few containers of its own, from a logged seed."""

    cli: str
    url: str
    seed: int
    image: str = LAB_IMAGE
    size: int = 6
    tag: str = ""
    log: list[str] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.tag = self.tag or f"{RUN_ID}-{self.seed}"
        self.alive: dict[str, str] = {}  # name -> "created" / "running" / "paused" / "exited"

    def docker(self, *args: str) -> bool:
        done = subprocess.run(
            [self.cli, "-H", self.url, *args], capture_output=True, text=True, timeout=60
        )
        self.log.append(f"{' '.join(args)} -> {done.returncode}")
        return done.returncode == 0

    def step(self) -> None:
        names = sorted(self.alive)
        running = [n for n in names if self.alive[n] == "running"]
        choices = ["create"] * (len(names) < self.size) + ["start", "rm"] * bool(names)
        choices += ["stop", "kill", "pause", "health", "health", "rename"] * bool(running)
        choices += ["unpause"] * any(s == "paused" for s in self.alive.values())
        op = self.rng.choice(choices)
        if op == "create":
            self._n += 1
            name = f"churn-{self.tag}-{self._n}"
            args = ["--label", f"{TEST_LABEL}={RUN_ID}", "--label", f"{CHURN_LABEL}={self.tag}"]
            # `sleep` as PID 1 ignores SIGTERM: an engine that stops (or restarts) waits this
            # long for each running one, not the default 10 s.
            args += ["--stop-timeout", "1"]
            if self.rng.random() < 0.5:
                args += ["--health-cmd", "test -e /tmp/ok", "--health-interval", "1s"]
                args += ["--health-retries", "1", "--health-timeout", "1s"]
            if self.docker("create", "--name", name, *args, self.image, "sleep", "3600"):
                self.alive[name] = "created"
            return
        if op == "unpause":
            name = self.rng.choice([n for n in names if self.alive[n] == "paused"])
            if self.docker("unpause", name):
                self.alive[name] = "running"
            return
        name = self.rng.choice(running if op in ("stop", "kill", "pause", "health") else names)
        if op == "start" and self.docker("start", name):
            self.alive[name] = "running"
        elif op in ("stop", "kill"):
            if self.docker(*(["stop", "-t", "0"] if op == "stop" else ["kill"]), name):
                self.alive[name] = "exited"
        elif op == "pause" and self.docker("pause", name):
            self.alive[name] = "paused"
        elif op == "health":
            touch = ["touch", "/tmp/ok"] if self.rng.random() < 0.6 else ["rm", "-f", "/tmp/ok"]
            self.docker("exec", name, *touch)
        elif op == "rename":
            self._n += 1
            new = f"churn-{self.tag}-{self._n}"
            if self.docker("rename", name, new):
                self.alive[new] = self.alive.pop(name)
        elif op == "rm" and self.docker("rm", "-f", name):
            del self.alive[name]

    def run(self, steps: int, between: Callable[[int], None] | None = None) -> None:
        for i in range(steps):
            self.step()
            if between is not None:
                between(i)

    def clean(self) -> None:
        ids = subprocess.run(
            [self.cli, "-H", self.url, "ps", "-aq", "--filter", f"label={CHURN_LABEL}={self.tag}"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.split()
        if ids:
            subprocess.run(
                [self.cli, "-H", self.url, "rm", "-f", *ids], capture_output=True, timeout=60
            )
