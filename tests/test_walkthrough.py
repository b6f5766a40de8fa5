"""A newcomer's walk-through in a real browser: log in, look at every section, start and stop
a container, follow its log, watch its stats move, pull an image with progress, create and
remove a volume and a network. Screenshots of every step go to DASHBOARD_WALKTHROUGH_DIR
(default: the browser tests' screenshot folder, `walkthrough/`); `docs/walkthrough/` holds
the ones the README shows.

Every page a step shows is also checked by axe-core in the light and dark themes at
1400x900 and 390x844 (`tests/support/a11y.py`): no serious or critical violation, and no
sideways scrolling at phone width. The results are written under the test's tmp dir
(`axe/`, one JSON file per page, theme and size, and `summary.txt`), summarised in its output.

The same walk-through (`walk_through`, one definition) runs twice: against a dev server on
the first lab engine, and, as an image test, against the container image running on the
lab's Docker 26 (tests/support/image.py), so later features keep working there.

More steps are added to EXTRA_STEPS (the swarm's: scaling a service on the two-node lab
swarm; the project editor's: a compose project written, brought up and down): each is
`step(page, dashboard, shot)` and runs, in order, after the built-in ones. A step acts on
the engine the dashboard serves as `local`, `dashboard.docker_host` (the first lab engine
for the dev server, Docker 26 for the image), never on a lab engine named by hand.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_client import EngineError, NotFound

from . import test_browser as tb
from .support.a11y import WIDE, Audit
from .support.browser import browser_login, watch_console
from .support.lab import RUN_ID, TEST_LABEL, engine_or_reason

pytestmark = [pytest.mark.engine, pytest.mark.browser]

browser = tb.browser
dashboard = tb.dashboard

SHOTS = Path(os.environ.get("DASHBOARD_WALKTHROUGH_DIR") or tb.SCREENSHOTS / "walkthrough")
# The hook: (name, step(page, dashboard, shot)) pairs run after the built-in steps.
EXTRA_STEPS: list[tuple[str, Callable[[Any, Any, Callable[[str], None]], None]]] = []


def scale_a_service_on_the_lab_swarm(
    page: Any, dashboard: Any, shot: Callable[[str], None]
) -> None:
    """The two lab engines become a swarm for this step only (Docker 26, the image's engine,
    swarms alone); an admin scales a service from its page and sees the tasks run; the swarm
    is taken apart again after."""
    from .support.lab import LAB_DOCKER26_HOST
    from .support.swarm_lab import service_spec, single_node_swarm, two_node_swarm

    manager, reason = engine_or_reason(
        "docker26" if dashboard.docker_host == LAB_DOCKER26_HOST else "docker"
    )
    if manager is None:
        pytest.skip(reason)
    make = single_node_swarm if manager.lab_engine == "docker26" else two_node_swarm
    with make(manager) as lab:
        sid = manager.services.create(service_spec(f"dt-{RUN_ID}-walk-svc", 1))["ID"]
        lab.wait_running(sid, 1)
        page.goto(f"{dashboard.url}/hosts/local/swarm/")
        page.locator("#swarm-summary").wait_for()
        shot("swarm-overview")
        page.goto(f"{dashboard.url}/hosts/local/swarm/services/{sid}/")
        page.fill("#id_replicas", "3")
        page.get_by_role("button", name="Scale").click()
        page.locator('#service-replicas[data-running="3"][data-desired="3"]').wait_for(
            timeout=45000
        )
        shot("swarm-service-scaled")
        # Off the swarm's pages first: they re-read themselves while the swarm converges
        # and as it is taken apart (seen once on Docker 26: a re-read answered after the
        # swarm had gone failed htmx's retarget to #services-rows-msg).
        page.goto(f"{dashboard.url}/hosts/local/containers/")
        with contextlib.suppress(EngineError):
            manager.services.remove(sid)
    manager.close()


EXTRA_STEPS.append(("swarm", scale_a_service_on_the_lab_swarm))


def deploy_a_project_from_the_editor(
    page: Any, dashboard: Any, shot: Callable[[str], None]
) -> None:
    """A compose project written in the editor, previewed, brought up with compose's lines
    streaming in, seen on the Projects page, then brought down (the lab's compose v2)."""
    from .support.compose import down_by_name, labelled_compose, require_compose
    from .support.lab import LAB_IMAGE

    binary = require_compose()
    name = f"dtw-{RUN_ID}"
    services = {"web": '["httpd", "-f", "-p", "8080"]', "worker": '["sleep", "3000"]'}
    try:
        page.goto(f"{dashboard.url}/hosts/local/projects/_new/")
        page.fill("#id_name", name)
        page.fill("#id_compose", labelled_compose(LAB_IMAGE, services))
        page.fill("#id_env", "GREETING=hello\n")
        page.locator("#project-save").click()
        page.locator("#project-preview .plan-create").first.wait_for(timeout=20000)
        shot("project-editor")
        page.locator("#run-up").click()
        page.locator('.run-panel .run-status[data-state="done"]').wait_for(timeout=60000)
        shot("project-editor-up")
        page.goto(f"{dashboard.url}/hosts/local/projects/")
        page.locator(f"#project-{name}", has_text="2/2 running").wait_for(timeout=20000)
        shot("section-projects")
        page.goto(f"{dashboard.url}/hosts/local/projects/{name}/edit/")
        page.locator("#run-down").click()
        page.locator('.run-panel .run-status[data-state="done"]').wait_for(timeout=60000)
    finally:
        down_by_name(binary, dashboard.docker_host, name)


EXTRA_STEPS.append(("compose", deploy_a_project_from_the_editor))


# Pages also shot in the dark theme and at phone width (the README shows these).
THEMED_SHOTS = {"container-started", "container-logs", "container-stats"}


def walk_through(
    page: Any,
    dashboard: Any,
    engine: Any,
    make_container: Callable[..., dict[str, Any]],
    registry_image: str,
    image_tags: Callable[[str], str],
    shot: Callable[[str], None],
) -> None:
    """The walk-through's steps, in order, on `dashboard` (a Site with the `docker_host` it
    serves as `local`; `engine` is a client of that engine), from the login form on."""
    base = f"{dashboard.url}/hosts/local"
    name = f"dt-{RUN_ID}-walk"
    c = make_container(
        [
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo hello $i; head -c 200000 /dev/urandom"
            " | md5sum >/dev/null; sleep 0.3; done",
        ],
        start=False,
        name=name,
    )
    short = c["Id"][:12]
    # -- log in ----------------------------------------------------------------------------
    browser_login(page, dashboard, on_form=lambda: shot("login"))

    # -- every section ---------------------------------------------------------------
    for path, heading in [
        ("containers/", "Containers"),
        ("images/", "Images"),
        ("volumes/", "Volumes"),
        ("networks/", "Networks"),
        ("events/", "Events"),
        ("system/", "Disk"),
        ("", "Engine"),
    ]:
        page.goto(f"{base}/{path}")
        assert heading.lower() in page.locator("h1").first.inner_text().lower(), path
        if page.locator("#live-status").count():
            page.locator("#live-status", has_text="live").wait_for(timeout=15000)
        shot(f"section-{heading.lower()}")

    # -- start a container from its row -----------------------------------------------
    page.goto(f"{base}/containers/")
    page.fill("#filter-q", name)
    row = page.locator(f"#container-{short}")
    row.wait_for(timeout=15000)
    page.locator("#pager-range", has_text="1–1 of 1").wait_for(timeout=15000)
    row.get_by_role("button", name="Start").click()
    row.locator(".badge.running").wait_for(timeout=15000)
    shot("container-started")

    # -- follow its log ------------------------------------------------------------
    page.goto(f"{base}/containers/{c['Id']}/logs/")
    page.locator("#log-view .l", has_text="hello 3").wait_for(timeout=20000)
    shot("container-logs")

    # -- watch its stats move --------------------------------------------------------
    page.goto(f"{base}/containers/{c['Id']}/")
    cpu = page.locator("#stats-panel polyline.c1")
    cpu.wait_for(state="attached", timeout=20000)
    first = cpu.get_attribute("points") or ""
    page.locator("#stats-panel polyline.c1:not([points=''])").wait_for(
        state="attached", timeout=20000
    )
    for _ in range(40):
        now = cpu.get_attribute("points") or ""
        if now and now != first and now.count(",") >= 5:
            break
        page.wait_for_timeout(500)
    assert now != first and now.count(",") >= 2, "the CPU chart moved"
    shot("container-stats")

    # -- stop it from its row ----------------------------------------------------------
    page.goto(f"{base}/containers/?q={name}")
    row = page.locator(f"#container-{short}")
    row.get_by_role("button", name="Stop").click()
    row.locator(".badge.exited").wait_for(timeout=20000)
    shot("container-stopped")

    # -- pull an image with progress from the lab registry -----------------------------
    image_tags(registry_image)
    with contextlib.suppress(NotFound):
        engine.images.remove(registry_image, force=True)
    page.goto(f"{base}/images/")
    page.locator("#live-status", has_text="live").wait_for(timeout=15000)
    page.fill("#id_reference", registry_image)
    page.get_by_role("button", name="Pull").click()
    page.locator(".progress-panel progress.overall").wait_for(timeout=15000)
    shot("image-pull-progress")
    page.locator('.progress-panel[data-state="done"]').wait_for(timeout=60000)
    page.locator("#images-rows", has_text=registry_image).wait_for(timeout=15000)
    # The "used by" column follows the rows (its own request): the lab image has users.
    page.locator("span.users", has_text="container").first.wait_for(timeout=15000)
    shot("image-pulled")

    # -- create and remove a volume ----------------------------------------------------
    volume = f"dt-{RUN_ID}-vol-{secrets.token_hex(2)}"
    page.goto(f"{base}/volumes/")
    page.get_by_text("Create a volume").click()
    page.fill("#volume-create #id_name", volume)
    page.fill("#volume-create #id_labels", f"{TEST_LABEL}={RUN_ID}")
    page.locator("#volume-create").get_by_role("button", name="Create").click()
    page.wait_for_url(f"**/volumes/{volume}/")
    shot("volume-created")
    page.get_by_role("link", name="Remove…").click()
    page.fill("#id_confirm", volume)
    page.get_by_role("button", name=f"Remove volume {volume}").click()
    page.wait_for_url("**/hosts/local/volumes/")
    page.locator(".flash", has_text=f"Removed volume {volume}").wait_for()
    shot("volume-removed")
    with pytest.raises(NotFound):
        engine.volumes.inspect(volume)

    # -- create and remove a network ---------------------------------------------------
    network = f"dt-{RUN_ID}-net-{secrets.token_hex(2)}"
    page.goto(f"{base}/networks/")
    page.get_by_text("Create a network").click()
    page.fill("#network-create #id_name", network)
    page.fill("#network-create #id_labels", f"{TEST_LABEL}={RUN_ID}")
    page.locator("#network-create").get_by_role("button", name="Create").click()
    page.locator("h1", has_text=network).wait_for(timeout=15000)
    shot("network-created")
    page.once("dialog", lambda d: d.accept())
    page.locator("#network-remove").get_by_role("button", name="Remove").click()
    page.wait_for_url("**/hosts/local/networks/")
    page.locator(".flash", has_text=f"Removed network {network}").wait_for()
    shot("network-removed")
    assert not engine.networks.list(filters={"name": [network]})

    # -- steps added later (swarm) -------------------------------------------------------
    for _step_name, step in EXTRA_STEPS:
        step(page, dashboard, shot)


def _remove_walk_volumes(engine: Any) -> None:
    for leftover in engine.volumes.list(filters={"label": [f"{TEST_LABEL}={RUN_ID}"]}):
        if "-vol-" in leftover["Name"]:
            with contextlib.suppress(EngineError):
                engine.volumes.remove(leftover["Name"], force=True)


def test_a_newcomer_walks_through_the_dashboard(
    browser,
    dashboard,
    engine,
    make_container,
    registry_image,
    image_tags,
    resource_sweeper,
    tmp_path,
    record_property,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    number = iter(range(1, 100))
    audit = Audit(tmp_path / "axe")

    def shot(name: str) -> None:
        stem = f"{next(number):02d}-{name}"
        page.screenshot(path=str(SHOTS / f"{stem}.png"), full_page=True)
        audit.check(page, stem, SHOTS if name in THEMED_SHOTS else None)

    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    errors = watch_console(page)
    try:
        walk_through(page, dashboard, engine, make_container, registry_image, image_tags, shot)
    finally:
        context.close()
        _remove_walk_volumes(engine)
        summary = audit.write_summary()
        record_property("axe_summary", str(summary))
        print(
            f"axe: {len(audit.summary)} checks in {audit.seconds:.1f} s"
            f" ({audit.axe_seconds:.1f} s in axe.run), results in {summary}"
        )
        print("\n".join(audit.summary))
        # Even when a later step skipped (no second lab engine for the swarm), what the pages
        # seen so far showed counts.
        if audit.problems:
            pytest.fail("axe and layout:\n" + "\n".join(audit.problems), pytrace=False)
    assert not errors, errors


@pytest.mark.image
def test_the_walk_through_runs_against_the_image(
    browser, engine, make_container, registry_image, image_tags, resource_sweeper
):
    """The same steps against the image's container on Docker 26 (its port through the
    relay, its compose and CLI, its static files), shots in `walkthrough-image/` beside the
    dev server's; axe is the dev server run's job (the same templates)."""
    from .support.image import IMAGE_ENGINE, build, run_image

    if engine.lab_url != IMAGE_ENGINE:
        pytest.skip(f"the image runs on {IMAGE_ENGINE} (tests/support/image.py)")
    build()
    shots = SHOTS.parent / "walkthrough-image"
    shots.mkdir(parents=True, exist_ok=True)
    number = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{next(number):02d}-{name}.png"), full_page=True)

    with run_image(IMAGE_ENGINE.removeprefix("unix://")) as run:
        print(f"\nimage: a 200 /healthz {run.healthy_after:.1f} s after docker run")
        started = time.monotonic()
        context = browser.new_context(viewport=WIDE)
        page = context.new_page()
        errors = watch_console(page)
        try:
            walk_through(page, run, engine, make_container, registry_image, image_tags, shot)
            print(f"the walk-through against the image: {time.monotonic() - started:.1f} s")
        finally:
            context.close()
            _remove_walk_volumes(engine)
    assert not errors, errors
