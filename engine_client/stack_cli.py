"""Swarm stacks with the real docker CLI: `docker stack deploy` and `docker stack rm`.

Why the CLI rather than translating compose files onto the service code here
(`service_spec.py`): the stack file format is the CLI's own loader (defaults, interpolation,
`deploy:` keys, configs and secrets, networks made per stack, `--prune`), and a stack the
dashboard deploys must be the stack the CLI would deploy from the same file, which a second
implementation would only approximate. The price is a binary to find and run safely, which
this module does: an argument list (never a shell), an environment built from scratch (the
host's connection, a config folder of the dashboard's own, the stack's `.env` values for
interpolation), a timeout that ends the whole process group, its output read line by line
(the last two are `external.py`'s, shared with compose's runs).

Versions: CLI 23.0 and newer read compose files without `version:` (docker/cli#3257);
20.10 to 22.x need a top-level `version: "3.x"` (they say "unsupported Compose file version:
1.0" otherwise), so for those the file is checked for it before anything runs. The file is
checked with `docker stack config` from 23.0 on (20.10 has no such command; before 23.0 a
file the CLI refuses is refused by the deploy itself, before it creates anything). Older
CLIs are refused. Seen working: 26.1.5 (Debian 13's `docker-cli`, what the tests use),
20.10.24 (Debian 12's, by hand, with `version: "3.8"`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .compose_files import COMPOSE_FILE, FileProblem, line_of, problems_from_compose_error
from .errors import InvalidArgument
from .external import ExternalRun
from .transport import TLSConfig

MIN_VERSION = (20, 10)
# From this version on, a compose file needs no `version:` key (docker/cli#3257).
VERSIONLESS_FROM = (23, 0)
# Ending a timed-out run: SIGTERM to its process group, then SIGKILL after this long.
KILL_GRACE_SECONDS = 3.0
VERSION_TIMEOUT = 10.0
GET_IT = (
    "Install a docker CLI (23.0 or newer; Debian 13's `docker-cli` package, or Docker's own "
    "`docker-ce-cli`) and put it on the dashboard's PATH or name it in DASHBOARD_DOCKER_BIN."
)

STACK_NAME_MAX = 40
# What a stack may be called: docker names its services, networks, configs and secrets
# <stack>_<name> and the engine allows only these characters in service names (and at most
# 63 of them, hence the room left for the service's own name); compose's project rule
# (lower case) on top, so a stack folder and a compose folder follow one rule.
_STACK_NAME = re.compile(r"[a-z0-9](?:[-_]*[a-z0-9]+)*", re.ASCII)
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_TOP_VERSION = re.compile(r"^version\s*:", re.MULTILINE)
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


class CLIUnavailable(Exception):
    """No usable docker CLI: the message says what was found and how to get one."""


def check_stack_name(name: object) -> str:
    """A stack name docker would take (InvalidArgument with the rule otherwise)."""
    if not isinstance(name, str) or len(name) > STACK_NAME_MAX or not _STACK_NAME.fullmatch(name):
        raise InvalidArgument(
            f"a stack name is lower-case letters and digits, with - or _ between them, at most "
            f"{STACK_NAME_MAX} characters (docker names its services <stack>_<service>): "
            f"{str(name)[:80]!r}"
        )
    return name


@dataclass(frozen=True)
class DockerCLI:
    path: str
    version: tuple[int, int, int]
    text: str  # as the CLI says it, e.g. "26.1.5+dfsg1"

    @property
    def needs_version_key(self) -> bool:
        return self.version[:2] < VERSIONLESS_FROM

    @property
    def has_config(self) -> bool:
        # `docker stack config` (the file checked, nothing deployed) is not in 20.10.
        return self.version[:2] >= VERSIONLESS_FROM

    @property
    def has_detach(self) -> bool:
        # 26.0 added --detach to stack deploy/rm (and warns when it is not given).
        return self.version[:2] >= (26, 0)


_found: dict[tuple[str, float], DockerCLI] = {}


def find_docker_cli(configured: str = "", search_path: str | None = None) -> DockerCLI:
    """The docker CLI: `configured` (DASHBOARD_DOCKER_BIN) when set, else `docker` on
    `search_path` (the process's PATH by default), with its version checked."""
    path = configured or shutil.which("docker", path=search_path) or ""
    if not path:
        raise CLIUnavailable(f"No docker CLI on the dashboard's PATH. {GET_IT}")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise CLIUnavailable(f"{path} is not an executable file. {GET_IT}")
    key = (path, os.stat(path).st_mtime)
    if key in _found:
        return _found[key]
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env=_base_env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CLIUnavailable(f"{path} --version did not answer ({exc}). {GET_IT}") from None
    cli = parse_version(path, done.stdout)
    if cli.version[:2] < MIN_VERSION:
        raise CLIUnavailable(f"{path} is docker CLI {cli.text}, older than 20.10. {GET_IT}")
    _found[key] = cli
    return cli


def parse_version(path: str, output: str) -> DockerCLI:
    """`docker --version` says "Docker version 26.1.5+dfsg1, build a72d7cd"."""
    text = output.strip().removeprefix("Docker version ").split(",")[0].strip()
    m = _VERSION.match(text)
    if not output.startswith("Docker version") or m is None:
        raise CLIUnavailable(f"{path} does not say it is a docker CLI ({output[:80]!r}). {GET_IT}")
    return DockerCLI(path, (int(m[1]), int(m[2]), int(m[3] or 0)), text)


def version_problem(cli: DockerCLI, compose_text: str) -> str:
    """Why this CLI would refuse this file for its version ('' when it would not)."""
    if cli.needs_version_key and not _TOP_VERSION.search(compose_text):
        return (
            f'docker CLI {cli.text} needs a top-level `version: "3.8"` line in the file '
            "(23.0 and newer do not)"
        )
    return ""


def _base_env() -> dict[str, str]:
    # Not the dashboard's own environment: nothing of it (secrets, DOCKER_* of another
    # engine, a context) reaches the CLI.
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def read_env_values(env_text: str) -> dict[str, str]:
    """KEY=VALUE lines of a stack's `.env`: `docker stack deploy` reads no `.env` itself, it
    interpolates `${VAR}` from its environment, so these go there. Quotes around a value are
    taken off; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for raw in env_text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _ENV_LINE.match(raw)
        if m is None:
            continue
        value = m[2]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[m[1]] = value
    return values


def cli_env(
    docker_host: str,
    tls: TLSConfig | None,
    config_dir: str,
    values: dict[str, str] | None = None,
) -> dict[str, str]:
    """The CLI's whole environment: the stack's `.env` values first, then what the dashboard
    sets (so a value cannot redirect the CLI to another engine): the host's connection, the
    certificate folder the dashboard wrote for a TLS host, and DOCKER_CONFIG pointing at a
    folder of the dashboard's own (no one's contexts, credentials or plugins)."""
    env = {k: v for k, v in (values or {}).items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env.update(_base_env())
    env.update({"HOME": config_dir, "DOCKER_CONFIG": config_dir, "DOCKER_HOST": docker_host})
    if tls is not None:
        cert = tls.client_cert or tls.ca_cert or ""
        if cert:
            env["DOCKER_CERT_PATH"] = str(Path(cert).parent)
        if tls.verify:
            env["DOCKER_TLS_VERIFY"] = "1"
        else:
            env["DOCKER_TLS"] = "1"
    return env


def config_args(cli: DockerCLI) -> list[str]:
    """`docker stack config` of the file on stdin: the CLI's own check of a stack file
    (schema, interpolation), run before anything is written or deployed. It needs no engine."""
    return [cli.path, "stack", "config", "--compose-file", "-"]


def check_config(
    cli: DockerCLI, compose_text: str, env: dict[str, str], cwd: str, timeout: float = 30
) -> tuple[int, str]:
    """`docker stack config` over the file: (exit status, what it said on stderr)."""
    try:
        done = subprocess.run(
            config_args(cli),
            input=compose_text,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, f"docker stack config did not answer within {timeout:g} s"
    except OSError as exc:
        raise CLIUnavailable(f"{cli.path} could not be run ({exc}). {GET_IT}") from None
    return done.returncode, done.stderr.strip()


def deploy_args(cli: DockerCLI, stack: str, compose_file: str) -> list[str]:
    """`docker stack deploy`: services no longer in the file go (--prune). Where the CLI can
    (26.0+), it waits for the services to converge and says how far they are (--detach=false):
    the run page then shows the tasks starting, and the exit status says whether they did;
    a service that never converges is ended by the run's timeout."""
    args = [cli.path, "stack", "deploy", "--compose-file", compose_file, "--prune"]
    if cli.has_detach:
        args.append("--detach=false")
    return [*args, check_stack_name(stack)]


def remove_args(cli: DockerCLI, stack: str) -> list[str]:
    args = [cli.path, "stack", "rm"]
    if cli.has_detach:
        args.append("--detach=true")
    return [*args, check_stack_name(stack)]


class CLIRun(ExternalRun):
    """One run of the CLI: its output (stdout and stderr as they come, in order) line by
    line, its exit status (`returncode`), and an end to it after `timeout` seconds or on
    `stop()`. The running is `external.ExternalRun`'s."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, timeout: float) -> None:
        super().__init__(argv, env, cwd, timeout, KILL_GRACE_SECONDS)

    @property
    def returncode(self) -> int | None:
        return self.exit_status


# The CLI's schema refusal: "services.web Additional property bogus is not allowed".
_CLI_SCHEMA = re.compile(r"^([A-Za-z0-9_.\-]+) Additional property (\S+) is not allowed")


def stack_problems(said: str, compose_text: str) -> list[FileProblem]:
    """What `docker stack config` refused, each message with the compose.yaml line it is
    about where it can be told (compose's own forms, plus the CLI's schema form)."""
    problems = []
    for raw in said.splitlines():
        message = raw.strip()
        m = _CLI_SCHEMA.match(message)
        if m is None:
            problems += problems_from_compose_error(message, compose_text)
            continue
        path: list[str | int] = [*m[1].split("."), m[2]]
        line = None
        for end in range(len(path), 0, -1):
            if (line := line_of(compose_text, path[:end])) is not None:
                break
        problems.append(FileProblem(COMPOSE_FILE, line, message))
    # "1 error(s) decoding:" says only that the next lines are errors.
    problems = [p for p in problems if not p.message.endswith("error(s) decoding:")]
    return problems or [FileProblem(COMPOSE_FILE, None, said.strip() or "refused")]
