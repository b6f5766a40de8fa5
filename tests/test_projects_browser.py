"""A compose project in a real browser: the project page, stopped from its button, shows the
new roll-up without a reload (the roll-up comes through the page's websocket)."""

from __future__ import annotations

import pytest

from . import test_browser as tb
from .support.compose import compose_project

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
dashboard = tb.dashboard
page = tb.page


def test_a_person_stops_a_project_and_its_roll_up_changes_without_a_reload(
    page, dashboard, engine, tmp_path
):
    with compose_project(tmp_path, engine.lab_url, engine.lab_image_name) as project:
        page.goto(f"{dashboard.url}/hosts/local/projects/")
        page.locator(f"#project-{project.name}").wait_for(timeout=10000)
        page.get_by_role("link", name=project.name).click()
        rollup = page.locator(f"#project-{project.name}-rollup")
        rollup.filter(has_text="3/3 running").wait_for(timeout=15000)
        page.locator("#live-status.live").wait_for(timeout=10000)
        tb.shot(page, "project-running")
        # A marker the page keeps only as long as it is not reloaded.
        page.evaluate("window.notReloaded = true")
        page.locator("#project-stop").click()
        rollup.filter(has_text="0/3 running").wait_for(timeout=20000)
        page.locator(f"#project-{project.name}-msg", has_text="stop").wait_for()
        assert page.evaluate("window.notReloaded") is True
        tb.shot(page, "project-stopped")

        page.locator("#project-start").click()
        rollup.filter(has_text="3/3 running").wait_for(timeout=20000)
        page.goto(f"{dashboard.url}/hosts/local/projects/")
        page.locator(f"#project-{project.name}", has_text="3/3 running").wait_for()
        tb.shot(page, "projects")
        # The merged log: a line a service prints arrives tagged with that service.
        page.goto(f"{dashboard.url}/hosts/local/projects/{project.name}/logs/")
        page.locator("#log-state", has_text="following").wait_for(timeout=10000)
        db = engine.projects.get(project.name).services["db"].containers[0]["Id"]
        engine.exec.run(db, ["sh", "-c", "echo hello from db > /proc/1/fd/1"])
        line = page.locator("#log-view .l", has_text="hello from db")
        line.wait_for(timeout=15000)
        assert line.locator(".svc").inner_text() == "db"
        tb.shot(page, "project-logs")

        # The containers list, grouped: ticking the box puts the project's heading over its
        # three containers, and the URL keeps the choice.
        page.goto(f"{dashboard.url}/hosts/local/containers/?q={project.name}")
        page.locator("#filter-group").check()
        head = page.locator("tr.group-head", has_text=project.name)
        head.wait_for(timeout=10000)
        assert "3 containers" in head.inner_text()
        assert "group=project" in page.url
        tb.shot(page, "containers-grouped")
