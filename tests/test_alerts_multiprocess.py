"""Two dashboard processes on one PostgreSQL database: exactly one evaluates the alert
rules (a crash is delivered once, not once per process); SIGKILL that one and the other
takes the lease over within seconds and delivers the next crash, once."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest

from .support.browser import free_port, live_dashboard, login
from .support.lab import REQUIRE_ENGINE, once_per_run
from .support.processes import PG_BIN, create_database, postgres_cluster
from .support.receiver import Receiver, webhook_receiver

pytestmark = [pytest.mark.engine, pytest.mark.multiprocess]
KEY = "two-process-signing-key"


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    if not os.path.exists(f"{PG_BIN}/initdb") or os.geteuid() != 0:
        if REQUIRE_ENGINE:
            pytest.fail("needs PostgreSQL 15 and root (lab/engine-lab deps)", pytrace=False)
        pytest.skip("needs PostgreSQL 15 and root")
    with postgres_cluster(free_port()) as server:
        yield server


def _holder_pid(database_url: str) -> int | None:
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        row = conn.execute(
            "SELECT holder FROM dashboard_watchlease WHERE name = 'alerts' AND expires > now()"
        ).fetchone()
    return int(row[0].split(":")[1]) if row else None


def _wait_holder(database_url: str, timeout: float, not_pid: int | None = None) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _holder_pid(database_url)
        if pid is not None and pid != not_pid:
            return pid
        time.sleep(0.2)
    raise AssertionError(f"no process took the alerts lease within {timeout}s")


def _crash_once(receiver: Receiver, make_container, labels, want: int) -> dict:
    c = make_container(["sh", "-c", "exit 9"], Labels=labels)
    got = receiver.wait_for(want, timeout=30)
    assert len(got) >= want, f"no alert for {c['Id'][:12]} within 30 s"
    time.sleep(4)  # a second process evaluating too would have sent its copy by now
    assert len(receiver.got) == want, [r.json()["text"] for r in receiver.got]
    last = receiver.got[-1]
    assert last.signed_by(KEY) and last.json()["targets"][0]["id"] == c["Id"]
    return last.json()


def test_one_process_evaluates_and_the_other_takes_over_when_it_is_killed(
    pg_server, engine, make_container
):
    once_per_run(engine, "the alert lease's takeover")
    database_url = create_database(pg_server, f"alerts_{secrets.token_hex(4)}")
    env = {
        "DATABASE_URL": database_url,
        "DASHBOARD_SECRET_KEY": secrets.token_urlsafe(40),
        "DASHBOARD_ALERTS_WATCH": "1",
        "DASHBOARD_ALERTS_LEASE_SECONDS": "3",
        "DASHBOARD_ALERTS_GROUP_SECONDS": "1",
    }
    token = secrets.token_hex(4)
    labels = {"alerttest": token}
    with (
        webhook_receiver() as receiver,
        live_dashboard(engine.lab_url, **env) as a,
        live_dashboard(engine.lab_url, **env) as b,
    ):
        session = login(a)
        csrf = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": a.url + "/"}
        resp = session.post(
            a.url + "/alerts/channels/",
            data={"name": "hook", "kind": "webhook", "url": receiver.url, "key": KEY},
            headers=csrf,
            allow_redirects=False,
        )
        assert resp.status_code == 302, resp.text[-2000:]
        with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
            channel = conn.execute("SELECT id FROM dashboard_alertchannel").fetchone()[0]
        rule = {"name": "crash", "kind": "exit", "label": f"alerttest={token}", "count": 3}
        rule |= {"minutes": 5, "seconds": 30, "cooldown": 0, "enabled": "on", "channels": channel}
        resp = session.post(
            a.url + "/alerts/rules/new/", data=rule, headers=csrf, allow_redirects=False
        )
        assert resp.status_code == 302, resp.text[-2000:]

        by_pid = {a.proc.pid: a, b.proc.pid: b}
        first = _wait_holder(database_url, 15)
        assert first in by_pid
        time.sleep(3)  # the holder follows the host's events (and loads the rule)
        _crash_once(receiver, make_container, labels, want=1)

        by_pid[first].kill()
        started = time.monotonic()
        second = _wait_holder(database_url, 15, not_pid=first)
        assert second in by_pid and second != first
        took = time.monotonic() - started
        assert took < 10, f"the takeover took {took:.1f}s"
        time.sleep(3)
        got = _crash_once(receiver, make_container, labels, want=2)
        assert got["state"] == "fired"
        survivor = by_pid[second]
        assert "Traceback" not in survivor.log(), survivor.log()[-3000:]
