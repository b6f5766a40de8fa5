"""The real compose v2 binary for tests, and a three-service project made with it.

The binary is found by DASHBOARD_TEST_COMPOSE, else by asking the lab (`lab/engine-lab env`
prints LAB_COMPOSE, where it unpacked compose). Every project a test makes is named per run
(and its services labelled with the run's ID), and brought down with its volumes afterwards."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .lab import REQUIRE_ENGINE, RUN_ID, TEST_LABEL

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TIMEOUT = 120


def docker_cli_binary() -> str:
    """The lab's docker CLI (26, for `docker stack deploy`): DASHBOARD_TEST_DOCKER_CLI, else
    LAB_DOCKER_CLI from `lab/engine-lab env`; never the machine's PATH (a fresh machine has
    none, and this one's is another version). '' when there is none."""
    return _lab_binary("DASHBOARD_TEST_DOCKER_CLI", "LAB_DOCKER_CLI")


def require_docker_cli() -> str:
    path = docker_cli_binary()
    if not path:
        reason = (
            "no lab docker CLI: set DASHBOARD_TEST_DOCKER_CLI or run lab/engine-lab deps "
            "(lab/engine-lab env prints LAB_DOCKER_CLI)"
        )
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


def compose_binary() -> str:
    """The compose binary's path, or '' when there is none."""
    return _lab_binary("DASHBOARD_TEST_COMPOSE", "LAB_COMPOSE")


def _lab_binary(variable: str, lab_variable: str) -> str:
    path = os.environ.get(variable, "")
    if not path:
        try:
            out = subprocess.run(
                [str(ROOT / "lab" / "engine-lab"), "env"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        for line in out.splitlines():
            if line.startswith(f"export {lab_variable}="):
                path = line.partition("=")[2].strip().strip("'\"")
    return path if path and os.access(path, os.X_OK) else ""


def require_compose() -> str:
    path = compose_binary()
    if not path:
        reason = (
            "no compose v2 binary: set DASHBOARD_TEST_COMPOSE or start the lab "
            "(lab/engine-lab env prints LAB_COMPOSE)"
        )
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


# One service with a healthcheck, one with a named volume, one with a published port; each
# stops at once (sleep ignores SIGTERM as PID 1).
COMPOSE_FILE = """\
services:
  check:
    image: {image}
    command: ["sleep", "3000"]
    stop_grace_period: 1s
    labels: {{{label}: "{run}"}}
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 1
  db:
    image: {image}
    command: ["sleep", "3000"]
    stop_grace_period: 1s
    labels: {{{label}: "{run}"}}
    volumes: ["data:/data"]
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080"]
    stop_grace_period: 1s
    labels: {{{label}: "{run}"}}
    ports: ["8080"]
volumes:
  data:
    labels: {{{label}: "{run}"}}
networks:
  default:
    labels: {{{label}: "{run}"}}
"""
SERVICES = ("check", "db", "web")


@dataclass
class ComposeProject:
    name: str
    directory: Path
    binary: str
    docker_host: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": self.docker_host}
        return subprocess.run(
            [self.binary, "-p", self.name, "-f", str(self.directory / "compose.yaml"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=COMPOSE_TIMEOUT,
            check=False,
        )

    def must(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"compose {' '.join(args)}: {done.stderr}"
        return done.stdout


@contextmanager
def compose_project(tmp: Path, docker_host: str, image: str) -> Iterator[ComposeProject]:
    """A three-service project brought up by the real compose; down -v afterwards."""
    binary = require_compose()
    name = f"dtp-{RUN_ID}-{secrets.token_hex(3)}"
    (tmp / "compose.yaml").write_text(
        COMPOSE_FILE.format(image=image, label=TEST_LABEL, run=RUN_ID)
    )
    project = ComposeProject(name, tmp, binary, docker_host)
    try:
        project.must("up", "-d")
        yield project
    finally:
        project.run("down", "-v", "--remove-orphans", "-t", "1")


def down_by_name(binary: str, docker_host: str, name: str) -> None:
    """Bring a project down by its name alone (compose v2 finds it by its labels), with its
    volumes: the cleanup of a project a test had the dashboard make."""
    subprocess.run(
        [binary, "-p", name, "down", "-v", "--remove-orphans", "-t", "1"],
        capture_output=True,
        env={"PATH": os.environ.get("PATH", ""), "DOCKER_HOST": docker_host, "HOME": "/tmp"},
        cwd="/tmp",
        timeout=COMPOSE_TIMEOUT,
        check=False,
    )


def labelled_compose(image: str, services: dict[str, str] | None = None) -> str:
    """A compose file whose services (name -> command) and default network carry the run's
    test label; each service stops at once."""
    services = services or {"web": '["sleep", "3000"]'}
    body = "".join(
        f"  {name}:\n    image: {image}\n    command: {command}\n    stop_grace_period: 1s\n"
        f'    labels: {{{TEST_LABEL}: "{RUN_ID}"}}\n'
        for name, command in services.items()
    )
    return f'services:\n{body}networks:\n  default:\n    labels: {{{TEST_LABEL}: "{RUN_ID}"}}\n'
