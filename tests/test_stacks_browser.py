"""A swarm stack in a real browser, on the two-node lab swarm: an admin deploys it from the
new-stack page and watches the CLI's lines arrive before its exit status, reads its merged
log, updates it from its edit page and removes it from its remove page."""

from __future__ import annotations

import contextlib
import secrets

import pytest

from engine_client import EngineError
from engine_client.projects import STACK_LABEL

from . import test_browser as tb
from .support.browser import live_dashboard
from .support.compose import require_docker_cli
from .support.lab import LAB_DOCKER_HOST, RUN_ID
from .support.stacks import stack_file
from .support.swarm_lab import LAB_DOCKER_HOST2, needs_worker, swarm
from .test_swarm_browser import page

pytestmark = [pytest.mark.engine, pytest.mark.browser]

__all__ = ["swarm", "page"]
browser = tb.browser


@pytest.fixture(scope="module")
def dashboard(swarm, engine):
    needs_worker(engine)
    cli = require_docker_cli()
    hosts = f"node2={LAB_DOCKER_HOST2}"
    with live_dashboard(LAB_DOCKER_HOST, DASHBOARD_HOSTS=hosts, DASHBOARD_DOCKER_BIN=cli) as live:
        yield live


@pytest.fixture
def stack_name(swarm):
    name = f"dtb-{RUN_ID}-{secrets.token_hex(3)}"
    yield name
    for s in swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={name}"]}):
        with contextlib.suppress(EngineError):
            swarm.manager.services.remove(s["ID"])


def wait_run(page, timeout: float = 90_000) -> str:
    """The run page, to its exit status: the status shown."""
    page.wait_for_url("**/stacks/*/run/**")
    page.locator("#run-exit:not([hidden])").wait_for(timeout=timeout)
    return page.locator("#run-code").inner_text()


def test_an_admin_deploys_updates_and_removes_a_stack(page, dashboard, swarm, stack_name):
    base = f"{dashboard.url}/hosts/local"
    page.goto(f"{base}/projects/")
    page.locator("#stack-new").click()
    page.fill("#id_name", stack_name)
    # A key the CLI does not know: its complaint shows beside the editor, at its line.
    grace = "    stop_grace_period: 1s\n"
    page.fill("#id_compose", stack_file(2).replace(grace, f"{grace}    bogus: 1\n"))
    page.locator("#stack-deploy").click()
    page.locator(".field-error[data-line='8']", has_text="bogus").wait_for(timeout=20000)
    tb.shot(page, "stack-bad-file")
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})
    page.fill("#id_compose", stack_file(2))
    page.fill("#id_env", "GREETING=hello\n")
    tb.shot(page, "stack-new")
    page.locator("#stack-deploy").click()
    page.wait_for_url("**/stacks/*/run/**")
    # The CLI's lines show while it still runs (it waits for the tasks to converge).
    page.locator("#run-output .l", has_text="Creating service").wait_for(timeout=30000)
    assert page.locator("#run-exit").is_hidden()
    assert wait_run(page) == "0", page.locator("#run-output").inner_text()[-2000:]
    assert "converged" in page.locator("#run-output").inner_text()
    tb.shot(page, "stack-deployed")

    service = f"{stack_name}_web"
    tasks = swarm.wait_running(service, 2, timeout=60)
    assert {t["NodeID"] for t in tasks} == swarm.node_ids
    page.goto(f"{base}/projects/{stack_name}/")
    page.locator("#stack-svc-web[data-replicas='2/2']").wait_for(timeout=20000)
    tb.shot(page, "stack-page")

    # The merged log: lines from the tasks on both nodes, tagged with the service.
    page.goto(f"{base}/projects/{stack_name}/logs/")
    line = page.locator("#log-view .l", has_text="hello from")
    line.first.wait_for(timeout=20000)
    assert line.first.locator(".svc").inner_text() == "web"
    tb.shot(page, "stack-logs")

    page.goto(f"{base}/projects/{stack_name}/")
    page.locator("#stack-edit").click()
    page.fill("#id_compose", stack_file(1))
    page.fill("#id_env", "GREETING=bonjour\n")
    page.locator("#stack-deploy").click()
    assert wait_run(page) == "0", page.locator("#run-output").inner_text()[-2000:]
    assert f"Updating service {service}" in page.locator("#run-output").inner_text()
    swarm.wait_running(service, 1, timeout=60)
    env = swarm.manager.services.inspect(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert "GREETING=bonjour" in env

    page.goto(f"{base}/projects/{stack_name}/")
    page.locator("#stack-remove").click()
    assert service in page.locator("#remove-services").inner_text()
    page.fill("#id_confirm", stack_name)
    page.get_by_role("button", name=f"Remove stack {stack_name}").click()
    assert wait_run(page) == "0"
    assert f"Removing service {service}" in page.locator("#run-output").inner_text()
    tb.shot(page, "stack-removed")
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})
