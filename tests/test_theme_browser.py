"""Dark mode and narrow screens in a real browser: the theme follows the system until the
toggle is used, the toggle's choice is remembered and applied before the first paint; on a
phone-sized window the navigation is a menu operable by keyboard and the long lists are cards
that do not make the page scroll sideways."""

from __future__ import annotations

import pytest

from . import test_browser as tb
from .support.a11y import BLOCKING_IMPACTS, PHONE, THEMES, run_axe, set_theme, sideways

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
dashboard = tb.dashboard
page = tb.page

# Records the theme at the moment <body> is inserted: had the theme been set later (a deferred
# script, DOMContentLoaded), this would say so, whatever the final state.
THEME_AT_BODY = """
new MutationObserver(function (records, observer) {
  if (document.body) {
    window.__themeAtBody = document.documentElement.getAttribute("data-theme");
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def wait_theme(pg, name: str) -> None:
    # A locator, not wait_for_function: a polled string expression is eval'd in the page,
    # which the dashboard's CSP refuses.
    pg.locator(f"html[data-theme={name}]").wait_for(state="attached", timeout=5000)


def theme(pg) -> str:
    return pg.evaluate("document.documentElement.getAttribute('data-theme')")


def body_background(pg) -> str:
    return pg.evaluate("getComputedStyle(document.body).backgroundColor")


def test_the_theme_follows_the_system_until_the_toggle_chooses_and_remembers(page, dashboard):
    page.add_init_script(THEME_AT_BODY)
    toggle = page.locator("#theme-toggle")
    page.emulate_media(color_scheme="dark")
    wait_theme(page, "dark")
    assert toggle.get_attribute("aria-pressed") == "true"
    dark_bg = body_background(page)
    page.emulate_media(color_scheme="light")
    wait_theme(page, "light")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert body_background(page) != dark_bg

    # Chosen with the keyboard, against the system's light preference.
    toggle.focus()
    page.keyboard.press("Enter")
    wait_theme(page, "dark")
    assert body_background(page) == dark_bg
    # Remembered: a reload (and another page of the same browser) opens dark, dark already
    # when the body is parsed (no light flash first), though the system still says light.
    page.reload()
    assert page.evaluate("window.__themeAtBody") == "dark"
    assert theme(page) == "dark"
    assert page.locator("#theme-toggle").get_attribute("aria-pressed") == "true"
    other = page.context.new_page()
    other.goto(f"{dashboard.url}/hosts/local/images/")
    assert other.evaluate("document.documentElement.getAttribute('data-theme')") == "dark"
    # The system changing its mind no longer overrides the choice...
    page.emulate_media(color_scheme="dark")
    page.emulate_media(color_scheme="light")
    assert theme(page) == "dark"
    # ...and choosing light again is remembered too, in the other open tab as well.
    page.locator("#theme-toggle").click()
    assert theme(page) == "light"
    wait_theme(other, "light")
    page.reload()
    assert page.evaluate("window.__themeAtBody") == "light"
    other.close()


def test_on_a_phone_the_navigation_is_a_menu_and_the_list_is_cards(page, dashboard, make_container):
    c = make_container()
    short = c["Id"][:12]
    page.set_viewport_size(PHONE)
    page.goto(f"{dashboard.url}/hosts/local/containers/?q={c['Name'].lstrip('/')}")
    menu = page.get_by_role("button", name="Menu")
    images = page.locator("#site-nav").get_by_role("link", name="Images")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not images.is_visible()
    # Keyboard alone: tab to the button, open, Escape closes and gives the focus back.
    menu.focus()
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    assert images.is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    # The open menu (shown only on narrow windows, so the walk-through's full axe passes at
    # full width never see it) has nothing serious or critical in either theme.
    for name in THEMES:
        set_theme(page, name)
        blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, [(v["id"], v["nodes"][0]["target"]) for v in blocking]
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not images.is_visible()
    assert page.evaluate("document.activeElement.id") == "nav-toggle"

    # The row is a card as wide as the screen at most: name, state, actions, no sideways scroll.
    row = page.locator(f"#container-{short}")
    row.locator(".badge.running").wait_for(timeout=15000)
    box = row.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]
    assert row.get_by_role("button", name="Stop").is_visible()
    assert row.get_by_role("link", name=c["Name"].lstrip("/")).is_visible()
    assert (
        page.evaluate("getComputedStyle(document.querySelector('table.containers thead')).position")
        == "absolute"
    )
    assert sideways(page) is None, sideways(page)
    tb.shot(page, "phone-containers")

    # The log view uses the screen's whole width.
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/logs/")
    log_box = page.locator("#log-view").bounding_box()
    assert log_box is not None and log_box["x"] <= 1 and log_box["width"] >= PHONE["width"] - 20
    assert sideways(page) is None, sideways(page)

    # Without script the menu could not open: the navigation stays shown, with no button.
    no_js = page.context.browser.new_context(
        viewport=PHONE, java_script_enabled=False, storage_state=page.context.storage_state()
    )
    try:
        bare = no_js.new_page()
        bare.goto(f"{dashboard.url}/hosts/local/containers/")
        assert bare.locator("#site-nav").get_by_role("link", name="Images").is_visible()
        assert not bare.locator("#nav-toggle").is_visible()
        assert not bare.locator("#theme-toggle").is_visible()
    finally:
        no_js.close()

    # Back at a wide window the menu button is gone and the navigation shows.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.locator("#site-nav").get_by_role("link", name="Images").is_visible()
