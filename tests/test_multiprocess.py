"""Two dashboard processes behind one Redis channel layer and one PostgreSQL database.

The test starts its own redis-server (Debian's) and its own PostgreSQL 15 cluster in a
temporary directory, each on a free port, and stops both at the end. Both daphne processes
share the secret key, the database (sessions, users, audit) and the channel layer: a person
logged in on one is logged in on the other, a viewer on each of the same container's log
gets every line once, and an action on one shows on the other's live page.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator

import pytest
import requests

from engine_client import EngineClient

from .support.browser import free_port, live_dashboard
from .support.lab import REQUIRE_ENGINE
from .support.processes import PG_BIN, create_database, postgres_cluster, stop

pytestmark = [pytest.mark.engine, pytest.mark.multiprocess]


def _need(what: str) -> None:
    if REQUIRE_ENGINE:
        pytest.fail(f"{what} (lab/engine-lab deps installs it)", pytrace=False)
    pytest.skip(what)


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout}s")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if not exe:
        _need("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="dash-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    if not os.path.exists(f"{PG_BIN}/initdb"):
        _need(f"PostgreSQL 15 is not installed ({PG_BIN})")
    if os.geteuid() != 0:
        _need("starting PostgreSQL as its own user needs root")
    with postgres_cluster(free_port()) as server:
        yield create_database(server, "dashboard")


@pytest.fixture
def two_dashboards(redis_url, database_url, engine):
    import psycopg

    # A database of its own each time: the first admin (and its password) is made once per
    # database, and the cluster serves the test once per lab engine.
    name = f"dashboard_{secrets.token_hex(4)}"
    server = database_url.rsplit("/", 1)[0]
    with psycopg.connect(
        f"{server.replace('postgres://', 'postgresql://')}/postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    database_url = f"{server}/{name}"
    password = secrets.token_urlsafe(12)
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "DASHBOARD_SECRET_KEY": secrets.token_urlsafe(40),
        "DASHBOARD_ADMIN_PASSWORD": password,
        "DASHBOARD_STREAM_LINGER_SECONDS": "1",
    }
    url = engine.lab_url  # the lab engine under test (docker or podman)
    with live_dashboard(url, **env) as a, live_dashboard(url, **env) as b:
        yield a, b, password, database_url


def _login(url: str, password: str) -> requests.Session:
    s = requests.Session()
    s.get(url + "/login/", timeout=10)
    resp = s.post(
        url + "/login/",
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text[:300]
    return s


def _ws(url: str, session: requests.Session, path: str):
    from websockets.asyncio.client import connect

    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return connect(
        "ws://" + url.split("://", 1)[1] + path,
        origin=url,
        additional_headers={"Cookie": cookie},
        ping_interval=None,
        max_size=None,
    )


def _gate(engine: EngineClient, cid: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("go"), io.BytesIO(b""))
    engine.request(
        "PUT",
        "/containers/{}/archive",
        cid,
        params={"path": "/tmp"},
        data=buf.getvalue(),
        headers={"Content-Type": "application/x-tar"},
    )


async def _read_lines(ws, want: int, timeout: float = 60) -> list[str]:
    got: list[str] = []
    async with asyncio.timeout(timeout):
        while not got or got[-1] != "END":
            msg = json.loads(await ws.recv())
            got += re.findall(r"<time>[^<]*</time>([^<]*)</div>", msg.get("lines", ""))
    return got


def _cached_page(session: requests.Session, url: str, timeout: float = 15) -> str:
    """The containers page once it is read from the process's cache (no fallback note)."""
    deadline = time.monotonic() + timeout
    while 'id="cache-note"' in (html := session.get(url + "/hosts/local/containers/").text):
        assert time.monotonic() < deadline, f"{url}'s container cache never became trustworthy"
        time.sleep(0.1)
    return html


def test_two_processes_share_logins_streams_and_live_pages(two_dashboards, make_container, engine):
    a, b, password, database_url = two_dashboards
    engine = EngineClient(engine.lab_url, timeout=30)
    lines = 300
    c = make_container(
        [
            "sh",
            "-c",
            f"while [ ! -e /tmp/go ]; do usleep 20000; done; seq 1 {lines}; echo END; sleep 300",
        ]
    )
    cid = c["Id"]

    session = _login(a.url, password)
    # Logged in on A is logged in on B: one session table, one secret key.
    resp = session.get(b.url + "/hosts/local/containers/", timeout=10)
    assert resp.status_code == 200 and "admin" in resp.text

    async def watch() -> None:
        path = f"/ws/hosts/local/containers/{cid}/logs/?tail=all"
        async with _ws(a.url, session, path) as on_a, _ws(b.url, session, path) as on_b:
            for ws in (on_a, on_b):
                async with asyncio.timeout(15):
                    while '"live"' not in await ws.recv():
                        pass
            await asyncio.to_thread(_gate, engine, cid)
            got_a, got_b = await asyncio.gather(_read_lines(on_a, lines), _read_lines(on_b, lines))
        want = [str(i) for i in range(1, lines + 1)] + ["END"]
        assert got_a == want, "the viewer on A got every line once, in order"
        assert got_b == want, "the viewer on B got every line once, in order"

    try:
        asyncio.run(watch())
    except BaseException:
        print("A:\n" + a.log()[-4000:] + "\nB:\n" + b.log()[-4000:])
        raise

    # Each process keeps its own container cache, filled once a page asked for it.
    for live in (a, b):
        _cached_page(session, live.url)

    async def act_on_a_see_on_b() -> None:
        async with _ws(b.url, session, "/ws/hosts/local/containers/live/") as on_b:
            async with asyncio.timeout(15):
                while "● live" not in await on_b.recv():
                    pass
            resp = await asyncio.to_thread(
                session.post,
                f"{a.url}/hosts/local/containers/{cid}/stop/",
                headers={"X-CSRFToken": session.cookies["csrftoken"], "HX-Request": "true"},
                timeout=30,
            )
            assert resp.status_code == 200, resp.text[:300]
            seen = ""
            try:
                async with asyncio.timeout(20):
                    while not re.search(rf'id="container-{cid[:12]}"\s+class="state-exited"', seen):
                        seen += await on_b.recv()
            except TimeoutError:
                raise AssertionError(f"B's page never showed it stopped: {seen[-2000:]}") from None

    try:
        asyncio.run(act_on_a_see_on_b())
    except BaseException:
        print("A:\n" + a.log()[-4000:] + "\nB:\n" + b.log()[-4000:])
        raise
    # ... and B's cache saw the stop A made: its page, read from the cache, says so.
    for live in (b, a):
        deadline = time.monotonic() + 10
        while not re.search(
            rf'id="container-{cid[:12]}"\s+class="state-exited"',
            page := _cached_page(session, live.url),
        ):
            assert time.monotonic() < deadline, page[-2000:]
            time.sleep(0.1)
    # The audit entry A wrote is in the one database.
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        row = conn.execute(
            "SELECT action, outcome FROM dashboard_auditentry WHERE target_id = %s", (cid,)
        ).fetchone()
    assert row == ("container.stop", "ok")
    engine.close()
    for live in (a, b):
        assert "Traceback" not in live.log()
