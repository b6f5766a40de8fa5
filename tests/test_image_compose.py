"""deploy/compose.full.yaml on the lab's Docker 26 engine with the lab's compose v2: two
dashboard processes of the image, Redis, PostgreSQL and HAProxy (images made from Debian's
packages by lab/build-image service-bases). A browser through the proxy logs in and follows
a log live (the websocket upgrade passes the proxy; the sticky cookie keeps it on one
process). Marked `image`: it runs in the image tests' own process (tests/split_run.py)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from engine_client import EngineClient

from .support.browser import CHROMIUM, CHROMIUM_ARGS, Dashboard, browser_login, watch_console
from .support.compose import require_compose
from .support.image import IMAGE_ENGINE, IMAGE_TAG, build
from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL, lab_netns, require
from .support.netns_relay import relay

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.image]

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "deploy" / "compose.full.yaml"
PASSWORD = re.compile(r"Created admin account '([^']+)' with password:\s+(\S+)")


def _compose(binary: str, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [binary, "-f", str(FULL), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if done.returncode:
        logs = subprocess.run(
            [binary, "-f", str(FULL), "logs", "--tail", "30"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        ).stdout
        raise AssertionError(f"compose {args[0]}: {done.stderr}\n{logs}")
    return done.stdout


@contextlib.contextmanager
def full_deployment() -> Iterator[Dashboard]:
    """compose up of the full file; yields the proxy's URL here and the admin's login;
    down -v after."""
    binary = require_compose()
    build()
    subprocess.run(
        [str(ROOT / "lab" / "build-image"), "service-bases"],
        check=True,
        capture_output=True,
        timeout=1200,
        env={**os.environ, "DOCKER_HOST": IMAGE_ENGINE},
    )
    port = random.randint(20000, 29999)
    stacks = f"/tmp/dash-full-stacks-{RUN_ID}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")},
        "DOCKER_HOST": IMAGE_ENGINE,
        "COMPOSE_PROJECT_NAME": f"dash-full-{RUN_ID}",
        "DASHBOARD_IMAGE": IMAGE_TAG,
        "REDIS_IMAGE": "lab/redis:12",
        "POSTGRES_IMAGE": "lab/postgres:12",
        "PROXY_IMAGE": "lab/haproxy:12",
        "POSTGRES_PASSWORD": f"pw-{RUN_ID}",
        "DASHBOARD_SECRET_KEY": f"key-{RUN_ID}-{RUN_ID}",
        "DOCKER_SOCKET": IMAGE_ENGINE.removeprefix("unix://"),
        "DASHBOARD_STACKS_DIR": stacks,
        "DASHBOARD_PORT": str(port),
    }
    netns = lab_netns(IMAGE_ENGINE)
    try:
        _compose(binary, env, "up", "-d", "--wait", timeout=600)
        with relay(f"/var/run/netns/{netns}", ("127.0.0.1", port)) as local:
            url = f"http://127.0.0.1:{local}"
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, _compose(binary, env, "logs")
                time.sleep(0.3)
            logs = _compose(binary, env, "logs", "--no-log-prefix", "dashboard1", "dashboard2")
            # compose erases each line before writing it (ESC [2K), even with no terminal.
            match = PASSWORD.search(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", logs))
            assert match, logs
            yield Dashboard(url, match.group(1), match.group(2))
    finally:
        with contextlib.suppress(subprocess.SubprocessError, AssertionError):
            _compose(binary, env, "down", "-v", "-t", "3")
        subprocess.run(["rm", "-rf", stacks], check=False)


def test_two_processes_behind_the_proxy_serve_a_login_and_a_live_log():
    if not CHROMIUM:
        require("chromium is not installed (lab/engine-lab deps installs it)")
    lab = EngineClient(IMAGE_ENGINE, timeout=30)
    made = lab.containers.create(
        {
            "Image": LAB_IMAGE,
            "Cmd": ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.3; done"],
            "Labels": {TEST_LABEL: RUN_ID},
        }
    )
    lab.containers.start(made["Id"])
    from playwright.sync_api import sync_playwright

    try:
        with full_deployment() as site, sync_playwright() as p:
            url = site.url
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context()
            page = context.new_page()
            errors = watch_console(page)
            browser_login(page, site)
            assert any(c["name"] == "dashboard_node" for c in context.cookies())
            page.goto(f"{url}/hosts/local/containers/{made['Id']}/logs/")
            page.locator("#log-state.live").wait_for(timeout=15000)
            page.locator("#log-view .l", has_text="tick-").first.wait_for(timeout=10000)
            last = page.locator("#log-view .l").last.inner_text()
            page.wait_for_function(
                "t => { const l = document.querySelectorAll('#log-view .l');"
                " return l.length && l[l.length - 1].innerText !== t; }",
                arg=last,
                timeout=10000,
            )
            context.close()
            browser.close()
            assert not errors, errors
    finally:
        lab.containers.remove(made["Id"], force=True)
        lab.close()
