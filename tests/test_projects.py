"""Projects from labels, against the lab engines, with a project made by the real compose
binary: the grouping and roll-up, whole-project stop/start/remove from the dashboard, a
`compose stop` from the CLI reaching an open page over its websocket, roles, bad names."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.models import AuditEntry
from dashboard.streams.hub import get_hub
from engine_client.projects import PROJECT_LABEL, SERVICE_LABEL

from .support.clients import ORIGIN
from .support.compose import SERVICES, compose_project

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

H = "/hosts/local/projects"


@pytest.fixture
def project(engine, tmp_path):
    with compose_project(tmp_path, engine.lab_url, engine.lab_image_name) as p:
        yield p


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_compose_project_is_grouped_from_its_labels(engine, project):
    p = engine.projects.get(project.name)
    assert list(p.services) == list(SERVICES)
    assert p.total == 3
    assert wait_for(lambda: engine.projects.get(project.name).running == 3)
    assert [v["Name"] for v in p.volumes] == [f"{project.name}_data"]
    assert [n["Name"] for n in p.networks] == [f"{project.name}_default"]
    assert p.config_files == [str(project.directory / "compose.yaml")]
    assert p.working_dir == str(project.directory)
    assert project.name in [q.name for q in engine.projects.list()]


def test_the_project_pages_show_the_roll_up_services_and_resources(
    lab_settings, viewer, engine, project
):
    wait_for(lambda: engine.projects.get(project.name).running == 3)
    html = viewer.get(f"{H}/").content.decode()
    assert f'id="project-{project.name}"' in html
    assert "3/3 running" in html
    resp = viewer.get(f"{H}/{project.name}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'id="project-{project.name}-body"' in html
    for service in SERVICES:
        assert f"{project.name}-{service}-1" in html
    assert f"{project.name}_data" in html and f"{project.name}_default" in html
    assert str(project.directory) in html
    # The web service's published port links to where the browser reached the dashboard.
    assert re.search(r'<a\s+href="http://testserver:\d+/" target="_blank"', html), html
    # The containers list: filtered to the project, each row linking to it.
    html = viewer.get("/hosts/local/containers/", {"project": project.name}).content.decode()
    assert html.count('class="project-link"') == 3
    assert f"/hosts/local/projects/{project.name}/" in html


def test_an_operator_stops_and_starts_the_project(lab_settings, operator, engine, project):
    resp = operator.post(f"{H}/{project.name}/stop/", {"t": "1"})
    assert resp.status_code == 302
    p = engine.projects.get(project.name)
    assert p.running == 0 and p.summary == "0/3 running"
    assert AuditEntry.objects.filter(action="project.stop", target_id=project.name).exists()
    html = operator.get(f"{H}/{project.name}/").content.decode()
    assert "0/3 running" in html
    resp = operator.hx_post(f"{H}/{project.name}/start/", target=f"project-{project.name}-msg")
    assert resp.status_code == 200 and "start" in resp.content.decode()
    assert engine.projects.get(project.name).running == 3


def test_the_healthchecked_service_reads_healthy_on_docker(engine, project):
    if engine.lab_kind == "podman":
        pytest.skip("Podman's container list says nothing of health (its Status has no (healthy))")
    check = engine.projects.get(project.name).services["check"]
    cid = check.containers[0]["Id"]
    assert wait_for(lambda: "(healthy)" in engine.containers.get_summary(cid)["Status"])
    assert engine.projects.get(project.name).unhealthy == 0


def test_a_compose_stop_from_the_cli_changes_the_roll_up_over_the_websocket(
    lab_settings, hub, session_cookie, engine, project
):
    async def run() -> str:
        path = f"/ws/hosts/local/projects/live/?project={project.name}&since={time.time():.3f}"
        comm = WebsocketCommunicator(application, path, headers=[ORIGIN, session_cookie])
        assert (await comm.connect())[0]
        await asyncio.sleep(0.5)  # the events stream is open
        await sync_to_async(project.must)("stop", "-t", "1")
        html = ""
        deadline = time.monotonic() + 20
        while f'hx-target="#project-{project.name}-body"' not in html:
            html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
        await comm.disconnect()
        return html

    html = async_to_sync_run(run)
    assert f'hx-get="/hosts/local/projects/{project.name}/"' in html
    # What the page then reads: the new roll-up (Docker 26's list may show a container
    # running for a moment after the CLI's stop returned).
    assert wait_for(lambda: engine.projects.get(project.name).summary == "0/3 running", 10)


def async_to_sync_run(fn):
    """Run `fn` on a loop of its own. That loop has a stream hub of its own (one per loop),
    which the `hub` fixture does not see: it is closed here, or its upstream threads (the
    host's events, the followed logs) would outlive the test and show in later ones."""
    from asgiref.sync import async_to_sync

    async def run() -> Any:
        try:
            return await fn()
        finally:
            get_hub().close_all()

    return async_to_sync(run)()


def test_an_admin_removes_exactly_the_project(lab_settings, admin, engine, project, make_container):
    bystander = make_container(Labels={PROJECT_LABEL: f"{project.name}x"})
    page = admin.get(f"{H}/{project.name}/remove/").content.decode()
    for service in SERVICES:
        assert f"{project.name}-{service}-1" in page
    assert f"{project.name}_data" in page and f"{project.name}_default" in page
    # The name typed wrong: nothing goes.
    resp = admin.post(f"{H}/{project.name}/remove/", {"confirm": "nope", "volumes": "on"})
    assert resp.status_code == 400
    assert engine.projects.get(project.name).total == 3
    resp = admin.post(
        f"{H}/{project.name}/remove/",
        {"confirm": project.name, "networks": "on", "volumes": "on"},
    )
    assert resp.status_code == 302
    assert project.name not in [p.name for p in engine.projects.list()]
    assert engine.containers.get_summary(bystander["Id"]) is not None
    assert AuditEntry.objects.filter(action="project.remove", target_id=project.name).exists()


def test_roles_viewer_sees_operator_acts_admin_removes(
    lab_settings, viewer, operator, admin, engine, project
):
    assert viewer.get(f"{H}/{project.name}/").status_code == 200
    assert viewer.post(f"{H}/{project.name}/stop/").status_code == 403
    assert operator.get(f"{H}/{project.name}/remove/").status_code == 403
    assert (
        operator.post(f"{H}/{project.name}/remove/", {"confirm": project.name}).status_code == 403
    )
    assert engine.projects.get(project.name).total == 3
    assert operator.post(f"{H}/{project.name}/restart/", {"t": "1"}).status_code == 302
    assert admin.get(f"{H}/{project.name}/remove/").status_code == 200


def test_the_merged_log_tags_each_line_with_its_service(
    lab_settings, hub, session_cookie, viewer, engine, project
):
    import re

    html = viewer.get(f"{H}/{project.name}/logs/").content.decode()
    m = re.search(r'data-ws="([^"]+)"', html)
    assert m
    path = m.group(1).replace("&amp;", "&")
    web = engine.projects.get(project.name).services["web"].containers[0]["Id"]

    async def run() -> str:
        comm = WebsocketCommunicator(application, path, headers=[ORIGIN, session_cookie])
        assert (await comm.connect())[0]
        await asyncio.sleep(0.5)
        # httpd prints nothing: a line is written to its PID 1's stdout from an exec.
        await sync_to_async(_say, thread_sensitive=False)(engine, web, "hello from web")
        got = ""
        deadline = time.monotonic() + 20
        while "hello from web" not in got:
            got += await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
        await comm.disconnect()
        return got

    got = async_to_sync_run(run)
    assert re.search(r'class=\\"src c\d svc\\"[^>]*>web</button>hello from web', got), got[-500:]


def _say(engine, cid: str, text: str) -> None:
    """Write a line to a container's log: to PID 1's stdout, from an exec."""
    code, out = engine.exec.run(cid, ["sh", "-c", f"echo {text} > /proc/1/fd/1"])
    assert code == 0, out


@pytest.mark.parametrize(
    "bad", ["UPPER", "-dash", "_under", "a.b", "a%2Fb", "..", "a" * 200, "%C3%A9t%C3%A9"]
)
def test_bad_project_names_are_refused_before_any_engine_call(lab_settings, admin, bad):
    for url in (f"{H}/{bad}/", f"{H}/{bad}/stop/", f"{H}/{bad}/remove/"):
        resp = admin.post(url) if url.endswith("stop/") else admin.get(url)
        assert resp.status_code in (400, 404), url
    # The containers list's filter: refused beside the filter (and ignored).
    resp = admin.get("/hosts/local/containers/", {"project": "Bad Name"})
    assert resp.status_code == 200
    assert "a project name is" in resp.content.decode()


def test_a_step_the_engine_refuses_is_reported_and_audited_as_failed(
    lab_settings, admin, engine, project, make_container
):
    # A container outside the project uses the project's volume: the engine refuses to
    # remove that volume; everything else of the project still goes.
    volume = f"{project.name}_data"
    user = make_container(HostConfig={"Binds": [f"{volume}:/data"]})
    resp = admin.post(
        f"{H}/{project.name}/remove/",
        {"confirm": project.name, "networks": "on", "volumes": "on"},
        follow=True,
    )
    assert f"remove volume {volume}" in resp.content.decode()
    assert engine.volumes.inspect(volume)
    assert engine.containers.get_summary(user["Id"]) is not None
    assert engine.projects.get(project.name).containers == []
    entry = AuditEntry.objects.get(action="project.remove", target_id=project.name)
    assert entry.outcome == AuditEntry.FAILED and volume in entry.message
    engine.containers.remove(user["Id"], force=True)


def test_the_containers_list_groups_by_project(lab_settings, viewer, make_container):
    """Grouped, each project's containers follow its heading (a project's size counted over
    every page), containers of no project last; sorting applies within each group."""
    tag = secrets.token_hex(3)
    for project, service in [("b", "web"), ("a", "web"), ("b", "db"), ("", "")]:
        labels = {PROJECT_LABEL: f"g{tag}{project}", SERVICE_LABEL: service} if project else {}
        name = f"g{tag}-{project or 'loose'}-{service or 'x'}"
        make_container(name=name, start=False, Labels=labels)
    query = {"q": f"g{tag}-", "group": "project", "sort": "name", "order": "desc"}
    html = viewer.get("/hosts/local/containers/", query).content.decode()
    order = re.findall(rf'class="group-head"|>(g{tag}-[a-z]+-[a-z]+)</a>', html)
    heads = re.findall(r'class="group-head".*?</th>', html, re.S)
    assert [m or "HEAD" for m in order] == [
        "HEAD", f"g{tag}-a-web",
        "HEAD", f"g{tag}-b-web", f"g{tag}-b-db",  # by name, descending, inside the group
        "HEAD", f"g{tag}-loose-x",
    ]  # fmt: skip
    assert f"g{tag}a" in heads[0] and "1 container<" in heads[0]
    assert f"g{tag}b" in heads[1] and "2 containers" in heads[1]
    assert "Not in a project" in heads[2]
    # Ungrouped, the same list has no headings.
    query.pop("group")
    assert (
        'class="group-head"' not in viewer.get("/hosts/local/containers/", query).content.decode()
    )
