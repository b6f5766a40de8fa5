"""The docker CLI runner for swarm stacks, without an engine: the stack name rule, the CLI's
version and what it needs, the environment built from scratch, the CLI's refusals mapped to
lines, and a CLI that hangs ended by the timeout (process group and all)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from engine_client import InvalidArgument
from engine_client.stack_cli import (
    CLIRun,
    CLIUnavailable,
    check_stack_name,
    cli_env,
    deploy_args,
    find_docker_cli,
    parse_version,
    read_env_values,
    stack_problems,
    version_problem,
)
from engine_client.transport import TLSConfig


@pytest.mark.parametrize("name", ["web", "a1", "my-stack", "my_stack_2", "a" * 40])
def test_stack_names_docker_takes(name):
    assert check_stack_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Bad.Name", "UPPER", "-x", "a_", "a-", "_a", "a b", "a/b", "a" * 41, "ä", None]
)
def test_stack_names_refused(name):
    with pytest.raises(InvalidArgument, match="stack name"):
        check_stack_name(name)


def test_the_cli_version_and_what_it_needs():
    new = parse_version("/x/docker", "Docker version 26.1.5+dfsg1, build a72d7cd\n")
    assert new.version == (26, 1, 5) and new.text == "26.1.5+dfsg1"
    assert not new.needs_version_key and new.has_detach
    assert version_problem(new, "services: {}\n") == ""
    old = parse_version("/x/docker", "Docker version 20.10.24+dfsg1, build 297e128\n")
    assert old.needs_version_key and not old.has_detach and not old.has_config
    assert new.has_config
    assert "version:" in version_problem(old, "services: {}\n")
    assert version_problem(old, 'version: "3.8"\nservices: {}\n') == ""
    assert "--detach=false" in deploy_args(new, "s", "/f") and "--detach" not in " ".join(
        deploy_args(old, "s", "/f")
    )
    with pytest.raises(CLIUnavailable, match="DASHBOARD_DOCKER_BIN"):
        parse_version("/x/podman", "podman version 4.3.1\n")


def test_a_missing_cli_says_how_to_get_one(tmp_path):
    with pytest.raises(CLIUnavailable, match="docker-cli"):
        find_docker_cli("", search_path=str(tmp_path))
    with pytest.raises(CLIUnavailable, match="not an executable"):
        find_docker_cli(str(tmp_path / "nope"))


def test_the_cli_environment_is_built_from_scratch(monkeypatch):
    monkeypatch.setenv("SECRET_OF_THE_DASHBOARD", "x")
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    values = read_env_values(
        "# comment\nGREETING='hi there'\nexport N=2\nDOCKER_HOST=tcp://evil:2375\n\nbad line\n"
    )
    assert values["GREETING"] == "hi there" and values["N"] == "2"
    tls = TLSConfig(ca_cert="/d/tls/h/ca.pem", client_cert="/d/tls/h/cert.pem", verify=True)
    env = cli_env("tcp://10.0.0.1:2376", tls, "/d/cli", values)
    assert env["DOCKER_HOST"] == "tcp://10.0.0.1:2376"  # not the .env's
    assert env["DOCKER_CERT_PATH"] == "/d/tls/h" and env["DOCKER_TLS_VERIFY"] == "1"
    assert env["DOCKER_CONFIG"] == "/d/cli" and env["GREETING"] == "hi there"
    assert "SECRET_OF_THE_DASHBOARD" not in env and "DOCKER_CONTEXT" not in env
    plain = cli_env("unix:///run/x.sock", None, "/d/cli")
    assert "DOCKER_CERT_PATH" not in plain and "DOCKER_TLS_VERIFY" not in plain


def test_the_clis_refusal_is_marked_at_its_line():
    text = "services:\n  web:\n    image: x\n    bogus: 1\n"
    [p] = stack_problems("services.web Additional property bogus is not allowed", text)
    assert (p.file, p.line) == ("compose.yaml", 4)
    [p] = stack_problems("yaml: line 3: did not find expected key", text)
    assert p.line == 3
    problems = stack_problems("1 error(s) decoding:\n\n* error decoding 'Ports': bad", text)
    assert [p.message for p in problems] == ["* error decoding 'Ports': bad"]


def _fake_hanging_cli(tmp_path: Path) -> str:
    """A fake CLI (a shell script): prints a line, starts a child that would outlive it, and
    hangs. Real CLIs hang on an engine that stops answering; none does on demand."""
    path = tmp_path / "fake-hanging-docker"
    path.write_text(
        '#!/bin/sh\necho started\nsleep 300 &\necho $! > "$1"\nwhile true; do sleep 1; done\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_cli_that_hangs_is_ended_by_the_timeout_with_its_children(tmp_path):
    child_pid = tmp_path / "child.pid"
    run = CLIRun(
        [_fake_hanging_cli(tmp_path), str(child_pid)],
        {"PATH": "/usr/bin:/bin"},
        str(tmp_path),
        timeout=1.5,
    )
    started = time.monotonic()
    lines = list(run.lines())
    assert lines == ["started"]
    assert run.timed_out and run.returncode is not None and run.returncode < 0
    assert time.monotonic() - started < 10
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the CLI's child outlived the timeout"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_quick_run_reports_its_output_and_exit_status(tmp_path):
    run = CLIRun(["/bin/sh", "-c", "echo one; echo two >&2; exit 3"], {}, str(tmp_path), 10)
    assert list(run.lines()) == ["one", "two"]
    assert run.returncode == 3 and not run.timed_out
    assert os.path.isdir(tmp_path)


def test_a_run_that_hangs_ends_with_the_timeout_on_the_page_and_in_the_outcome(tmp_path):
    import contextlib
    import json

    from dashboard.streams.stack_run import CLIRunSource

    outcome: list[tuple[int | None, str, list[str]]] = []
    sent: list[object] = []
    source = CLIRunSource(
        lambda: CLIRun(
            [_fake_hanging_cli(tmp_path), str(tmp_path / "child.pid")], {}, str(tmp_path), 1.0
        ),
        contextlib.nullcontext,
        lambda code, error, lines: outcome.append((code, error, lines)),
        (),
    )
    source.start(sent.append, "test run")
    assert source.done.wait(15)
    [(code, error, lines)] = outcome
    assert lines == ["started"] and code is not None and code < 0
    assert "timeout" in error
    message = json.loads(source.replay()[0]["text"])
    assert message["status"]["state"] == "failed" and "timeout" in message["status"]["text"]
    assert "started" in message["lines"] and message["exit"]["error"] == error
    assert ("lines", '<div class="l o">started</div>', 1) in sent
