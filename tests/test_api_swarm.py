"""Swarm services through the JSON API, on Docker 26's single-node lab swarm (the routes call
the pages' own engine code, which the swarm page tests cover on the two-node swarm): a token
lists services with secret-looking variables hidden, scales, force-updates and rolls back;
a service's webhook redeploys it with its tag resolved again at the registry."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client

from dashboard.api.hooks import HEADER
from dashboard.models import AuditEntry, Webhook
from engine_client import EngineClient

from .support.api import TokenClient, token_for
from .support.lab import LAB_REGISTRY, RUN_ID
from .support.swarm_lab import LabSwarm, service_spec, single_node_swarm, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = f"{LAB_REGISTRY}/lab/busybox:latest"


@pytest.fixture(scope="module")
def api_swarm(engine: EngineClient) -> Iterator[LabSwarm]:
    if engine.lab_engine != "docker26":
        pytest.skip("the API's swarm routes are the pages' code: checked on Docker 26's swarm")
    with single_node_swarm(engine) as lab:
        yield lab


@pytest.fixture
def service(api_swarm: LabSwarm) -> Iterator[str]:
    spec = service_spec(f"dt-{RUN_ID}-api")
    container = spec["TaskTemplate"]["ContainerSpec"]
    container["Image"] = IMAGE
    container["Env"] = ["GREETING=hi", "API_TOKEN=s3cr3t"]
    sid = api_swarm.manager.services.create(spec)["ID"]
    api_swarm.wait_running(sid, 1, timeout=60)
    yield sid
    api_swarm.manager.services.remove(sid)


def test_a_token_lists_scales_and_force_updates_a_service(lab_settings, api_swarm, service):
    viewer = TokenClient(token_for("vera", "viewer"))
    listed = {s["ID"]: s for s in viewer.get("/api/v1/hosts/local/swarm/services/").json()}
    env = listed[service]["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert env == ["GREETING=hi", "API_TOKEN=••••••••"]
    base = f"/api/v1/hosts/local/swarm/services/{service}/"
    assert viewer.post(base + "scale/", {"replicas": 2}).status_code == 403

    operator = TokenClient(token_for("oscar", "operator"))
    resp = operator.post(base + "scale/", {"replicas": 2}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    api_swarm.wait_running(service, 2, timeout=60)
    resp = operator.post(base + "scale/", {"replicas": "many"}, content_type="application/json")
    assert resp.status_code == 400 and "replicas" in resp.json()["fields"]

    before = {t["ID"] for t in api_swarm.tasks_running(service)}
    assert operator.post(base + "force-update/").status_code == 200
    wait_for(
        lambda: (ids := {t["ID"] for t in api_swarm.tasks_running(service)}) and not ids & before,
        "redeployed tasks",
        timeout=60,
    )
    assert operator.post(base + "rollback/").status_code == 200
    done = AuditEntry.objects.filter(target_id=service, outcome=AuditEntry.OK).order_by("id")
    actions = list(done.values_list("action", "username"))
    assert actions == [
        ("service.scale", "oscar"),
        ("service.force_update", "oscar"),
        ("service.rollback", "oscar"),
    ]


def test_a_service_webhook_redeploys_with_the_tag_resolved_again(
    lab_settings, api_swarm, service, admin
):
    name = api_swarm.manager.services.inspect(service)["Spec"]["Name"]
    page = admin.post(
        "/settings/webhooks/", {"host": "local", "kind": "service", "target": name}
    ).content.decode()
    secret = re.search(r'id="webhook-secret">([^<]+)<', page).group(1)
    url = f"/api/v1/hooks/{Webhook.objects.get(target=name).key}/"
    hook = Client(enforce_csrf_checks=True)
    version = api_swarm.manager.services.inspect(service)["Version"]["Index"]
    assert hook.post(url, headers={HEADER: secret[:-1]}).status_code == 401
    assert api_swarm.manager.services.inspect(service)["Version"]["Index"] == version

    resp = hook.post(url, headers={HEADER: secret})
    assert resp.status_code == 200, resp.content
    assert re.fullmatch(re.escape(IMAGE) + r"@sha256:[0-9a-f]{64}", resp.json()["image"]), (
        resp.json()
    )
    spec = api_swarm.manager.services.inspect(service)["Spec"]
    image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
    assert re.fullmatch(re.escape(IMAGE) + r"@sha256:[0-9a-f]{64}", image), image
    assert spec["TaskTemplate"]["ForceUpdate"] >= 1
    entry = AuditEntry.objects.filter(action="webhook.service").latest("id")
    assert entry.outcome == "ok", entry.message
