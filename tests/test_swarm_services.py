"""Swarm services, secrets and configs from the dashboard on the two-node lab swarm: create
across both nodes, scale, update the image and roll back, force an update, logs merged from
tasks on both nodes (over the real websocket), a secret and a config mounted into a
service, and the live pages following the swarm's events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time

import pytest
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.models import AuditEntry
from engine_client import EngineError, NotFound

from .support.clients import ORIGIN, cookie_for
from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL
from .support.swarm_lab import service_spec, swarm, swarm_settings, wait_for

pytestmark = [pytest.mark.engine]

__all__ = ["swarm", "swarm_settings"]
SERVICES = "/hosts/local/swarm/services/"
FORM = {
    "image": LAB_IMAGE,
    "mode": "replicated",
    "labels": f"{TEST_LABEL}={RUN_ID}",
    "restart_condition": "any",
    "restart_delay": "1s",
    "update_parallelism": "0",
    "update_delay": "0s",
    "update_failure": "pause",
    "update_order": "stop-first",
    "rollback_parallelism": "0",
    "rollback_delay": "0s",
    "rollback_failure": "pause",
    "rollback_order": "stop-first",
    "stop_grace": "1s",
}


def images_of(swarm, sid: str) -> set[str]:
    return {t["Spec"]["ContainerSpec"]["Image"].split("@")[0] for t in swarm.tasks_running(sid)}


@pytest.fixture
def second_tag(swarm):
    """The lab image under this run's own tag, on both nodes (the same image: the update
    is real, the tasks still start fast)."""
    ref = f"lab/busybox:dt-{RUN_ID}"
    for client in swarm.clients:
        client.images.tag(LAB_IMAGE, ref)
    yield ref
    for client in swarm.clients:
        with contextlib.suppress(EngineError):
            client.images.remove(ref)


@pytest.mark.django_db
def test_create_scale_update_roll_back_and_remove(
    swarm_settings, admin, operator, swarm, second_tag
):
    name = f"dt-{RUN_ID}-web"
    form = {
        **FORM,
        "name": name,
        "replicas": "3",
        "env": "GREETING=hi\nAPI_TOKEN=s3cr3t",
        "command": "sh -c 'while true; do echo $GREETING from $(hostname); sleep 1; done'",
        "ports": "28080:8080",
        "mounts": "type=tmpfs,target=/scratch",
    }
    assert operator.post(f"{SERVICES}new/", form).status_code == 403
    resp = admin.post(f"{SERVICES}new/", {**form, "ports": "28080:8080/tcp sideways"})
    assert resp.status_code == 400 and "write e.g. 8080:80/tcp host" in resp.content.decode()
    assert not swarm.manager.services.list(filters={"name": [name]})

    resp = admin.post(f"{SERVICES}new/", form)
    assert resp.status_code == 302, resp.content.decode()[-1500:]
    sid = resp["Location"].rstrip("/").rsplit("/", 1)[1]
    spec = swarm.manager.services.inspect(sid)["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Env"] == ["GREETING=hi", "API_TOKEN=s3cr3t"]
    assert container["Mounts"] == [{"Type": "tmpfs", "Target": "/scratch"}]
    assert spec["EndpointSpec"]["Ports"][0]["PublishedPort"] == 28080
    entry = AuditEntry.objects.get(action="service.create")
    assert "s3cr3t" not in json.dumps(entry.params) and entry.params["id"] == sid

    swarm.wait_running(sid, 3)
    # Generous: in the full suite this runs beside two other pytest processes and the image
    # build; a scale down waits out its tasks' stop grace. Seen over 45 s there, never alone.
    wait_for(lambda: swarm.nodes_of(sid) == swarm.node_ids, "tasks on every node", timeout=90)
    html = admin.get(f"{SERVICES}{sid}/").content.decode()
    assert "API_TOKEN=••••••••" in html and "s3cr3t" not in html
    assert "28080→8080/tcp (ingress)" in html
    assert html.count('class="task task-running"') == 3

    # Scale is an operator's action; the page's rows follow.
    for replicas in (5, 1):
        resp = operator.hx_post(
            f"{SERVICES}{sid}/scale/", {"replicas": str(replicas)}, "service-scale"
        )
        assert resp.status_code == 200 and resp["HX-Redirect"] == f"{SERVICES}{sid}/"
        swarm.wait_running(sid, replicas)

    def list_replicas() -> str:
        html = admin.get(SERVICES).content.decode()
        found = re.search(r'data-running="[^"]*" data-desired="[^"]*"', html)
        return found.group(0) if found else f"no replicas in the page: {html[-600:]!r}"

    def engine_state() -> str:
        status = swarm.manager.services.list(filters={"id": [sid]})[0].get("ServiceStatus")
        tasks = swarm.manager.tasks.list(filters={"service": [sid]})
        states = sorted((t["DesiredState"], t["Status"]["State"], t["NodeID"][:6]) for t in tasks)
        return f"page {list_replicas()}, engine ServiceStatus {status}, tasks {states}"

    wait_for(
        lambda: list_replicas() == 'data-running="1" data-desired="1"',
        "the list saying 1/1",
        timeout=90,
        describe=engine_state,
    )

    resp = operator.hx_post(f"{SERVICES}{sid}/image/", {"image": "not a ref!"}, "service-image")
    assert resp.status_code == 400 and resp["HX-Retarget"] == "#service-image-msg"
    resp = operator.hx_post(f"{SERVICES}{sid}/image/", {"image": second_tag}, "service-image")
    assert resp.status_code == 200
    wait_for(lambda: images_of(swarm, sid) == {second_tag}, "the task on the new image")
    html = admin.get(f"{SERVICES}{sid}/").content.decode()
    assert f'id="service-image-name">{second_tag}<' in html
    assert re.search(r'id="service-update-state" data-state="(updating|completed)"', html)

    resp = operator.hx_post(f"{SERVICES}{sid}/rollback/", {}, "service-rollback")
    assert resp.status_code == 200
    wait_for(lambda: images_of(swarm, sid) == {LAB_IMAGE}, "the task back on the old image")
    wait_for(
        lambda: swarm.manager.services.inspect(sid)["UpdateStatus"]["State"].startswith("rollback"),
        "a rollback status",
    )

    before = {t["ID"] for t in swarm.tasks_running(sid)}
    resp = operator.hx_post(f"{SERVICES}{sid}/force/", {}, "service-force")
    assert resp.status_code == 200
    wait_for(
        lambda: (ids := {t["ID"] for t in swarm.tasks_running(sid)}) and not ids & before,
        "a redeployed task",
    )
    assert swarm.manager.services.inspect(sid)["Spec"]["TaskTemplate"]["ForceUpdate"] == 1

    assert operator.post(f"{SERVICES}{sid}/remove/").status_code == 403
    resp = admin.post(f"{SERVICES}{sid}/remove/")
    assert resp.status_code == 302 and resp["Location"] == SERVICES
    with pytest.raises(NotFound):
        swarm.manager.services.inspect(sid)
    # What was done (refused posts and bad forms are in the trail too, by route name).
    done = AuditEntry.objects.filter(action__contains=".").exclude(outcome=AuditEntry.DENIED)
    actions = [e.action for e in done.order_by("id")]
    assert actions == [
        "service.create",
        "service.scale",
        "service.scale",
        "service.update_image",
        "service.rollback",
        "service.force_update",
        "service.remove",
    ]
    lifecycle = done.exclude(action__in=["service.create", "service.remove"])
    assert {e.username for e in lifecycle} == {"oscar-operator"}


@pytest.mark.django_db
def test_a_secret_and_a_config_mounted_into_a_service(swarm_settings, admin, viewer, swarm):
    secret_name, value = f"dt-{RUN_ID}-pw", f"sesame-{RUN_ID}"
    config_name, content = f"dt-{RUN_ID}-conf", "greeting = hello\n"
    labels = f"{TEST_LABEL}={RUN_ID}"
    resp = admin.post("/hosts/local/swarm/secrets/", {"name": "bad name", "value": value})
    assert resp.status_code == 400 and "a secret name is up to 64" in resp.content.decode()
    assert value not in resp.content.decode(), "a refused form does not echo the secret"
    resp = admin.post(
        "/hosts/local/swarm/secrets/", {"name": secret_name, "value": value, "labels": labels}
    )
    assert resp.status_code == 302
    resp = admin.post(
        "/hosts/local/swarm/configs/", {"name": config_name, "value": content, "labels": labels}
    )
    assert resp.status_code == 302
    assert (
        viewer.post("/hosts/local/swarm/secrets/", {"name": "x1", "value": "y"}).status_code == 403
    )
    listing = viewer.get("/hosts/local/swarm/secrets/").content.decode()
    assert secret_name in listing and value not in listing, "a secret's value is never shown"
    entry = AuditEntry.objects.get(action="secret.create")
    assert value not in json.dumps(entry.params)

    name = f"dt-{RUN_ID}-reader"
    command = f"sh -c 'cat /run/secrets/{secret_name} /{config_name}; sleep 300'"
    form = {
        **FORM,
        "name": name,
        "replicas": "1",
        "secrets": [secret_name],
        "configs": [config_name],
        "command": command,
    }
    resp = admin.post(f"{SERVICES}new/", form)
    assert resp.status_code == 302, resp.content.decode()[-1500:]
    sid = resp["Location"].rstrip("/").rsplit("/", 1)[1]
    swarm.wait_running(sid, 1)

    def logged() -> str:
        with contextlib.closing(swarm.manager.services.logs(sid, timestamps=False)) as stream:
            text = "\n".join(line.text for line in stream.lines())
        return text if value in text and "greeting = hello" in text else ""

    wait_for(logged, "the secret and the config read by the task")
    listing = admin.get("/hosts/local/swarm/secrets/").content.decode()
    assert f">{name}</a>" in listing, "the secret's row names the service using it"
    configs = admin.get("/hosts/local/swarm/configs/").content.decode()
    assert "greeting = hello" in configs and f">{name}</a>" in configs

    secret_id = swarm.manager.secrets.inspect(secret_name)["ID"]
    resp = admin.hx_post(
        f"/hosts/local/swarm/secrets/{secret_id}/remove/", target=f"remove-{secret_id}"
    )
    assert resp.status_code >= 400 and resp["HX-Retarget"] == f"#remove-{secret_id}-msg"
    assert "in use" in resp.content.decode()
    assert swarm.manager.secrets.inspect(secret_id)

    swarm.manager.services.remove(sid)
    resp = wait_for(
        lambda: (
            (
                r := admin.hx_post(
                    f"/hosts/local/swarm/secrets/{secret_id}/remove/", target=f"remove-{secret_id}"
                )
            ).status_code
            == 200
            and r
        ),
        "the secret free to remove",
    )
    with pytest.raises(NotFound):
        swarm.manager.secrets.inspect(secret_id)


LINE = re.compile(
    r'<span class="task" data-task="\w+">(dt-\w+-talk\.\d)'
    r'<span class="node">@([\w.-]+)</span></span>hello from (\w+)'
)


@pytest.mark.django_db(transaction=True)
async def test_service_logs_merge_lines_from_tasks_on_both_nodes(hub, swarm_settings, swarm):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(cookie_for)("wendy-watcher")
    sid = swarm.manager.services.create(service_spec(f"dt-{RUN_ID}-talk", 2))["ID"]
    try:
        await sync_to_async(swarm.wait_running)(sid, 2)
        nodes = await sync_to_async(swarm.nodes_of)(sid)
        assert nodes == swarm.node_ids
        hostnames = {
            n["Description"]["Hostname"] for n in await sync_to_async(swarm.manager.nodes.list)()
        }
        comm = WebsocketCommunicator(
            application, f"/ws/hosts/local/swarm/services/{sid}/logs/?tail=5", [ORIGIN, cookie]
        )
        assert (await comm.connect())[0]
        seen: dict[str, set[str]] = {}
        deadline = time.monotonic() + 30
        # (Docker 26 swarms alone: both tasks on its one node.)
        while time.monotonic() < deadline and (
            set(seen) != hostnames or len(set().union(*seen.values())) < 2
        ):
            msg = json.loads(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
            for m in LINE.finditer(msg.get("lines", "")):
                seen.setdefault(m.group(2), set()).add(m.group(1))
        assert set(seen) == hostnames, f"lines from tasks on both nodes: {seen}"
        assert len(set().union(*seen.values())) == 2, "each line names its task"
        await comm.disconnect()
    finally:
        await sync_to_async(swarm.manager.services.remove)(sid)


@pytest.mark.django_db(transaction=True)
async def test_the_services_page_rereads_its_rows_when_the_swarm_changes(
    hub, swarm_settings, swarm
):
    from asgiref.sync import sync_to_async

    viewer = await sync_to_async(cookie_for)("vic-viewer")
    refused = WebsocketCommunicator(
        application, "/ws/hosts/local/swarm/live/?kind=nodes", [ORIGIN, viewer]
    )
    connected, code = await refused.connect()
    assert not connected and code == 4403, "nodes are for admins"

    comm = WebsocketCommunicator(
        application,
        f"/ws/hosts/local/swarm/live/?kind=services&since={time.time():.3f}",
        [ORIGIN, viewer],
    )
    assert (await comm.connect())[0]
    sid = (await sync_to_async(swarm.manager.services.create)(service_spec(f"dt-{RUN_ID}-ev", 1)))[
        "ID"
    ]
    try:
        deadline = time.monotonic() + 20
        got = ""
        while 'id="swarm-resync"' not in got and time.monotonic() < deadline:
            with contextlib.suppress(asyncio.TimeoutError):
                got = await comm.receive_from(timeout=1)
        assert 'hx-get="/hosts/local/swarm/services/"' in got
        assert 'hx-target="#services-rows"' in got
        await comm.disconnect()
    finally:
        await sync_to_async(swarm.manager.services.remove)(sid)
