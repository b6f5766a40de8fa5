"""Faults a real engine or database shows on demand: a container removed under its open log,
a database locked or gone; and an engine that accepts connections but never answers (the one
fault that needs a fake, FakeHangingEngine)."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
import requests
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.engines import reset_clients

from .support.browser import live_dashboard, login
from .support.clients import ORIGIN
from .support.fakes import FakeHangingEngine
from .support.lab import LAB_DOCKER_HOST

pytestmark = pytest.mark.django_db(transaction=True)


async def receive_until(comm: WebsocketCommunicator, needle: str, timeout: float) -> str:
    text = ""
    deadline = time.monotonic() + timeout
    while needle not in text:
        text += await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.05))
    return text


async def test_a_silent_engine_costs_an_events_stream_its_timeout_only(
    settings, hub, session_cookie
):
    with FakeHangingEngine() as fake:
        settings.DOCKER_HOST = fake.url
        settings.ENGINE_TIMEOUT = 0.5
        settings.ENGINE_CONNECT_TIMEOUT = 0.5
        reset_clients()
        try:
            comm = WebsocketCommunicator(
                application, "/ws/hosts/local/events/", headers=[ORIGIN, session_cookie]
            )
            assert (await comm.connect())[0]
            started = time.monotonic()
            text = await receive_until(comm, "did not answer", timeout=5)
            elapsed = time.monotonic() - started
            assert "Reconnecting" in text
            assert elapsed < 3, "the page hears of it within the engine timeout, not never"
            await comm.disconnect()
        finally:
            hub.close_all()
            reset_clients()


@pytest.mark.engine
async def test_a_container_removed_under_its_open_log_ends_the_stream_with_a_message(
    lab_settings, hub, session_cookie, make_container, engine
):
    c = await sync_to_async(make_container)(["sh", "-c", "while :; do echo tick; sleep 0.2; done"])
    comm = WebsocketCommunicator(
        application,
        f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=10",
        headers=[ORIGIN, session_cookie],
    )
    assert (await comm.connect())[0]
    await receive_until(comm, "tick", timeout=10)
    await sync_to_async(engine.containers.remove)(c["Id"], force=True)
    text = await receive_until(comm, '"gone"', timeout=15)
    last = [json.loads(m) for m in text.replace("}{", "}\n{").splitlines() if m.strip()][-1]
    assert last["status"]["state"] == "gone"
    assert "removed" in last["status"]["text"] or "gone" in last["status"]["text"]
    await comm.disconnect()


# -- the database: a real SQLite file under a real daphne --------------------------------


@pytest.fixture
def dashboard_on_sqlite(engine):
    with live_dashboard(LAB_DOCKER_HOST, DASHBOARD_DB_TIMEOUT="0.3") as live:
        yield live


def _db_path(live) -> str:
    return os.path.join(live.data_dir, "dashboard.sqlite3")


@pytest.mark.engine
def test_a_locked_database_gets_a_page_that_says_so_and_recovers(dashboard_on_sqlite):
    live = dashboard_on_sqlite
    session = login(live)
    page = live.url + "/hosts/local/containers/"
    assert session.get(page, timeout=10).status_code == 200
    holder = sqlite3.connect(_db_path(live), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        resp = session.get(page, timeout=10)
        assert resp.status_code == 503
        assert "database is not available" in resp.text
        assert "database is locked" in resp.text
        assert "Traceback" not in resp.text
        assert 'data-retry="5"' in resp.text, "the page tries again by itself"
        health = requests.get(live.url + "/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["database"] == "failing"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert session.get(page, timeout=10).status_code == 200


@pytest.mark.engine
def test_a_database_that_is_gone_gets_a_page_that_says_so(dashboard_on_sqlite):
    live = dashboard_on_sqlite
    session = login(live)
    page = live.url + "/hosts/local/containers/"
    path = _db_path(live)
    os.rename(path, path + ".away")
    try:
        resp = session.get(page, timeout=10)
        assert resp.status_code == 503
        assert "no such table" in resp.text
        assert "manage.py migrate" in resp.text
        assert "Traceback" not in resp.text
    finally:
        os.replace(path + ".away", path)
    assert session.get(page, timeout=10).status_code == 200
