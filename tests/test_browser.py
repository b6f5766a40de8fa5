"""The pages in a real browser (headless Chromium) against a real dashboard and engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, live_dashboard
from .conftest import LAB_DOCKER_HOST, REQUIRE_ENGINE

pytestmark = [pytest.mark.engine, pytest.mark.browser]

SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or "/tmp/dashboard-screenshots")


@pytest.fixture(scope="module")
def dashboard(engine):
    with live_dashboard(LAB_DOCKER_HOST) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        reason = "chromium is not installed (lab/engine-lab deps installs it)"
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, dashboard):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))

    def on_console(msg):
        # htmx requests answered 409/503 on purpose are logged as failed loads: those are
        # checked below by resource type instead.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def on_response(resp):
        if resp.status >= 400 and resp.request.resource_type not in ("xhr", "fetch"):
            errors.append(f"{resp.status} {resp.url}")

    pg.on("console", on_console)
    pg.on("response", on_response)
    pg.goto(dashboard.url + "/")
    pg.fill("input[name=username]", dashboard.username)
    pg.fill("input[name=password]", dashboard.password)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/hosts/local/containers/")
    pg.js_errors = errors
    yield pg
    context.close()
    # No script error and no CSP violation on any page a test visited.
    assert not errors, errors


def shot(pg, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_person_stops_a_container_and_its_row_changes_without_a_reload(page, make_container):
    c = make_container()
    page.reload()
    row = page.locator(f"#container-{c['Id'][:12]}")
    assert row.locator(".badge").first.inner_text() == "running"
    # A marker on the window survives only if the page is not reloaded.
    page.evaluate("window.__noReload = true")
    shot(page, "containers")
    row.get_by_role("button", name="Stop").click()
    row.locator(".badge.exited").wait_for(timeout=20000)
    assert page.evaluate("window.__noReload") is True
    assert row.get_by_role("button", name="Start").is_visible()


def test_a_refused_remove_shows_the_engines_message_beside_the_row(page, make_container):
    c = make_container()
    page.reload()
    row = page.locator(f"#container-{c['Id'][:12]}")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Remove").click()
    msg = page.locator(f"#container-{c['Id'][:12]}-msg .engine-error")
    msg.wait_for(timeout=10000)
    assert "running container" in msg.inner_text()
    assert row.locator(".badge").first.inner_text() == "running"
    shot(page, "conflict")


def test_the_filter_narrows_the_list_as_you_type(page, make_container):
    a = make_container(start=False)
    b = make_container(start=False)
    page.reload()
    page.fill("#filter-q", a["Name"].lstrip("/"))
    page.locator(f"#container-{b['Id'][:12]}").wait_for(state="detached", timeout=5000)
    assert page.locator(f"#container-{a['Id'][:12]}").is_visible()
    assert "q=" in page.url


def test_the_detail_page_renders(page, dashboard, make_container):
    c = make_container(Env=["API_TOKEN=abc123"])
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/")
    assert page.locator("h1").inner_text().startswith(c["Name"].lstrip("/"))
    assert "abc123" not in page.content()
    shot(page, "detail")


def test_the_logs_page_shows_a_line_printed_after_it_loaded(
    page, dashboard, engine, make_container
):
    c = make_container(
        [
            "sh",
            "-c",
            "echo before; while [ ! -f /tmp/go ]; do sleep 0.1; done; "
            "echo after-the-page-loaded; echo 'ERR \x1b[31mred\x1b[0m' >&2; sleep 300",
        ]
    )
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/logs/")
    page.locator("#log-view .l", has_text="before").wait_for(timeout=10000)
    page.locator("#log-state.live").wait_for(timeout=10000)
    exec_in(engine, c["Id"], ["touch", "/tmp/go"])
    page.locator("#log-view .l", has_text="after-the-page-loaded").wait_for(timeout=10000)
    err = page.locator("#log-view .l.e", has_text="ERR")
    err.wait_for(timeout=10000)
    assert err.locator("span.f1").inner_text() == "red"
    # The filter applies to what is there and to what comes.
    page.fill("#log-filter", "after")
    assert not page.locator("#log-view .l", has_text="before").is_visible()
    assert page.locator("#log-view .l", has_text="after-the-page-loaded").is_visible()
    shot(page, "logs")


def test_a_row_follows_a_container_stopped_outside_the_dashboard(page, engine, make_container):
    c = make_container()
    page.reload()
    row = page.locator(f"#container-{c['Id'][:12]}")
    row.locator(".badge.running").wait_for(timeout=5000)
    page.locator("#live-status.live").wait_for(timeout=10000)
    page.evaluate("window.__noReload = true")
    engine.containers.stop(c["Id"], timeout=1)
    row.locator(".badge.exited").wait_for(timeout=15000)
    created = make_container(start=False)
    page.locator(f"#container-{created['Id'][:12]}").wait_for(timeout=15000)
    engine.containers.remove(created["Id"], force=True)
    page.locator(f"#container-{created['Id'][:12]}").wait_for(state="detached", timeout=15000)
    assert page.evaluate("window.__noReload") is True


def test_the_detail_page_draws_live_stats(page, dashboard, make_container):
    c = make_container(["sh", "-c", "while true; do :; done"])
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/")
    page.locator("#stats-panel polyline.c1").wait_for(timeout=15000)
    page.wait_for_timeout(2500)
    assert "%" in page.locator("#stats-panel .chart h3 strong").first.inner_text()
    shot(page, "stats")


def exec_in(engine, container_id, cmd):
    """Run a command in the container (the test's way of making it print on cue)."""
    created = engine.post_json(
        "/containers/{}/exec", container_id, json={"Cmd": cmd, "AttachStdout": False}
    )
    engine.request("POST", "/exec/{}/start", created["Id"], json={"Detach": True, "Tty": False})
