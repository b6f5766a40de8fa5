"""Two lab engines side by side in one dashboard, in a real browser: the fleet page, the
host switcher, and acting on a container of the second engine."""

from __future__ import annotations

import contextlib
import secrets

import pytest

from engine_client import EngineError

from .support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, live_dashboard, watch_console
from .support.lab import LAB_DOCKER_HOST, LAB_IMAGE, RUN_ID, TEST_LABEL
from .support.swarm_lab import node2_client

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture
def node2():
    client = node2_client()
    made: list[str] = []
    client.made = made
    yield client
    for cid in made:
        with contextlib.suppress(EngineError):
            client.containers.remove(cid, force=True)
    client.close()


def test_two_engines_side_by_side(engine, node2):
    from .support.swarm_lab import LAB_DOCKER_HOST2

    name = f"dt-{RUN_ID}-n2-{secrets.token_hex(3)}"
    created = node2.containers.create(
        {
            "Image": LAB_IMAGE,
            "Cmd": ["sleep", "300"],
            "Labels": {TEST_LABEL: RUN_ID},
            "StopTimeout": 1,
        },
        name=name,
    )
    node2.made.append(created["Id"])
    node2.containers.start(created["Id"])
    if not CHROMIUM:
        pytest.fail("chromium is not installed (lab/engine-lab deps installs it)")
    from playwright.sync_api import sync_playwright

    with (
        live_dashboard(LAB_DOCKER_HOST, DASHBOARD_HOSTS=f"worker={LAB_DOCKER_HOST2}") as dash,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = watch_console(page)
        page.goto(dash.url + "/")
        page.fill("input[name=username]", dash.username)
        page.fill("input[name=password]", dash.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/hosts/")
        # Both cards fill in from the socket, each with its own engine's facts.
        for host in ("local", "worker"):
            page.locator(f"#host-card-{host} .badge.ok").wait_for(timeout=15000)
        # Node 2's hostname, whatever the lab named it (dlab2 in the default lab).
        assert node2.system.info()["Name"] in page.locator("#host-card-worker").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "fleet-two-engines.png"), full_page=True)
        # The switcher keeps the section: local's images -> worker's images.
        page.goto(dash.url + "/hosts/local/images/")
        page.select_option("select[data-navigate]", label="worker")
        page.wait_for_url("**/hosts/worker/images/")
        # The worker's container is on the worker's list, not on local's; stop it there.
        page.goto(dash.url + "/hosts/worker/containers/")
        row = page.locator(f"#container-{created['Id'][:12]}")
        row.wait_for()
        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="Stop").click()
        row.locator(".badge", has_text="exited").wait_for(timeout=15000)
        assert node2.containers.inspect(created["Id"])["State"]["Running"] is False
        page.goto(dash.url + "/hosts/local/containers/")
        assert page.locator(f"#container-{created['Id'][:12]}").count() == 0
        browser.close()
    assert not errors, errors
