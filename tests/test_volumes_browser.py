"""Volumes and networks in a real browser: removing a volume asks for its name first."""

from __future__ import annotations

import re

import pytest

from engine_client import NotFound

from . import test_browser as tb

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
dashboard = tb.dashboard
page = tb.page


def test_removing_a_volume_needs_its_name_and_refuses_while_in_use(
    page, dashboard, engine, make_volume, make_container
):
    v = make_volume(labels={"purpose": "browser test"})
    name = v["Name"]
    c = make_container(start=False, HostConfig={"Binds": [f"{name}:/data"]})
    page.goto(f"{dashboard.url}/hosts/local/volumes/")
    page.locator(f'tr[data-name="{name}"]').wait_for(timeout=10000)
    tb.shot(page, "volumes")
    page.get_by_role("link", name=name).click()
    page.get_by_role("link", name="Remove…").click()
    assert page.locator("h1").inner_text() == f"Remove volume {name}?"
    assert "In use by" in page.locator(".confirm").inner_text()

    page.fill("#id_confirm", "not-the-name")
    page.get_by_role("button", name=f"Remove volume {name}").click()
    page.locator("#volume-remove .field-error", has_text=f"Type {name} exactly").wait_for()
    tb.shot(page, "volume-remove-confirm")

    # The right name, but a container still uses it: the engine's refusal, beside the form.
    page.fill("#id_confirm", name)
    page.get_by_role("button", name=f"Remove volume {name}").click()
    # Docker: "volume is in use"; Podman: "volume is being used".
    in_use = re.compile("volume is (in use|being used)")
    page.locator("#volume-remove-msg .engine-error", has_text=in_use).wait_for()
    assert engine.volumes.inspect(name)

    engine.containers.remove(c["Id"], force=True)
    page.get_by_role("button", name=f"Remove volume {name}").click()
    page.wait_for_url("**/hosts/local/volumes/")
    assert page.locator(".flash", has_text=f"Removed volume {name}").is_visible()
    with pytest.raises(NotFound):
        engine.volumes.inspect(name)


def test_a_network_page_connects_a_container(page, dashboard, engine, make_network, make_container):
    net = make_network(subnet="10.251.7.0/24", gateway="10.251.7.1")
    c = make_container()
    page.goto(f"{dashboard.url}/hosts/local/networks/{net['Id']}/")
    page.select_option("#id_container", c["Id"])
    page.fill("#id_aliases", "web")
    page.get_by_role("button", name="Connect").click()
    row = page.locator(f"#attached-{c['Id'][:12]}")
    row.wait_for(timeout=10000)
    assert row.inner_text().count("10.251.7.") == 1
    assert "web" in row.inner_text()
    tb.shot(page, "network-detail")
