"""Logs across containers in a real browser: a merged view narrowed by clicking a tag, a
container started later joining it and one that stops saying so; a search's hits grouped
by container, one opening the log at its moment."""

from __future__ import annotations

import secrets

import pytest

from . import test_browser as tb
from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
dashboard = tb.dashboard
page = tb.page


def test_a_merged_view_narrows_by_tag_and_follows_containers_that_come_and_go(
    page, dashboard, engine, make_container
):
    key = f"{TEST_LABEL}.merged"
    value = f"{RUN_ID}-{secrets.token_hex(3)}"
    loop = "while true; do echo {0}-line; sleep 0.3; done"
    a = make_container(["sh", "-c", loop.format("alpha")], Labels={key: value})
    make_container(["sh", "-c", loop.format("beta")], Labels={key: value})
    page.goto(f"{dashboard.url}/hosts/local/logs/?label={key}={value}")
    view = page.locator("#log-view")
    view.locator(".l", has_text="alpha-line").first.wait_for(timeout=10000)
    view.locator(".l", has_text="beta-line").first.wait_for(timeout=10000)
    # A click on alpha's tag: only alpha's lines, those already there and those to come.
    view.locator(".l", has_text="alpha-line").first.locator(".src").click()
    page.locator("#log-unnarrow").wait_for(state="visible")
    # A beta line that arrives after the click is narrowed away too.
    seen = view.locator(".l", has_text="beta-line").count()
    page.wait_for_function(
        "n => [...document.querySelectorAll('#log-view .l')]"
        ".filter(l => l.textContent.includes('beta-line')).length > n",
        arg=seen,
        timeout=10000,
    )
    assert not view.locator(".l:visible", has_text="beta-line").count()
    assert view.locator(".l:visible", has_text="alpha-line").count()
    page.locator("#log-unnarrow").click()
    assert view.locator(".l:visible", has_text="beta-line").count()
    # One started now joins; one stopped says so.
    make_container(["sh", "-c", "echo gamma-joined; sleep 300"], Labels={key: value})
    view.locator(".l", has_text="gamma-joined").wait_for(timeout=15000)
    engine.containers.stop(a["Id"], timeout=0)
    view.locator(".l.n", has_text="stopped").wait_for(timeout=15000)
    tb.shot(page, "merged-logs")
    assert not page.js_errors


def test_a_search_shows_hits_by_container_and_a_hit_opens_the_log_there(
    page, dashboard, engine, make_container
):
    c = make_container(["sh", "-c", "seq 1 50; echo findme-here; seq 51 99; sleep 300"])
    other = make_container(["sh", "-c", "echo nothing to see; sleep 300"])
    page.goto(f"{dashboard.url}/hosts/local/logs/search/?ids={c['Id']},{other['Id']}")
    page.fill("input[name=q]", "FINDME")
    page.locator("#search-form button[type=submit]").click()
    page.locator("#search-state[data-state=done]").wait_for(timeout=15000)
    assert page.locator("#search-total").inner_text() == "1"
    hit = page.locator(".search-hit", has_text="findme-here")
    assert hit.count() == 1
    tb.shot(page, "log-search")
    hit.locator("a.at").click()
    page.locator("#log-at-hit", has_text="findme-here").wait_for(timeout=10000)
    assert page.locator("#log-at .l", has_text="50").count() >= 1
    assert not page.js_errors


def test_the_ticked_containers_open_in_one_merged_view(page, dashboard, make_container):
    a = make_container(["sh", "-c", "echo ticked-one; sleep 300"])
    b = make_container(["sh", "-c", "echo ticked-two; sleep 300"])
    make_container(["sh", "-c", "echo not-ticked; sleep 300"])
    page.goto(f"{dashboard.url}/hosts/local/containers/?q={RUN_ID}")
    for c in (a, b):
        page.locator(f"#container-{c['Id'][:12]} input[name=ids]").check()
    page.locator("#bulk-logs").click()
    page.wait_for_url("**/hosts/local/logs/?ids=*")
    view = page.locator("#log-view")
    view.locator(".l", has_text="ticked-one").wait_for(timeout=10000)
    view.locator(".l", has_text="ticked-two").wait_for(timeout=10000)
    assert not view.locator(".l", has_text="not-ticked").count()
    assert not page.js_errors


def test_the_errors_column_is_toggled_and_kept_through_a_live_row_update(
    page, dashboard, engine, make_container
):
    c = make_container(
        ["sh", "-c", "echo 'ERROR: a'; echo ok; echo 'fatal: b'; echo 'panic c'; sleep 300"]
    )
    short = c["Id"][:12]
    page.goto(f"{dashboard.url}/hosts/local/containers/?q={c['Name'].lstrip('/')}")
    assert not page.locator(f"#errors-{short}").count()
    page.locator("#filter-errors-column").check()
    page.locator(f"#errors-{short}[data-count='3']").wait_for(timeout=20000)
    assert "errors=on" in page.url
    engine.containers.pause(c["Id"])
    page.locator(f"#container-{short}.state-paused").wait_for(timeout=15000)
    assert page.locator(f"#errors-{short}").get_attribute("data-count") == "3"
    engine.containers.unpause(c["Id"])
    assert not page.js_errors


def test_a_burst_of_lines_arrives_whole_in_order_and_the_page_keeps_only_the_last(
    page, dashboard, engine, make_container
):
    # Messages are applied together once per frame: nothing may be lost or reordered on the
    # way, and trimming to data-max-lines leaves no node of a dropped line in the view.
    c = make_container(
        [
            "sh",
            "-c",
            "echo ready; while [ ! -f /tmp/go ]; do sleep 0.1; done; seq 1 6000; sleep 300",
        ]
    )
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/logs/")
    page.locator("#log-view .l", has_text="ready").wait_for(timeout=10000)
    page.locator("#log-state.live").wait_for(timeout=10000)
    tb.exec_in(engine, c["Id"], ["touch", "/tmp/go"])
    page.wait_for_function(
        "() => { const v = document.getElementById('log-view');"
        " return v.getAttribute('data-received') === '6001'"
        " && (v.lastElementChild || {}).textContent.endsWith('6000'); }",
        timeout=30000,
    )
    view = page.evaluate(
        "() => { const v = document.getElementById('log-view');"
        " const nums = Array.from(v.children, n => n.lastChild.textContent);"
        " return {nodes: v.childNodes.length, max: v.getAttribute('data-max-lines'), nums}; }"
    )
    assert view["nodes"] == int(view["max"]) == 5000
    assert view["nums"] == [str(n) for n in range(1001, 6001)]
    assert not page.js_errors
