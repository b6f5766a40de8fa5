"""The container image (Dockerfile), built on the lab's Docker 26 engine and run there with
the lab's socket mounted: what an operator who installs it with `docker run` gets.

Runs once (not per engine): the image is the same whichever engine it is pointed at; a second
container of it is pointed at the lab's Podman socket. The build reuses the cached base
(lab/build-image), so only changed layers are rebuilt."""

from __future__ import annotations

import time

import pytest

from engine_client import EngineClient, EngineError

from .support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    browser_login,
    login,
    watch_console,
)
from .support.image import IMAGE_ENGINE, build, docker, health_status, restart, run_image
from .support.lab import (
    LAB_IMAGE,
    LAB_PODMAN_HOST,
    RUN_ID,
    TEST_LABEL,
    require,
)
from .support.netns_relay import unix_relay

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.image]

TICKER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.3; done"]


def _client(url: str) -> EngineClient:
    client = EngineClient(url, timeout=30)
    try:
        client.system.ping(timeout=5)
    except EngineError as exc:
        require(f"no lab engine at {url} ({exc}); start it with lab/engine-lab up")
    return client


@pytest.fixture(scope="module")
def lab() -> EngineClient:
    return _client(IMAGE_ENGINE)


@pytest.fixture(scope="module")
def image(lab: EngineClient) -> str:
    seconds = build()
    print(f"\nimage build: {seconds:.1f} s")
    return "docker-dashboard:lab"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        require("chromium is not installed (lab/engine-lab deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _ticker(client: EngineClient, image: str) -> dict:
    created = client.containers.create(
        {"Image": image, "Cmd": TICKER, "Labels": {TEST_LABEL: RUN_ID}},
        name=f"img-tick-{RUN_ID}-{time.monotonic_ns() % 10**6}",
    )
    client.containers.start(created["Id"])
    return client.containers.inspect(created["Id"])


def _socket_path(url: str) -> str:
    return url.removeprefix("unix://")


def test_the_image_serves_the_dashboard_as_a_non_root_user_with_the_socket(lab, image, browser):
    ticker = _ticker(lab, LAB_IMAGE)
    short = ticker["Id"][:12]
    try:
        with run_image(_socket_path(IMAGE_ENGINE)) as run:
            print(f"cold start to a 200 /healthz: {run.healthy_after:.1f} s")
            log = run.logs()
            assert run.password, log
            assert log.count("with password:") == 1

            # The server is daphne, not run as root, and it reads the socket (the list below).
            uids = run.top_uids()
            daphne = [uid for args, uid in uids.items() if "daphne" in args]
            assert daphne and all(uid not in ("0", "root") for uid in daphne), uids

            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            errors = watch_console(page)
            browser_login(page, run)

            # Listed; stopped and started from its row.
            row = page.locator(f"#container-{short}")
            row.locator(".badge.running").wait_for(timeout=15000)
            row.get_by_role("button", name="Stop").click()
            row.locator(".badge.exited").wait_for(timeout=20000)
            row.get_by_role("button", name="Start").click()
            row.locator(".badge.running").wait_for(timeout=20000)

            # Its log, followed live through the container's port (the websocket).
            page.goto(f"{run.url}/hosts/local/containers/{ticker['Id']}/logs/")
            page.locator("#log-state.live").wait_for(timeout=15000)
            page.locator("#log-view .l", has_text="tick-").first.wait_for(timeout=10000)
            last = page.locator("#log-view .l").last.inner_text()
            page.wait_for_function(
                "t => { const l = document.querySelectorAll('#log-view .l');"
                " return l.length && l[l.length - 1].innerText !== t; }",
                arg=last,
                timeout=10000,
            )
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "image-logs.png"))

            # The container's healthcheck sees it healthy.
            deadline = time.monotonic() + 20
            while health_status(run) != "healthy":
                assert time.monotonic() < deadline, health_status(run)
                time.sleep(0.3)

            # Nothing went wrong so far; the log page's socket to the old port fails from here.
            assert not errors, errors
            page.goto("about:blank")
            # Restarted: the session (secret key), the account and the audit trail (the
            # database) are on the volume; no second password is printed.
            print(f"restart to a 200 /healthz: {restart(run):.1f} s")
            assert run.logs().count("with password:") == 1
            page.goto(f"{run.url}/audit/")
            assert "/login/" not in page.url
            assert page.locator("td", has_text="container.stop").count() >= 1
            context.close()

            # The password printed at the first start still logs in (a 302 to the pages).
            login(run)
    finally:
        lab.containers.remove(ticker["Id"], force=True)


def test_the_image_lists_the_containers_of_a_podman_socket(lab, image):
    podman = _client(LAB_PODMAN_HOST)
    made = _ticker(podman, f"localhost/{LAB_IMAGE}")
    sock = _socket_path(LAB_PODMAN_HOST).rsplit("/", 1)[0] + f"/pg-{RUN_ID[:6]}.sock"
    try:
        # Podman's own service made its socket 0600; systemd's podman.socket makes it 0660
        # root:root, which the entrypoint's group handling covers (docs/podman.md).
        relayed = unix_relay(_socket_path(LAB_PODMAN_HOST), sock, 0o660, 0)
        with relayed, run_image(sock) as run:
            s = login(run)
            page = s.get(run.url + "/hosts/local/containers/?q=img-tick", timeout=30)
            assert page.status_code == 200
            assert made["Name"].lstrip("/") in page.text
            info = s.get(run.url + "/hosts/local/", timeout=30)
            assert "Podman" in info.text
            assert "daphne" in docker("top", run.name)
    finally:
        podman.containers.remove(made["Id"], force=True)
