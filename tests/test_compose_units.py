"""The compose runner without an engine (engine_client/compose.py, dashboard/compose_runs.py):
the environment built from scratch, a TLS host's certificate directory, the deadline that
kills a hanging run's whole process group (with the FAKE hanging binary: the real one cannot
be made to hang on demand), and what `up --dry-run` says it would do."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dashboard.compose_runs import connection_for
from dashboard.engines import Host
from engine_client import TLSConfig
from engine_client.compose import (
    ComposeBinary,
    ComposeRun,
    ComposeUnavailable,
    Connection,
    PlanStep,
    compose_env,
    find_compose,
    plan_from_dry_run,
)

SUPPORT = Path(__file__).parent / "support"


def test_the_environment_holds_nothing_of_the_dashboards_own(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("COMPOSE_FILE", "/etc/passwd")
    env = compose_env(Connection("unix:///run/x.sock"), tmp_path)
    assert set(env) == {
        "PATH",
        "HOME",
        "DOCKER_CONFIG",
        "DOCKER_HOST",
        "COMPOSE_ANSI",
        "COMPOSE_PROGRESS",
        "LANG",
    }
    assert env["HOME"] == str(tmp_path) and env["DOCKER_CONFIG"] == str(tmp_path / "docker")
    assert "do-not-leak" not in env.values()


def test_a_tls_host_passes_its_private_certificate_directory(tmp_path):
    certs = tmp_path / "tls" / "remote-abc"
    tls = TLSConfig(
        ca_cert=str(certs / "ca.pem"),
        client_cert=str(certs / "cert.pem"),
        client_key=str(certs / "key.pem"),
    )
    connection = connection_for(Host(name="remote", url="tcp://10.0.0.5:2376", tls=tls))
    env = compose_env(connection, tmp_path)
    assert env["DOCKER_HOST"] == "tcp://10.0.0.5:2376"
    assert env["DOCKER_CERT_PATH"] == str(certs) and env["DOCKER_TLS_VERIFY"] == "1"
    plain = compose_env(connection_for(Host(name="l", url="unix:///run/x.sock")), tmp_path)
    assert "DOCKER_CERT_PATH" not in plain and "DOCKER_TLS_VERIFY" not in plain


def test_a_v1_binary_is_refused_and_a_missing_one_says_how_to_get_one():
    with pytest.raises(ComposeUnavailable, match=r"1\.29\.2 \(v1\)"):
        find_compose(str(SUPPORT / "fake_compose_v1.sh"))
    with pytest.raises(ComposeUnavailable, match="DASHBOARD_COMPOSE_BIN"):
        find_compose("", search_path=str(Path("/nonexistent")))


def test_a_run_past_its_deadline_is_ended_with_everything_it_started(tmp_path):
    fake = find_compose(str(SUPPORT / "fake_compose_hangs.sh"))
    assert fake.version == "2.99.0-fake"
    name = f"unit-{os.getpid()}"
    run = ComposeRun(
        binary=fake,
        project=name,
        folder=tmp_path,
        connection=Connection("unix:///nonexistent.sock"),
        home=tmp_path,
        args=("up", "-d"),
        timeout=1,
    )
    started = time.monotonic()
    pids_file = Path(f"/tmp/fake-compose-hangs-{name}.pids")
    try:
        lines = run.run()
    finally:
        pids = [int(p) for p in pids_file.read_text().split()] if pids_file.exists() else []
        pids_file.unlink(missing_ok=True)
    assert time.monotonic() - started < 10
    assert lines == ["fake compose: hanging on purpose"]
    assert run.timed_out and run.exit_status is not None and run.exit_status < 0
    assert run.outcome == "compose did not finish within 1 s: it was ended"
    assert len(pids) == 2
    # A SIGKILL is delivered, not waited for: give a loaded machine a moment to carry it out.
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        assert not alive(pid), f"{pid} outlived the deadline"


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie its new parent has not reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_the_argument_list_names_the_folder_project_and_file_and_no_shell(tmp_path):
    run = ComposeRun(
        binary=ComposeBinary(("/usr/bin/docker", "compose"), "2.26.1"),
        project="shop",
        folder=tmp_path,
        connection=Connection("unix:///x.sock"),
        home=tmp_path,
        args=("up", "-d", "--remove-orphans"),
        timeout=5,
    )
    assert run.argv == [
        "/usr/bin/docker",
        "compose",
        "--project-directory",
        str(tmp_path),
        "-p",
        "shop",
        "-f",
        str(tmp_path / "compose.yaml"),
        "up",
        "-d",
        "--remove-orphans",
    ]
    assert run.command == "compose -p shop up -d --remove-orphans"


# compose 2.26.1's `up --dry-run -d --remove-orphans`, as it printed them here.
DRY_RUN_NEW = """\
 DRY-RUN MODE -  Network shop_default  Creating
 DRY-RUN MODE -  Network shop_default  Created
 DRY-RUN MODE -  Container shop-web-1  Creating
 DRY-RUN MODE -  Container shop-web-1  Created
 DRY-RUN MODE -  Container shop-web-1  Starting
 DRY-RUN MODE -  Container shop-web-1  Started
"""
DRY_RUN_CHANGED = """\
 DRY-RUN MODE -  Container shop-web-1  Recreate
 DRY-RUN MODE -  Container shop-web-1  Recreated
 DRY-RUN MODE -  Container 49f56292140f_shop-web-1  Starting
 DRY-RUN MODE -  Container shop-old-1  Removing
"""


def test_the_preview_reads_what_up_would_change():
    assert plan_from_dry_run(DRY_RUN_NEW.splitlines()) == [
        PlanStep("create", "Network", "shop_default"),
        PlanStep("create", "Container", "shop-web-1"),
    ]
    assert plan_from_dry_run(DRY_RUN_CHANGED.splitlines()) == [
        PlanStep("recreate", "Container", "shop-web-1"),
        PlanStep("remove", "Container", "shop-old-1"),
    ]
    assert plan_from_dry_run([" Container shop-web-1  Running", "no dry run here"]) == []
