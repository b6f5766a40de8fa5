"""Processes a test started (a registry, a dashboard, a Redis): ended by their own handle."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

PG_BIN = "/usr/lib/postgresql/15/bin"


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds; reaped either way."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def postgres_cluster(port: int) -> Iterator[str]:
    """A PostgreSQL 15 cluster of the test's own (a temp dir, `port`, trust login as `dash`):
    yields its server URL without a database name (`postgres://dash@127.0.0.1:<port>`)."""
    workdir = tempfile.mkdtemp(prefix="dash-pg-")
    shutil.chown(workdir, "postgres", "postgres")
    data = os.path.join(workdir, "data")
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_pg, f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "dash", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ctl = [*as_pg, f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(workdir, "pg.log")]
    subprocess.run(
        [*ctl, "-w", "-o", f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1", "start"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield f"postgres://dash@127.0.0.1:{port}"
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def create_database(server: str, name: str) -> str:
    """A new database on `server` (from postgres_cluster); returns its URL."""
    import psycopg

    url = server.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@contextmanager
def redis_server(port: int) -> Iterator[str]:
    """A redis-server of the test's own (Debian's, no persistence, a temp dir, `port` on
    127.0.0.1): yields its URL. Raises FileNotFoundError when redis-server is not installed."""
    import socket
    import time

    exe = shutil.which("redis-server")
    if not exe:
        raise FileNotFoundError("redis-server")
    workdir = tempfile.mkdtemp(prefix="dash-redis-")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [exe, *args, "--dir", workdir, "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not listen on {port}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
