"""Images in a real browser: a pull with its progress bars, the new image in the list."""

from __future__ import annotations

import contextlib

import pytest

from engine_client import NotFound

from . import test_browser as tb

pytestmark = [pytest.mark.engine, pytest.mark.browser]

# The browser, the dashboard process and the logged-in page of the containers' browser tests.
browser = tb.browser
dashboard = tb.dashboard
page = tb.page


def test_a_pull_shows_progress_bars_and_the_image_appears_in_the_list(
    page, dashboard, engine, registry_image, image_tags
):
    image_tags(registry_image)
    with contextlib.suppress(NotFound):
        engine.images.remove(registry_image, force=True)
    page.goto(f"{dashboard.url}/hosts/local/images/")
    page.locator("#live-status.live").wait_for(timeout=10000)
    page.evaluate("window.__noReload = true")

    # A malformed reference is refused beside the field, before anything runs.
    page.fill("#id_reference", "UPPER/Case")
    page.get_by_role("button", name="Pull").click()
    page.locator("#pull-errors", has_text="lowercase").wait_for(timeout=5000)
    assert page.locator(".progress-panel").count() == 0

    page.fill("#id_reference", registry_image)
    page.get_by_role("button", name="Pull").click()
    panel = page.locator(".progress-panel")
    panel.locator("progress.overall").wait_for(timeout=10000)
    assert panel.locator("progress.overall").is_visible()
    page.locator('.progress-panel[data-state="done"]').wait_for(timeout=30000)
    assert panel.locator("tr.layer progress").count() >= 2
    assert panel.locator("progress.overall").get_attribute("value") == "100"
    tb.shot(page, "image-pull")
    # The list follows the engine's events: the pulled image shows up without a reload.
    page.locator("#images-rows", has_text=registry_image).wait_for(timeout=15000)
    assert page.evaluate("window.__noReload") is True
    tb.shot(page, "images")


def test_the_image_detail_page_renders_with_its_actions(page, dashboard, engine):
    image = engine.images.inspect("lab/busybox:latest")
    page.goto(f"{dashboard.url}/hosts/local/images/{image['Id'].split(':')[1]}/")
    assert page.locator("h1").inner_text().endswith("lab/busybox:latest")
    assert page.locator("#image-remove").is_visible()
    assert page.locator("#image-tag").is_visible()
    tb.shot(page, "image-detail")


def test_the_disk_usage_page_and_a_prune_preview_render(page, dashboard):
    page.goto(f"{dashboard.url}/hosts/local/system/")
    assert page.locator("table.summary").is_visible()
    tb.shot(page, "disk-usage")
    page.get_by_role("link", name="Dangling images…").click()
    page.locator("#prune-preview").wait_for(timeout=10000)
    tb.shot(page, "prune-preview")
