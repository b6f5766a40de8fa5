"""The swarm in a real browser: an admin scales a service from its page and watches the
tasks arrive; the overview shows the swarm's events as they happen."""

from __future__ import annotations

import contextlib

import pytest

from engine_client import EngineError

from . import test_browser as tb
from .support.browser import live_dashboard, watch_console
from .support.lab import LAB_DOCKER_HOST, RUN_ID
from .support.swarm_lab import LAB_DOCKER_HOST2, service_spec, swarm

pytestmark = [pytest.mark.engine, pytest.mark.browser]

__all__ = ["swarm"]
browser = tb.browser


@pytest.fixture
def page(browser, dashboard):
    """Logged in as the admin (with two hosts the dashboard opens on its fleet page); no
    script error and no CSP violation on any page the test visits."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors = watch_console(pg)
    pg.goto(dashboard.url + "/login/")
    pg.fill("input[name=username]", dashboard.username)
    pg.fill("input[name=password]", dashboard.password)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/hosts/**")
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def dashboard(swarm):
    with live_dashboard(LAB_DOCKER_HOST, DASHBOARD_HOSTS=f"node2={LAB_DOCKER_HOST2}") as live:
        yield live


@pytest.fixture
def service(swarm):
    sid = swarm.manager.services.create(service_spec(f"dt-{RUN_ID}-b", 1))["ID"]
    swarm.wait_running(sid, 1)
    yield sid
    with contextlib.suppress(EngineError):
        swarm.manager.services.remove(sid)


def test_an_admin_scales_a_service_from_its_page(page, dashboard, swarm, service):
    base = f"{dashboard.url}/hosts/local/swarm"
    page.goto(f"{base}/services/{service}/")
    page.locator('#service-replicas[data-running="1"][data-desired="1"]').wait_for()
    page.fill("#id_replicas", "3")
    page.get_by_role("button", name="Scale").click()
    page.locator(".flash", has_text="scaled to 3").wait_for()
    # The counts and the task table follow the swarm as the tasks start, without a reload.
    page.evaluate("window.__noReload = true")
    page.locator('#service-replicas[data-running="3"][data-desired="3"]').wait_for(timeout=30000)
    assert page.evaluate("window.__noReload") is True
    assert page.locator("tr.task-running").count() == 3
    nodes = set(page.locator("tr.task-running").evaluate_all("rs => rs.map(r => r.dataset.node)"))
    assert len(nodes) == 2, f"tasks on both nodes: {nodes}"
    tb.shot(page, "swarm-service")

    page.goto(f"{base}/")
    page.locator("#swarm-summary").wait_for()
    page.locator("#live-status.live").wait_for()
    tb.shot(page, "swarm-overview")
    swarm.manager.services.scale(service, 2)
    page.locator("#swarm-events .event", has_text="replicas → 2").first.wait_for(timeout=15000)

    page.goto(f"{base}/nodes/")
    assert page.locator("#nodes-rows tr").count() == 2
    tb.shot(page, "swarm-nodes")
    page.goto(f"{dashboard.url}/hosts/node2/swarm/")
    assert "This engine is a swarm worker" in page.locator("main").inner_text()
