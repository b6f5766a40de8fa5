"""Swarm stack runs (`docker stack deploy`, `docker stack rm`): started by a view, run and
watched through the stream hub, audited when they end.

The view checks everything first (role, the host a swarm manager, the CLI there, the stack
name, the files) and hands the run page a signed ticket naming the run; the page's websocket
presents it and the consumer starts (or rejoins) the run in the hub, as a pull does
(`progress.py`). The ticket is bound to the person, the host and the stack, and expires.
One run per stack at a time: a run holds the stack folder's lock (`stacks.project_lock`);
another one is refused with that message and nothing of it runs.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connections

from engine_client import EngineClient
from engine_client.compose_files import COMPOSE_FILE, FileProblem, check_files
from engine_client.projects import STACK_LABEL
from engine_client.stack_cli import (
    CLIRun,
    CLIUnavailable,
    DockerCLI,
    check_config,
    check_stack_name,
    cli_env,
    deploy_args,
    find_docker_cli,
    read_env_values,
    remove_args,
    stack_problems,
    version_problem,
)

from .engines import Host
from .models import AuditEntry
from .run_tickets import RunJob, RunTickets, audit
from .stacks import ProjectBusy, is_stored, project_folder, project_lock, read_files
from .streams.stack_run import CLIRunSource
from .swarm_web import not_manager_text

_SALT = "dashboard.stack-run"
KINDS = ("deploy", "rm")
# How much of the CLI's output the audit entry keeps (its last lines).
AUDIT_OUTPUT_LINES = 20


class Job(RunJob):
    """A stack run: its target is the stack, its action (`kind`) "deploy" or "rm"."""

    @property
    def stack(self) -> str:
        return self.target

    @property
    def kind(self) -> str:
        return self.action


TICKETS = RunTickets(
    salt=_SALT,
    job_class=Job,
    actions=KINDS,
    check_name=check_stack_name,
    expired="this run link has expired; start again",
    foreign="this run link belongs to someone else",
)


def docker_cli() -> DockerCLI:
    """The CLI the dashboard runs (CLIUnavailable says how to get one)."""
    return find_docker_cli(settings.DOCKER_BIN)


def stack_folder(host: str, stack: str) -> Path:
    return project_folder(host, check_stack_name(stack), kind="swarm")


def config_dir() -> str:
    """DOCKER_CONFIG for the CLI: the dashboard's own (0700), never a person's ~/.docker."""
    folder = Path(settings.DOCKER_CLI_CONFIG_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(folder)


def env_for(host: Host, env_text: str = "") -> dict[str, str]:
    return cli_env(host.url, host.tls, config_dir(), read_env_values(env_text))


def refusal(client: EngineClient) -> str:
    """Why stacks cannot be deployed on this host ('' when they can)."""
    if client.flavor.is_podman:
        return "This host is a Podman engine: Podman has no swarm mode, so no stacks."
    state = client.swarm.local_state()
    if state["state"] == "active" and state["manager"]:
        return ""
    return f"{not_manager_text(state)} Stacks are deployed on a swarm manager."


def exists(client: EngineClient, host: Host, stack: str) -> bool:
    """Whether the host has a stack of this name: its files here, or services of it there."""
    if is_stored(stack_folder(host.name, stack)):
        return True
    return bool(client.services.list(filters={"label": [f"{STACK_LABEL}={stack}"]}, status=False))


def check_stack_files(
    host: Host, cli: DockerCLI, stack: str, compose: str, env: str
) -> list[FileProblem]:
    """Everything wrong with a stack's files, cheapest check first: the stacks directory's
    rules (size, YAML, paths outside the folder, .env), what this CLI version needs, then
    the CLI's own `docker stack config` (its complaints at their lines). Nothing is written
    and nothing runs against the engine."""
    folder = stack_folder(host.name, stack)
    problems = check_files(folder, compose, env)
    if problems:
        return problems
    if text := version_problem(cli, compose):
        return [FileProblem(COMPOSE_FILE, 1, text)]
    if not cli.has_config:
        return []  # an older CLI: the deploy itself refuses a bad file, before it creates anything
    cwd = str(folder) if folder.is_dir() else config_dir()
    code, said = check_config(cli, compose, env_for(host, env), cwd)
    return stack_problems(said, compose) if code != 0 else []


def command_of(job: Job) -> str:
    """The command as the audit trail and the page show it."""
    if job.kind == "deploy":
        return f"docker stack deploy --compose-file compose.yaml --prune {job.stack}"
    return f"docker stack rm {job.stack}"


def source_for(job: Job, host: Host) -> CLIRunSource:
    """The hub source of `job` (the running or finished one, if there is one)."""
    folder = stack_folder(job.host, job.stack)

    def make_run() -> CLIRun:
        # A ticket runs once: after a restart of this process (its runs forgotten) a page
        # coming back with the same ticket is told, rather than deploying or removing again.
        if (earlier := _recorded(job)) is not None:
            raise RunFinished(
                f"this run finished earlier (exit status {earlier.params.get('exit_status')}, "
                "see the audit trail); start a new one from the stack's page"
            )
        cli = docker_cli()
        if job.kind == "deploy":
            # Read again under the lock: the files as they are when the run starts.
            _, env_text = read_files(folder)
            argv = deploy_args(cli, job.stack, str(folder / "compose.yaml"))
            return CLIRun(argv, env_for(host, env_text), str(folder), settings.STACK_TIMEOUT)
        argv = remove_args(cli, job.stack)
        return CLIRun(argv, env_for(host), config_dir(), settings.STACK_TIMEOUT)

    def on_done(code: int | None, error: str, lines: list[str]) -> None:
        record(job, code, error, lines)

    return CLIRunSource.for_job(
        job.job,
        lambda: CLIRunSource(
            make_run,
            lambda: project_lock(folder),
            on_done,
            (ProjectBusy, CLIUnavailable, RunFinished),
        ),
    )


class RunFinished(Exception):
    """The ticket's run already ran (its audit entry is there)."""


def _recorded(job: Job) -> AuditEntry | None:
    try:
        return AuditEntry.objects.filter(action=f"stack.{job.kind}", params__job=job.job).first()
    finally:
        connections.close_all()


def record(job: Job, code: int | None, error: str, lines: list[str]) -> None:
    """The audit entry of a finished run (from the run's thread): who, host, stack, the
    command, its exit status and the end of its output. Once per ticket."""
    if _recorded(job) is not None:
        return
    failed = bool(error) or code != 0
    message = error or ("\n".join(lines[-AUDIT_OUTPUT_LINES:]) if failed else "")
    params = {"command": command_of(job), "exit_status": code, "job": job.job}
    outcome = AuditEntry.FAILED if failed else AuditEntry.OK
    audit(job, f"stack.{job.kind}", params, outcome, message)
