"""Compose runs for the projects in the stacks directory: save (checked, then `compose
config`), preview (`up --dry-run`), and the runs a page watches (up, pull, restart, down).

A run is started the way a pull is (dashboard/progress.py): the view checks the request and
hands the page a signed ticket naming the run; the page's websocket presents it, and the
consumer starts (or rejoins) the run in the hub. The run goes on to its end if the page is
closed (stopping compose half-way leaves a project half-made); its outcome — who, host,
project, command, exit status — is written to the audit trail when compose exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections

from engine_client.compose import (
    ComposeBinary,
    ComposeRun,
    ComposeUnavailable,
    Connection,
    PlanStep,
    RegistryLogin,
    find_compose,
    plan_from_dry_run,
    private_home,
)
from engine_client.compose_files import (
    COMPOSE_FILE,
    ENV_FILE,
    FileProblem,
    HostPath,
    check_files,
    host_paths,
    problems_from_compose_error,
)
from engine_client.validators import check_project_name

from . import credentials, stacks
from .engines import Host, get_host
from .models import AuditEntry, RegistryCredential
from .run_tickets import TICKET_MAX_AGE, RunJob, RunTickets, audit
from .streams.compose_run import ComposeRunSource, RunRefused, RunResult

_SALT = "dashboard.compose-run"
# `compose config` and `up --dry-run` are quick: they get at most this long.
CHECK_TIMEOUT = 60.0
# The runs a page can start, and compose's arguments for each.
ACTIONS: dict[str, tuple[str, ...]] = {
    "up": ("up", "-d", "--remove-orphans"),
    "pull": ("pull",),
    "restart": ("restart",),
    "down": ("down", "--remove-orphans"),
    "down-volumes": ("down", "--remove-orphans", "--volumes"),
}
# Runs that may pull an image: they get the host's saved registry logins.
PULLING = ("pull", "up")
ACTION_LABELS = {
    "up": "Up",
    "pull": "Pull",
    "restart": "Restart",
    "down": "Down",
    "down-volumes": "Down, with volumes",
}

log = logging.getLogger(__name__)
_binary: dict[str, ComposeBinary] = {}
_binary_lock = threading.Lock()


def compose_binary() -> ComposeBinary:
    """The compose v2 binary (DASHBOARD_COMPOSE_BIN or PATH); ComposeUnavailable says how
    to get one. A binary found is remembered; a missing one is looked for again next time."""
    configured = settings.COMPOSE_BIN
    with _binary_lock:
        found = _binary.get(configured)
        if found is None:
            found = _binary[configured] = find_compose(configured)
        return found


def compose_problem() -> str:
    """Why compose cannot run here, or ""."""
    try:
        compose_binary()
    except ComposeUnavailable as exc:
        return str(exc)
    return ""


def connection_for(host: Host) -> Connection:
    """The host's connection as the docker CLI's variables say it. A TLS host's certificates
    are the files the dashboard already decrypted into its private 0700 directory (or the
    DOCKER_CERT_PATH the first host came with)."""
    tls = host.tls
    if tls is None:
        return Connection(docker_host=host.url)
    first = tls.client_cert or tls.ca_cert or tls.client_key or ""
    return Connection(
        docker_host=host.url,
        cert_path=os.path.dirname(first),
        tls_verify=tls.verify,
        tls=True,
    )


def compose_home() -> Path:
    return private_home(Path(settings.DATA_DIR) / "compose-home")


def host_logins(host_name: str) -> list[RegistryLogin]:
    """The host's saved registry logins, decrypted (call it in the run's own thread: the
    passwords live only as long as the run). CredentialError when one can no longer be
    read."""
    return [
        RegistryLogin(cred.registry, cred.username, credentials.decrypt(cred.secret))
        for cred in RegistryCredential.objects.filter(host=host_name)
    ]


def make_run(
    host: Host,
    project: str,
    folder: Path,
    args: tuple[str, ...],
    timeout: float | None = None,
    compose_file: str = COMPOSE_FILE,
    env_file: str | None = None,
    logins: Sequence[RegistryLogin] | None = None,
) -> ComposeRun:
    """A compose run for the project. One that may pull (`up`, `pull`; not a dry run) gets
    the host's saved registry logins, as the images page's pulls do: `logins` when given,
    else read here (a login that can no longer be decrypted is left out, and the pull says
    what the registry thinks of that)."""
    if logins is None:
        logins = []
        if args and args[0] in PULLING and "--dry-run" not in args:
            try:
                logins = host_logins(host.name)
            except credentials.CredentialError as exc:
                log.warning("compose run of %s without registry logins: %s", project, exc)
    return ComposeRun(
        binary=compose_binary(),
        project=project,
        folder=folder,
        connection=connection_for(host),
        home=compose_home(),
        args=args,
        timeout=settings.COMPOSE_TIMEOUT if timeout is None else timeout,
        compose_file=compose_file,
        env_file=env_file,
        logins=logins,
    )


@dataclass
class SaveResult:
    problems: list[FileProblem]
    created: bool = False
    # What a person should know of a save that went through (an adoption's files left
    # behind, say).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def save(
    host: Host,
    project: str,
    compose_text: str,
    env_text: str,
    new: bool,
    copied: Mapping[str, bytes] | None = None,
) -> SaveResult:
    """Check the files, have compose read them (`config -q`) as candidates beside the real
    ones, and only then put them in place. Nothing is written when either refuses; a
    project another run holds is refused (ProjectBusy). `copied`: files the compose file
    refers to (relative path -> content, an adoption's), put in place before compose reads
    it, and taken away again if it refuses a new project."""
    folder = stacks.project_folder(host.name, project)
    if new and stacks.is_stored(folder):
        return SaveResult(
            [FileProblem(COMPOSE_FILE, None, f"{project} is already a project here: edit it")]
        )
    problems = check_files(folder, compose_text, env_text)
    if problems:
        return SaveResult(problems)
    binary_problem = compose_problem()
    if binary_problem:
        return SaveResult([FileProblem(COMPOSE_FILE, None, binary_problem)])
    existed = folder.exists()
    with stacks.project_lock(folder):
        candidate = f".{COMPOSE_FILE}.candidate"
        env_candidate = f".{ENV_FILE}.candidate"
        stacks.write_candidate(folder, candidate, compose_text)
        stacks.write_candidate(folder, env_candidate, env_text)
        try:
            for relative, data in (copied or {}).items():
                stacks.write_copied(folder, relative, data)
            run = make_run(
                host,
                project,
                folder,
                ("config", "-q"),
                timeout=min(CHECK_TIMEOUT, settings.COMPOSE_TIMEOUT),
                compose_file=candidate,
                env_file=env_candidate,
            )
            output = run.run()
            if run.timed_out or run.exit_status != 0:
                text = "\n".join(output).replace(str(folder / candidate), COMPOSE_FILE)
                ended = f"{run.outcome} (exit status {run.exit_status})"
                problems = (
                    [FileProblem(COMPOSE_FILE, None, ended)]
                    if run.timed_out
                    else problems_from_compose_error(text, compose_text)
                    or [FileProblem(COMPOSE_FILE, None, ended)]
                )
                return SaveResult(problems)
            stacks.write_files(folder, compose_text, env_text)
            return SaveResult([], created=not existed)
        finally:
            for name in (candidate, env_candidate):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
            if not existed and not stacks.is_stored(folder):
                stacks.remove_copied(folder, list(copied or {}))
                stacks.remove_files(folder)


@dataclass
class Preview:
    steps: list[PlanStep]
    error: str = ""
    # Absolute host paths the services bind-mount: allowed (admins write the file), and
    # named so that nobody mounts /etc unawares.
    host_paths: list[HostPath] = field(default_factory=list)


def preview(host: Host, project: str) -> Preview:
    """What `up` would create, recreate or remove (`up --dry-run`, compose 2.26 has it)."""
    try:
        folder = checked_folder(host.name, project)
    except RunRefused as exc:
        return Preview([], str(exc))
    try:
        run = make_run(
            host,
            project,
            folder,
            ("up", "--dry-run", "-d", "--remove-orphans"),
            timeout=min(CHECK_TIMEOUT, settings.COMPOSE_TIMEOUT),
        )
    except ComposeUnavailable as exc:
        return Preview([], str(exc))
    mounts = host_paths(stacks.read_files(folder)[0])
    output = run.run()
    if run.timed_out or run.exit_status != 0:
        ended = f"{run.outcome} (exit status {run.exit_status})"
        tail = "\n".join(output[-5:])
        return Preview([], f"{ended}: {tail}" if tail else ended, mounts)
    return Preview(plan_from_dry_run(output), host_paths=mounts)


# -- runs a page watches -------------------------------------------------------------------


class Job(RunJob):
    """A compose run: its target is the project, its action one of ACTIONS."""

    @property
    def project(self) -> str:
        return self.target

    @property
    def args(self) -> tuple[str, ...]:
        return ACTIONS[self.action]


TICKETS = RunTickets(
    salt=_SALT,
    job_class=Job,
    actions=ACTIONS,
    check_name=check_project_name,
    expired="this run's link has expired; start it again",
    foreign="this run's link belongs to someone else",
)


def checked_folder(host_name: str, project: str) -> Path:
    """The project's folder, once the files in it pass the checks again: they may have been
    edited on disk since the dashboard wrote them. RunRefused says what fails."""
    folder = stacks.project_folder(host_name, project)
    compose_text, env_text = stacks.read_files(folder)
    if not compose_text:
        raise RunRefused(f"{project} has no compose.yaml in the stacks directory")
    problems = check_files(folder, compose_text, env_text)
    if problems:
        raise RunRefused(
            "the files in the stacks directory fail the checks (edited outside the "
            "dashboard?): " + "; ".join(str(p) for p in problems)
        )
    return folder


def source_for(job: Job) -> ComposeRunSource:
    """The hub source that runs `job` (the running or finished one, if there is one)."""

    def start() -> ComposeRun:
        # In the run's thread, holding the project's lock.
        try:
            host = get_host(job.host)
            # Decrypted here, in the run's thread, for this run alone.
            logins = host_logins(job.host) if job.action in PULLING else []
        except credentials.CredentialError as exc:
            raise RunRefused(str(exc)) from None
        finally:
            connections.close_all()
        folder = stacks.project_folder(job.host, job.project)
        if not stacks.claim_run(folder, job.job, TICKET_MAX_AGE):
            raise RunRefused(
                "this run has already been run (a page reconnecting to it after it ended); "
                "start it again from the editor"
            )
        folder = checked_folder(job.host, job.project)
        return make_run(host, job.project, folder, job.args, logins=logins)

    def on_done(result: RunResult) -> None:
        record(job, result)

    folder = stacks.project_folder(job.host, job.project)
    return ComposeRunSource.for_job(
        job.job, lambda: ComposeRunSource(job.job, folder, start, on_done)
    )


def record(job: Job, result: RunResult) -> None:
    """The audit entry for a finished run (from the run's thread)."""
    if result.refused:
        outcome = AuditEntry.DENIED
    elif result.state == "done":
        outcome = AuditEntry.OK
    else:
        outcome = AuditEntry.FAILED
    params = {"command": result.command, "exit_status": result.exit_status}
    audit(job, f"project.compose.{job.action}", params, outcome, result.message)
