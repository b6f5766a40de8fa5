"""The real compose v2 binary, run for one project against one engine.

Never through a shell: an argument list. Never with the dashboard's own environment either:
compose interpolates `${VAR}` from its environment into the containers it makes, and
`secrets.*.environment` reads it, so a file could otherwise copy the dashboard's secret key
into a container. The environment is built from scratch: PATH, a HOME and DOCKER_CONFIG
that belong to the dashboard, and the host's connection (DOCKER_HOST, and for a TLS host
DOCKER_CERT_PATH/DOCKER_TLS_VERIFY pointing at the 0700 directory the dashboard writes its
certificates to). A run has a deadline, after which its whole process group is killed (a
plugin or credential helper it started included) and the run says so: the running is
`external.py`'s, shared with the docker CLI's runs.

Plain Python; no Django.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .compose_files import COMPOSE_FILE
from .external import ExternalRun
from .images import registry_auth_body

# Where compose and the helpers it may start (docker-credential-*, buildx) are looked for.
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VERSION_TIMEOUT = 15.0
# After SIGTERM at the deadline, this long before SIGKILL.
KILL_GRACE_SECONDS = 2.0
HOW_TO_GET = (
    "Install the compose v2 plugin (`docker compose`) or a standalone v2 `docker-compose` on "
    "the dashboard's machine, or point DASHBOARD_COMPOSE_BIN at one (Debian 13 packages it "
    "as docker-compose; `lab/engine-lab deps` unpacks it)."
)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ComposeUnavailable(Exception):
    """No usable compose v2 binary; the message says why and how to get one."""


@dataclass(frozen=True)
class ComposeBinary:
    argv: tuple[str, ...]  # ("/usr/bin/docker-compose",) or ("/usr/bin/docker", "compose")
    version: str

    def __str__(self) -> str:
        return f"{' '.join(self.argv)} {self.version}"


@dataclass(frozen=True)
class Connection:
    """How compose reaches one engine, as the docker CLI's variables say it."""

    docker_host: str
    cert_path: str = ""
    tls_verify: bool = False
    tls: bool = False


def find_compose(configured: str = "", search_path: str | None = None) -> ComposeBinary:
    """The compose v2 binary: `configured` (DASHBOARD_COMPOSE_BIN) when set, else the
    `docker compose` plugin, else `docker-compose`, on the PATH. v1 is refused."""
    candidates: list[tuple[str, ...]] = []
    if configured:
        path = shutil.which(configured, path=search_path) or configured
        # A docker CLI named there means its compose plugin.
        if os.path.basename(path) == "docker":
            candidates.append((path, "compose"))
        else:
            candidates.append((path,))
    else:
        if docker := shutil.which("docker", path=search_path):
            candidates.append((docker, "compose"))
        if standalone := shutil.which("docker-compose", path=search_path):
            candidates.append((standalone,))
    reasons: list[str] = []
    for argv in candidates:
        version, reason = _version_of(argv)
        if version:
            return ComposeBinary(argv, version)
        reasons.append(reason)
    if not candidates:
        reasons.append("no compose binary found on PATH")
    raise ComposeUnavailable(f"{'; '.join(reasons)}. {HOW_TO_GET}")


def _version_of(argv: tuple[str, ...]) -> tuple[str, str]:
    shown = " ".join(argv)
    try:
        done = subprocess.run(
            [*argv, "version", "--short"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env={"PATH": SAFE_PATH, "HOME": "/nonexistent"},
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"{shown} could not be run ({exc})"
    out = done.stdout.strip()
    match = _VERSION.match(out)
    if done.returncode != 0 or not match:
        said = (done.stderr or done.stdout).strip().splitlines()
        return "", f"{shown} did not say its version ({said[0] if said else done.returncode})"
    if int(match.group(1)) < 2:
        return "", f"{shown} is compose {out} (v1): the dashboard needs compose v2"
    return out, ""


def compose_env(connection: Connection, home: Path) -> dict[str, str]:
    """The whole environment of a compose run (nothing of the dashboard's own)."""
    env = {
        "PATH": SAFE_PATH,
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / "docker"),
        "DOCKER_HOST": connection.docker_host,
        # Plain lines, no colour or cursor movement: they are shown as text in a page.
        "COMPOSE_ANSI": "never",
        "COMPOSE_PROGRESS": "plain",
        "LANG": "C.UTF-8",
    }
    if connection.tls or connection.tls_verify:
        env["DOCKER_CERT_PATH"] = connection.cert_path
        if connection.tls_verify:
            env["DOCKER_TLS_VERIFY"] = "1"
        else:
            env["DOCKER_TLS"] = "1"
    return env


@dataclass(frozen=True)
class RegistryLogin:
    """A registry login a run may use (the host's saved one, decrypted for the run)."""

    registry: str
    username: str
    password: str = field(repr=False)


def write_docker_config(folder: Path, logins: Sequence[RegistryLogin]) -> Path:
    """The docker CLI's config.json in `folder`, 0600, with `logins` as its `auths` (the
    form `docker login` writes without a credential helper): compose reads it from
    DOCKER_CONFIG and sends the engine the login of each image's registry."""
    auths = {}
    for login in logins:
        server = registry_auth_body(login.username, login.password, login.registry)
        token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        auths[server["serveraddress"]] = {"auth": token}
    path = folder / "config.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"auths": auths}, f)
    return path


def private_home(path: Path) -> Path:
    """The dashboard-owned HOME of compose runs (0700), with an empty docker config."""
    (path / "docker").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


@dataclass
class ComposeRun:
    """One compose command for one project: iterate `lines()`, then read `exit_status`.
    The running is `external.ExternalRun`'s; this adds compose's argument list and
    environment, and its words for the outcome."""

    binary: ComposeBinary
    project: str
    folder: Path
    connection: Connection
    home: Path
    args: Sequence[str]
    timeout: float
    compose_file: str = COMPOSE_FILE
    env_file: str | None = None
    # Registry logins for this run alone: written to a config.json in a 0700 folder of the
    # run's own under `home`, its DOCKER_CONFIG while it runs, removed when it ends.
    logins: Sequence[RegistryLogin] = field(default=(), repr=False)
    _run: ExternalRun = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._run = ExternalRun(
            self.argv,
            compose_env(self.connection, self.home),
            self.folder,
            self.timeout,
            KILL_GRACE_SECONDS,
        )

    @property
    def argv(self) -> list[str]:
        argv = [
            *self.binary.argv,
            "--project-directory",
            str(self.folder),
            "-p",
            self.project,
            "-f",
            str(self.folder / self.compose_file),
        ]
        if self.env_file:
            argv += ["--env-file", str(self.folder / self.env_file)]
        return [*argv, *self.args]

    @property
    def command(self) -> str:
        """What was run, for people: `compose -p shop up -d` (no paths)."""
        return " ".join(["compose", "-p", self.project, *self.args])

    @property
    def exit_status(self) -> int | None:
        return self._run.exit_status

    @property
    def timed_out(self) -> bool:
        return self._run.timed_out

    @property
    def stopped(self) -> bool:
        return self._run.stopped

    def lines(self) -> Iterator[str]:
        """compose's output (stdout and stderr, in order), a line at a time as it comes."""
        if not self.logins:
            yield from self._run.lines()
            return
        with tempfile.TemporaryDirectory(prefix=".run-", dir=self.home) as config:
            write_docker_config(Path(config), self.logins)
            self._run.env["DOCKER_CONFIG"] = config
            yield from self._run.lines()

    def run(self) -> list[str]:
        """The whole run; its output lines."""
        return list(self.lines())

    def stop(self) -> None:
        """End the run now (any thread)."""
        self._run.stop()

    @property
    def outcome(self) -> str:
        """The end of the run in words (the exit status is `exit_status`)."""
        if self.timed_out:
            return f"compose did not finish within {self.timeout:g} s: it was ended"
        if self.stopped:
            return "the run was called off"
        return "compose finished" if self.exit_status == 0 else "compose failed"


DRY_RUN_PREFIX = "DRY-RUN MODE -"
# compose's progress verbs that change something, and how the preview says them.
_PLAN_VERBS = {
    "Creating": "create",
    "Recreate": "recreate",
    "Removing": "remove",
    "Pulling": "pull",
    "Building": "build",
}
_PLAN_LINE = re.compile(r"^\s*(\w+)\s+(\S+)\s+(\w+)")


@dataclass(frozen=True)
class PlanStep:
    action: str  # create, recreate, remove, pull, build
    kind: str  # Container, Network, Volume, Image...
    name: str


def plan_from_dry_run(lines: Sequence[str]) -> list[PlanStep]:
    """What `up --dry-run` says it would change, each thing once, in its order."""
    steps: list[PlanStep] = []
    for line in lines:
        text = line.strip()
        if not text.startswith(DRY_RUN_PREFIX):
            continue
        match = _PLAN_LINE.match(text.removeprefix(DRY_RUN_PREFIX))
        if not match:
            continue
        kind, name, verb = match.groups()
        action = _PLAN_VERBS.get(verb)
        step = PlanStep(action, kind, name) if action else None
        if step is not None and step not in steps:
            steps.append(step)
    return steps
