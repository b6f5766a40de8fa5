"""A real dashboard process (daphne) and a real browser (headless Chromium) for page tests."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from .processes import stop

ROOT = Path(__file__).resolve().parents[2]
# Where page tests leave screenshots of what they saw.
SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or "/tmp/dashboard-screenshots")
CHROMIUM = os.environ.get("DASHBOARD_TEST_CHROMIUM") or shutil.which("chromium") or ""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveDashboard:
    url: str
    username: str
    password: str
    data_dir: str
    log_path: str
    proc: subprocess.Popen | None = None
    # The engine it serves as `local` (the walk-through's steps act on that engine).
    docker_host: str = ""
    killed: bool = False

    def kill(self) -> None:
        """SIGKILL, as a crash would end it (a test of what survives that)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.killed = True

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def free_port() -> int:
    """A free port on 127.0.0.1: any, or one in DASHBOARD_TEST_PORTS (e.g. `8600-8699`) on a
    machine where ports are shared out."""
    low, _, high = os.environ.get("DASHBOARD_TEST_PORTS", "").partition("-")
    candidates = range(int(low), int(high) + 1) if low.isdigit() and high.isdigit() else [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in {low}-{high}")


@contextmanager
def live_dashboard(docker_host: str, **extra_env: str) -> Iterator[LiveDashboard]:
    """migrate, ensure_admin and daphne, as `make run` does, in a private data directory."""
    data_dir = tempfile.mkdtemp(prefix="dash-")
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DASHBOARD_DATA_DIR": data_dir,
        "DOCKER_HOST": docker_host,
        "DASHBOARD_ADMIN_USER": "admin",
        "DASHBOARD_ADMIN_PASSWORD": password,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        **extra_env,
    }
    env.pop("DASHBOARD_DB", None)
    py = sys.executable
    for cmd in (["migrate", "--noinput", "-v0"], ["ensure_admin"]):
        subprocess.run([py, "manage.py", *cmd], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log_path = os.path.join(data_dir, "daphne.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/login/", timeout=1)
                break
            # Not listening yet, or (on a busy machine) slow to answer its first request.
            except (requests.ConnectionError, requests.Timeout):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "dashboard did not start:\n" + Path(log_path).read_text()
                    ) from None
                time.sleep(0.2)
        live = LiveDashboard(url, "admin", password, data_dir, log_path, proc, docker_host)
        yield live
        if proc.poll() is not None and not live.killed:
            raise RuntimeError("dashboard died:\n" + Path(log_path).read_text())
    finally:
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class Dashboard:
    """A dashboard's address and its first admin's login, for one the tests did not start
    with live_dashboard (deploy/compose.full.yaml's, say)."""

    url: str
    username: str
    password: str


class Site(Protocol):
    """A dashboard a test logs in to: a dev server (LiveDashboard) or the image's container."""

    url: str
    username: str
    password: str


def browser_login(page: Any, site: Site, on_form: Callable[[], None] | None = None) -> None:
    """Log a Playwright page in through the login form (`on_form` is called once it shows:
    a screenshot, say); returns on the containers page."""
    page.goto(site.url + "/")
    page.wait_for_url("**/login/**")
    if on_form is not None:
        on_form()
    page.fill("input[name=username]", site.username)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    try:
        page.wait_for_url("**/hosts/local/containers/", timeout=30000)
    except Exception as exc:  # what the page said is the useful part
        said = page.inner_text("main") if page.locator("main").count() else page.content()
        raise AssertionError(f"login as {site.username} failed: {said[:500]}") from exc


def login(live: Site) -> requests.Session:
    """A requests session logged in as the live dashboard's admin."""
    s = requests.Session()
    s.get(live.url + "/login/", timeout=10)
    resp = s.post(
        live.url + "/login/",
        data={
            "username": live.username,
            "password": live.password,
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": live.url + "/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text[:500]
    return s


# Console errors a page may log without being at fault, each with the reason. Any other
# console error, uncaught exception or Content Security Policy violation fails the browser
# test that saw it (see `watch_console`). Patterns are regular expressions matched at the
# start of the message.
ALLOWED_CONSOLE_ERRORS: dict[str, str] = {
    r"Failed to load resource: the server responded with a status of (400|403|404|409|502|503) ": (
        "htmx requests the dashboard answers with an error on purpose (a form sent back with "
        "its messages, a refused action, the engine's own error shown beside the thing): "
        "Chromium logs every such answer; the tests check those answers themselves"
    ),
}
_ALLOWED = [re.compile(pattern) for pattern in ALLOWED_CONSOLE_ERRORS]
# Chromium logs a CSP violation as a console error without saying where it came from; the
# page's own `securitypolicyviolation` event says which directive, file, line and sample.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " at " + (e.sourceFile || "?") + ":" +
                e.lineNumber + ":" + e.columnNumber + " sample=" + JSON.stringify(e.sample));
});
"""


def watch_console(page: Any) -> list[str]:
    """Collect, from now on, every console error (but the allowed ones), uncaught exception
    and CSP violation of a Playwright page; the test asserts the list is empty at its end."""
    errors: list[str] = []
    page.add_init_script(_CSP_REPORTER)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not any(p.match(msg.text) for p in _ALLOWED):
            errors.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    return errors
