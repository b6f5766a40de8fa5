"""The pages in a real browser (headless Chromium) against a real dashboard and engine."""

from __future__ import annotations

import re

import pytest

from .support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, live_dashboard, watch_console
from .support.compose import compose_binary
from .support.lab import REQUIRE_ENGINE, RUN_ID

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture(scope="module")
def dashboard(engine):
    # The lab's compose v2 for the project editor ("" when there is none: PATH is searched).
    with live_dashboard(
        engine.lab_url, DASHBOARD_LIST_STATS_INTERVAL="1", DASHBOARD_COMPOSE_BIN=compose_binary()
    ) as live:
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
    errors = watch_console(pg)

    def on_response(resp):
        # A form posted back with its errors beside the fields answers 400 on purpose.
        form_error = resp.status == 400 and resp.request.method == "POST"
        document = resp.request.resource_type not in ("xhr", "fetch")
        if resp.status >= 400 and document and not form_error:
            errors.append(f"{resp.status} {resp.url}")

    pg.on("response", on_response)
    pg.goto(dashboard.url + "/")
    pg.fill("input[name=username]", dashboard.username)
    pg.fill("input[name=password]", dashboard.password)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/hosts/local/containers/")
    pg.js_errors = errors
    yield pg
    context.close()
    # No script error, console error or CSP violation on any page a test visited (the few
    # allowed ones: ALLOWED_CONSOLE_ERRORS in tests/support/browser.py).
    assert not errors, errors


def shot(pg, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_person_stops_a_container_and_its_row_changes_without_a_reload(page, make_container):
    c = make_container()
    page.reload()
    row = page.locator(f"#container-{c['Id'][:12]}")
    # The list comes from the events-fed cache, which may not have applied the start yet
    # when the page is read: the page's socket brings the row up to date.
    row.locator(".badge.running").wait_for(timeout=10000)
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
    # Docker 20.10: "cannot remove a running container"; Docker 26: "... container is
    # running: stop the container before removing"; Podman: "... as it is running".
    assert re.search("running container|container is running|as it is running", msg.inner_text())
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


def test_the_detail_page_keeps_its_policy_while_the_stats_stream(page, dashboard, make_container):
    """The live stats part swaps its charts in every second: none of it may apply an inline
    style (the CSP says style-src 'self'), nor log any other console error."""
    c = make_container(
        ["sh", "-c", "while :; do head -c 100000 /dev/urandom | md5sum; sleep 0.2; done"]
    )
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/")
    page.locator("#stats-panel polyline.c1:not([points=''])").wait_for(timeout=20000)
    # Several samples more, as a person would leave the page open.
    first = page.locator("#stats-panel polyline.c1").get_attribute("points")
    page.wait_for_function(
        "p => document.querySelector('#stats-panel polyline.c1').getAttribute('points') !== p",
        arg=first,
        timeout=10000,
    )
    page.wait_for_timeout(4000)
    assert page.js_errors == []


def test_a_csp_violation_fails_a_browser_test(page, dashboard):
    """The console watch itself: an inline style applied by a script is caught."""
    page.goto(f"{dashboard.url}/hosts/local/containers/")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("() => true")
    page.wait_for_timeout(300)
    caught = list(page.js_errors)
    page.js_errors.clear()  # the fixture's own check would fail the test otherwise
    assert any("Content Security Policy" in e for e in caught), caught
    assert any(e.startswith("console error: CSP violation: style-src-attr") for e in caught), caught


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
    # Its CPU and memory cells fill in from the sampler (the first CPU figure needs two).
    page.locator(f"#cpu-{c['Id'][:12]}", has_text="%").wait_for(timeout=15000)
    assert page.locator(f"#mem-{c['Id'][:12]}").inner_text().endswith("iB")
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


# -- containers: terminal, run once, bulk (issue 4) ------------------------------------------


def test_a_person_types_a_command_in_the_terminal_and_reads_the_answer(
    page, dashboard, make_container
):
    c = make_container()
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/exec/")
    page.locator("#term-state.live").wait_for(timeout=15000)
    page.locator("#terminal .xterm-rows", has_text="/ #").wait_for(timeout=10000)
    page.locator("#terminal").click()
    page.keyboard.type("echo $((6 * 7))")
    page.keyboard.press("Enter")
    page.locator("#terminal .xterm-rows", has_text="42").wait_for(timeout=10000)
    shot(page, "terminal")
    page.keyboard.type("exit 0")
    page.keyboard.press("Enter")
    page.locator("#term-state", has_text="exit code 0").wait_for(timeout=10000)


def test_run_once_from_the_form_streams_the_output_and_the_exit_code(
    page, dashboard, engine, ui_label
):
    from .support.lab import LAB_IMAGE, made_with

    page.goto(f"{dashboard.url}/hosts/local/containers/new/")
    page.fill("#id_image", LAB_IMAGE)
    page.fill("#id_command", "sh -c 'echo first; sleep 1; echo second >&2; exit 4'")
    page.fill("#id_labels", ui_label)
    page.get_by_role("button", name="Run once").click()
    page.wait_for_url("**/run/")
    page.locator("#run-output .l", has_text="first").wait_for(timeout=15000)
    page.locator("#run-output .l.e", has_text="second").wait_for(timeout=15000)
    page.locator("#run-code", has_text="4").wait_for(timeout=15000)
    page.locator("#run-removed", has_text="removed").wait_for(timeout=15000)
    shot(page, "run-once")
    assert made_with(engine, ui_label) == []


def test_a_form_error_shows_beside_its_field(page, dashboard, engine, ui_label):
    from .support.lab import made_with

    page.goto(f"{dashboard.url}/hosts/local/containers/new/")
    page.fill("#id_image", "lab/busybox:latest")
    page.fill("#id_env", "GOOD=1\nBROKEN")
    page.fill("#id_labels", ui_label)
    page.get_by_role("button", name="Add a port").click()
    page.locator("#id_ports-2-container_port").fill("70000")
    page.get_by_role("button", name="Create", exact=True).click()
    page.locator("#env-error").wait_for(timeout=10000)
    assert "no “=”" in page.locator("#env-error").inner_text()
    row_error = page.locator("#ports-section .field-error", has_text="65535")
    assert row_error.is_visible()
    shot(page, "form-errors")
    assert made_with(engine, ui_label) == []


def test_bulk_stop_from_the_list_reports_each_container(page, make_container):
    a, b = make_container(), make_container()
    page.reload()
    for c in (a, b):
        page.locator(f"#container-{c['Id'][:12]} input[name=ids]").check()
    assert page.locator("#bulk-count").inner_text() == "2 selected"
    page.select_option("#bulk-action", "stop")
    page.once("dialog", lambda d: d.accept())
    page.locator("#bulk-form button[type=submit]").click()
    page.locator("#bulk-outcomes", has_text="2 of 2 done").wait_for(timeout=20000)
    for c in (a, b):
        page.locator(f"#container-{c['Id'][:12]} .badge.exited").wait_for(timeout=15000)
    shot(page, "bulk")


MARKUP = '<img src=x onerror="window.__owned=1"><script>window.__owned=2</script><b>bold</b>'


def test_markup_in_labels_env_and_log_lines_renders_as_text(page, dashboard, make_container):
    # Docker refuses container names with markup; labels, env values and output carry it.
    c = make_container(
        ["sh", "-c", f"echo '{MARKUP}'; echo '\x1b[31m<i>red</i>\x1b[0m'; sleep 300"],
        Labels={"note": MARKUP},
        Env=[f"HTML={MARKUP}"],
    )
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/")
    page.get_by_text(MARKUP).first.wait_for()
    page.goto(f"{dashboard.url}/hosts/local/containers/{c['Id']}/logs/")
    log = page.locator("#log-view, .log-view").first
    log.get_by_text(MARKUP).first.wait_for()
    log.get_by_text("<i>red</i>").first.wait_for()
    assert log.locator("img, script, b, i").count() == 0
    assert page.evaluate("window.__owned === undefined")
    shot(page, "escaped-markup-logs")


# The keyboard (issue 21 part 3): the Ctrl/Cmd-K palette, "/" and "?", the focus ring.


def focused_id(pg) -> str:
    return pg.evaluate("document.activeElement && document.activeElement.id")


def test_a_container_page_opens_from_the_keyboard_alone(page, make_container):
    stem = f"dt-{RUN_ID}-kbd"
    first = make_container(start=False, name=f"{stem}-a")
    second = make_container(start=False, name=f"{stem}-b")
    palette = page.locator("#palette")

    page.keyboard.press("Control+k")
    palette.wait_for(state="visible")
    assert focused_id(page) == "palette-q"
    page.keyboard.type(stem)
    options = page.locator("#palette-listbox [role=option][data-kind=container]")
    options.nth(1).wait_for()
    assert options.all_inner_texts()[0].startswith(f"{stem}-a")
    # The first result is the active one; the combobox points at it for screen readers.
    chosen = page.locator("#palette [role=option][aria-selected=true]")
    assert chosen.inner_text().startswith(f"{stem}-a")
    active = page.get_attribute("#palette-q", "aria-activedescendant")
    assert active == chosen.get_attribute("id")
    page.keyboard.press("ArrowDown")
    assert chosen.inner_text().startswith(f"{stem}-b")
    shot(page, "palette")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/hosts/local/containers/{second['Id']}/")
    assert f"{stem}-b" in page.locator("h1").inner_text()
    assert first["Id"] not in page.url

    # Escape closes it, and the focus goes back where it was.
    page.keyboard.press("Control+k")
    palette.wait_for(state="visible")
    page.keyboard.press("Escape")
    palette.wait_for(state="hidden")
    assert focused_id(page) != "palette-q"
    # The top bar's Search button opens it too (a pointer, a phone without Ctrl-K).
    page.click("#palette-open")
    palette.wait_for(state="visible")
    assert focused_id(page) == "palette-q"
    page.keyboard.press("Escape")
    palette.wait_for(state="hidden")


def test_slash_focuses_the_filter_and_question_mark_lists_the_shortcuts(page):
    page.keyboard.press("/")
    assert focused_id(page) == "filter-q"
    # Typing in a field: no shortcut fires, the keys are the field's.
    # (The filter asks for its rows as it is typed in: wait for that answer.)
    with page.expect_response(lambda r: "q=a%3Fb" in r.url):
        page.keyboard.type("a?b")
    assert page.input_value("#filter-q") == "a?b"
    page.keyboard.press("Control+k")
    assert not page.locator("#palette").is_visible()
    assert not page.locator("#shortcuts").is_visible()

    # Out of the field, "?" lists them; Escape closes the list.
    page.keyboard.press("Tab")
    page.keyboard.press("?")
    shortcuts = page.locator("#shortcuts")
    shortcuts.wait_for(state="visible")
    assert "Ctrl" in shortcuts.inner_text()
    page.keyboard.press("Escape")
    shortcuts.wait_for(state="hidden")

    # Where the keyboard is shows (:focus-visible).
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline == ["solid", "2px"], outline
