"""Swarm stacks deployed from the dashboard with the real docker CLI (the lab's CLI 26,
never the machine's PATH), on the two-node lab swarm: a replicated service spread across
both nodes, updated (replicas and a .env value), removed; the CLI's lines on the run page's
socket before its exit status; a bad file and a bad name refused with nothing deployed; a
worker host refused; a second run of a stack refused while one holds it."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.models import AuditEntry
from dashboard.stacks import project_folder, project_lock
from dashboard.streams.hub import get_hub
from dashboard.streams.stack_run import CLIRunSource
from engine_client.projects import STACK_LABEL

from .support.clients import ORIGIN, cookie_of
from .support.compose import require_docker_cli
from .support.lab import RUN_ID
from .support.stacks import small_stack, stack_file
from .support.swarm_lab import needs_worker, swarm, swarm_settings, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
__all__ = ["swarm", "swarm_settings"]

S = "/hosts/local/stacks"


@pytest.fixture
def stack_settings(swarm_settings, tmp_path, engine):
    swarm_settings.DOCKER_BIN = require_docker_cli()
    swarm_settings.STACKS_DIR = tmp_path / "stacks"
    swarm_settings.DOCKER_CLI_CONFIG_DIR = tmp_path / "cli"
    return swarm_settings


@pytest.fixture
def stack_name(swarm, stack_settings):
    name = f"dts-{RUN_ID}-{secrets.token_hex(3)}"
    yield name
    # Whatever a failed test left: the stack's services (the swarm fixture removes the rest).
    for s in swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={name}"]}):
        swarm.manager.services.remove(s["ID"])


def run_page(admin, location: str) -> list[dict[str, Any]]:
    """The run page's socket, read to the end of the run: its messages, in order."""
    assert location.startswith(f"{S}/"), location
    assert admin.get(location).status_code == 200
    path = "/ws" + location

    async def run() -> list[dict[str, Any]]:
        comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(admin)])
        try:
            assert (await comm.connect())[0]
            got: list[dict[str, Any]] = []
            deadline = time.monotonic() + 120
            while not got or "exit" not in got[-1]:
                text = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
                got.append(json.loads(text))
            await comm.disconnect()
            return got
        finally:
            get_hub().close_all()

    from asgiref.sync import async_to_sync

    return async_to_sync(run)()


def output(messages: list[dict[str, Any]]) -> str:
    return "".join(m.get("lines", "") for m in messages)


def test_a_stack_is_deployed_across_both_nodes_updated_and_removed(
    admin, viewer, engine, swarm, stack_name
):
    needs_worker(engine)
    assert admin.get(f"{S}/new/").status_code == 200
    env = "GREETING=hello\n"
    resp = admin.post(f"{S}/new/", {"name": stack_name, "compose": stack_file(2), "env": env})
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    messages = run_page(admin, resp["Location"])
    # The CLI's lines reached the page before its exit status did.
    first = next(i for i, m in enumerate(messages) if "Creating service" in m.get("lines", ""))
    assert "exit" not in messages[first]
    assert messages[-1]["exit"] == {"code": 0, "error": ""}, output(messages)
    assert f"Creating service {stack_name}_web" in output(messages)
    entry = AuditEntry.objects.get(action="stack.deploy", target_id=stack_name)
    assert entry.outcome == AuditEntry.OK and entry.params["exit_status"] == 0
    assert entry.username == "alice-admin"

    # A new stack of the same name is refused: it exists (edit it instead).
    again = admin.post(f"{S}/new/", {"name": stack_name, "compose": stack_file(1), "env": env})
    assert again.status_code == 400 and "already exists" in again.content.decode()

    service = f"{stack_name}_web"
    tasks = swarm.wait_running(service, 2, timeout=60)
    assert {t["NodeID"] for t in tasks} == swarm.node_ids  # one on each node
    page = viewer.get(f"/hosts/local/projects/{stack_name}/").content.decode()
    assert 'data-replicas="2/2"' in page and "swarm stack" in page
    assert f"{stack_name}_default" in page  # its network, by the stack's label

    # Update from the edit page: one replica, and the .env value changed.
    form = admin.get(f"{S}/{stack_name}/edit/").content.decode()
    assert "GREETING=hello" in form and "max_replicas_per_node" in form
    resp = admin.post(
        f"{S}/{stack_name}/edit/", {"compose": stack_file(1), "env": "GREETING=bonjour\n"}
    )
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    messages = run_page(admin, resp["Location"])
    assert messages[-1]["exit"]["code"] == 0, output(messages)
    assert f"Updating service {service}" in output(messages)
    assert "converged" in output(messages)
    svc = swarm.manager.services.inspect(service)
    assert svc["Spec"]["Mode"]["Replicated"]["Replicas"] == 1
    assert "GREETING=bonjour" in svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    swarm.wait_running(service, 1, timeout=60)
    wait_for(
        lambda: (
            (swarm.manager.services.inspect(service).get("UpdateStatus") or {}).get("State")
            == "completed"
        ),
        "the update to complete",
        60,
    )
    page = viewer.get(f"/hosts/local/projects/{stack_name}/").content.decode()
    assert 'data-replicas="1/1"' in page and 'data-update="completed"' in page

    # Remove: asks first, naming the service; a wrong name removes nothing.
    ask = admin.get(f"{S}/{stack_name}/remove/").content.decode()
    assert service in ask and f"{stack_name}_default" in ask
    assert admin.post(f"{S}/{stack_name}/remove/", {"confirm": "nope"}).status_code == 400
    assert swarm.manager.services.list(filters={"name": [service]})
    resp = admin.post(f"{S}/{stack_name}/remove/", {"confirm": stack_name})
    assert resp.status_code == 302
    messages = run_page(admin, resp["Location"])
    assert messages[-1]["exit"]["code"] == 0, output(messages)
    assert f"Removing service {service}" in output(messages)
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})
    assert AuditEntry.objects.filter(action="stack.rm", target_id=stack_name, outcome="ok")


def test_a_bad_stack_file_is_refused_beside_its_line_and_nothing_is_deployed(
    admin, engine, swarm, stack_name
):
    bad = stack_file(1).replace(
        "    stop_grace_period: 1s\n", "    stop_grace_period: 1s\n    bogus: 1\n"
    )
    assert bad.splitlines()[7] == "    bogus: 1"
    resp = admin.post(f"{S}/new/", {"name": stack_name, "compose": bad, "env": "GREETING=x\n"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'data-line="8"' in html and "bogus" in html, html[-3000:]
    # A path outside the stack's folder (check_files, before the CLI sees anything).
    outside = stack_file(1).replace(
        "    environment:\n", "    env_file: ../../x.env\n    environment:\n"
    )
    resp = admin.post(f"{S}/new/", {"name": stack_name, "compose": outside, "env": ""})
    assert resp.status_code == 400 and "outside" in resp.content.decode()
    # A name docker would refuse.
    resp = admin.post(f"{S}/new/", {"name": "Bad.Name", "compose": stack_file(1), "env": ""})
    assert resp.status_code == 400 and "stack name" in resp.content.decode()
    assert not (project_folder("local", stack_name, "swarm") / "compose.yaml").exists()
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})
    assert not AuditEntry.objects.filter(action__startswith="stack.", outcome="ok").exists()


def test_a_worker_host_refuses_and_nothing_runs(admin, engine, swarm, stack_name):
    needs_worker(engine)
    resp = admin.get("/hosts/node2/stacks/new/")
    assert resp.status_code == 200
    assert "swarm worker" in resp.content.decode()
    resp = admin.post(
        "/hosts/node2/stacks/new/", {"name": stack_name, "compose": stack_file(1), "env": ""}
    )
    assert resp.status_code == 409
    assert "swarm worker" in resp.content.decode()
    assert not (project_folder("node2", stack_name, "swarm") / "compose.yaml").exists()
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})


def test_a_second_run_of_a_stack_is_refused_while_one_holds_it(admin, engine, swarm, stack_name):
    folder = project_folder("local", stack_name, "swarm")
    with project_lock(folder):
        resp = admin.post(
            f"{S}/new/", {"name": stack_name, "compose": stack_file(1), "env": "GREETING=x\n"}
        )
    assert resp.status_code == 409
    assert "in progress" in resp.content.decode()
    assert not (folder / "compose.yaml").exists()
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})


def test_without_the_cli_the_page_says_how_to_get_it(admin, engine, swarm, stack_settings):
    stack_settings.DOCKER_BIN = "/nonexistent/docker"
    html = admin.get(f"{S}/new/").content.decode()
    assert 'id="stack-no-cli"' in html and "DASHBOARD_DOCKER_BIN" in html
    # Read-only stack views keep working.
    assert admin.get("/hosts/local/projects/").status_code == 200


def test_a_stack_deploys_and_goes_on_each_swarm_engine(admin, viewer, engine, swarm, stack_name):
    """Docker 20.10 (API 1.41) and Docker 26 (API 1.45) alike, by the same CLI 26."""
    compose = small_stack()
    resp = admin.post(f"{S}/new/", {"name": stack_name, "compose": compose, "env": ""})
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    messages = run_page(admin, resp["Location"])
    assert messages[-1]["exit"]["code"] == 0, output(messages)
    # The run page again with the same ticket, after the process forgot its runs (a
    # restart): told the run finished, and nothing runs a second time.
    CLIRunSource._jobs.clear()
    again = run_page(admin, resp["Location"])
    assert "finished earlier (exit status 0" in again[-1]["exit"]["error"]
    assert AuditEntry.objects.filter(action="stack.deploy", target_id=stack_name).count() == 1
    swarm.wait_running(f"{stack_name}_app", 1, timeout=60)
    assert (
        'data-replicas="1/1"' in viewer.get(f"/hosts/local/projects/{stack_name}/").content.decode()
    )
    resp = admin.post(f"{S}/{stack_name}/remove/", {"confirm": stack_name})
    messages = run_page(admin, resp["Location"])
    assert messages[-1]["exit"]["code"] == 0, output(messages)
    assert not swarm.manager.services.list(filters={"label": [f"{STACK_LABEL}={stack_name}"]})


def test_editing_a_stack_that_is_not_there_is_a_404(admin, engine, swarm, stack_name):
    assert admin.get(f"{S}/{stack_name}/edit/").status_code == 404
