"""The project editor in a real browser, with the lab's real compose binary: a new project
saved (after a first try that compose refuses, marked at its line), previewed, brought up
with compose's lines streaming into the page, seen running, and brought down."""

from __future__ import annotations

import secrets

import pytest

from . import test_browser as tb
from .support.browser import live_dashboard
from .support.compose import down_by_name, labelled_compose, require_compose
from .support.lab import RUN_ID

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
page = tb.page


@pytest.fixture(scope="module")
def dashboard(engine):
    binary = require_compose()
    with live_dashboard(engine.lab_url, DASHBOARD_COMPOSE_BIN=binary) as live:
        yield live


def test_a_person_writes_a_project_brings_it_up_and_down_from_the_editor(page, dashboard, engine):
    name = f"dtb-{RUN_ID}-{secrets.token_hex(2)}"
    compose = labelled_compose(engine.lab_image_name, {"web": '["httpd", "-f", "-p", "8080"]'})
    try:
        page.goto(f"{dashboard.url}/hosts/local/projects/")
        page.locator("#project-new").click()
        page.fill("#id_name", name)
        # A first try with a key compose does not know, on line 4.
        lines = compose.splitlines()
        lines.insert(3, "    colour: blue")
        page.fill("#id_compose", "\n".join(lines) + "\n")
        page.locator("#project-save").click()
        problem = page.locator('#compose-problems li[data-line="4"]')
        problem.wait_for(timeout=20000)
        assert "colour" in problem.inner_text()
        tb.shot(page, "project-editor-error")

        page.fill("#id_compose", compose)
        page.locator("#project-save").click()
        page.wait_for_url(f"**/hosts/local/projects/{name}/edit/", timeout=20000)
        page.locator("#project-preview .plan-create", has_text=f"{name}-web-1").wait_for(
            timeout=20000
        )
        tb.shot(page, "project-editor-preview")

        page.locator("#run-up").click()
        panel = page.locator(".run-panel").first
        panel.locator(".run-lines .line", has_text="Started").first.wait_for(timeout=60000)
        panel.locator('.run-status[data-state="done"]').wait_for(timeout=60000)
        assert "exit status 0" in panel.locator(".run-status").inner_text()
        tb.shot(page, "project-editor-up")

        page.goto(f"{dashboard.url}/hosts/local/projects/{name}/")
        page.locator(f"#project-{name}-rollup", has_text="1/1 running").wait_for(timeout=20000)
        page.locator("#project-edit").click()
        page.wait_for_url(f"**/hosts/local/projects/{name}/edit/")
        page.locator("#project-preview .plan-none").wait_for(timeout=20000)

        page.locator("#run-down").click()
        page.locator('.run-panel .run-status[data-state="done"]').first.wait_for(timeout=60000)
        assert (
            engine.containers.list(
                all=True, filters={"label": [f"com.docker.compose.project={name}"]}
            )
            == []
        )
        tb.shot(page, "project-editor-down")
    finally:
        down_by_name(require_compose(), engine.lab_url, name)
