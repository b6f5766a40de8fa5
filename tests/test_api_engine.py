"""The JSON API against the lab engines: a token's script lists, stops and starts, reads a
log's tail, is told an engine's refusal in the engine's words, and pulls with progress; a
CI job's webhook redeploys a compose project (pull, up), and a wrong secret does nothing."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from django.test import Client

from dashboard import compose_runs
from dashboard.api.hooks import HEADER
from dashboard.models import AuditEntry, Webhook
from engine_client.projects import PROJECT_LABEL

from .support.api import TokenClient, token_for
from .support.compose import down_by_name, require_compose
from .support.lab import LAB_REGISTRY, RUN_ID, TEST_LABEL

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_lists_stops_starts_and_tails(lab_settings, engine, make_container):
    c = make_container(["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; sleep 300"])
    client = TokenClient(token_for("oscar", "operator"))
    base = f"/api/v1/hosts/local/containers/{c['Id']}/"
    listed = client.get("/api/v1/hosts/local/containers/").json()
    assert c["Id"] in [row["Id"] for row in listed]

    resp = client.post(base + "stop/", {"t": 0}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is False
    running = client.get("/api/v1/hosts/local/containers/?all=0").json()
    assert c["Id"] not in [row["Id"] for row in running]
    assert client.post(base + "start/").status_code == 200
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is True
    actions = list(
        AuditEntry.objects.filter(target_id=c["Id"]).values_list("action", "outcome", "username")
    )
    assert actions == [
        ("container.start", "ok", "oscar"),
        ("container.stop", "ok", "oscar"),
    ]

    resp = client.get(base + "logs/?tail=2")
    assert resp["Content-Type"].startswith("text/plain")
    assert resp.content.decode().splitlines()[-2:] == ["line-4", "line-5"]
    assert client.get(base).json()["Id"] == c["Id"]


def test_an_engine_refusal_is_shown_as_the_engine_said_it(lab_settings, engine, make_container):
    c = make_container()
    client = TokenClient(token_for("alice", "admin"))
    resp = client.post(f"/api/v1/hosts/local/containers/{c['Id']}/remove/")
    assert resp.status_code == 409
    body = resp.json()
    # Docker 20.10: "You cannot remove a running container"; 26: "container is running".
    assert "running" in body["engine"].lower()
    assert body["error"] == f"the engine said: {body['engine']}"
    entry = AuditEntry.objects.get(action="container.remove")
    assert entry.outcome == "failed" and entry.message == body["engine"]
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is True
    missing = client.get("/api/v1/hosts/local/containers/no-such-thing-here/")
    assert missing.status_code == 404 and missing.json()["engine"]


def test_a_pull_streams_the_engines_progress(request, lab_settings, engine):
    if engine.lab_engine != "docker":
        pytest.skip("one engine is enough: the progress is the engine's own stream")
    registry_image = request.getfixturevalue("registry_image")
    client = TokenClient(token_for("alice", "admin"))
    resp = client.post(
        "/api/v1/hosts/local/images/pull/",
        {"reference": registry_image},
        content_type="application/json",
    )
    try:
        assert resp.status_code == 200, resp.content
        assert resp["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in b"".join(resp).splitlines()]
        assert any("Downloaded newer image" in str(o.get("status")) for o in lines), lines
        assert engine.images.inspect(registry_image)["Id"]
        entry = AuditEntry.objects.get(action="image.pull")
        assert entry.outcome == "ok" and entry.target_id == registry_image
    finally:
        engine.images.remove(registry_image, force=True)
    bad = client.post("/api/v1/hosts/local/images/pull/", {"reference": "no spaces allowed"})
    assert bad.status_code == 400, bad.content
    assert "reference" in bad.json()["fields"]


@pytest.fixture
def compose_lab(lab_settings, engine, tmp_path):
    """The lab's compose and a stacks directory of the test's own; the project is brought
    down afterwards."""
    if engine.lab_engine != "docker":
        pytest.skip("one engine is enough: the run is the compose runner's, tested on each")
    binary = require_compose()
    lab_settings.COMPOSE_BIN = binary
    lab_settings.STACKS_DIR = tmp_path / "stacks"
    lab_settings.COMPOSE_TIMEOUT = 120
    compose_runs._binary.clear()
    name = f"dtw-{RUN_ID}-{secrets.token_hex(3)}"
    yield name
    down_by_name(binary, engine.lab_url, name)
    compose_runs._binary.clear()


def test_a_webhook_redeploys_a_compose_project(compose_lab, engine, admin):
    name = compose_lab
    compose = (
        "services:\n  web:\n"
        f"    image: {LAB_REGISTRY}/lab/busybox:latest\n"
        "    command: [sleep, '300']\n"
        f"    labels: {{{TEST_LABEL}: '{RUN_ID}'}}\n"
    )
    resp = admin.post("/hosts/local/projects/_new/", {"name": name, "compose": compose, "env": ""})
    assert resp.status_code in (200, 302), resp.content[:500]
    page = admin.post(
        "/settings/webhooks/", {"host": "local", "kind": "project", "target": name}
    ).content.decode()
    secret = re.search(r'id="webhook-secret">([^<]+)<', page).group(1)
    key = Webhook.objects.get(target=name).key
    url = f"/api/v1/hooks/{key}/"
    hook = Client(enforce_csrf_checks=True)

    # Refused, and nothing run: a wrong secret, the secret in the URL.
    assert hook.post(url, headers={HEADER: secret + "x"}).status_code == 401
    assert hook.post(f"{url}?secret={secret}").status_code == 400
    assert not engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})

    resp = hook.post(url, headers={HEADER: secret})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert [s["command"] for s in body["steps"]] == [
        f"compose -p {name} pull",
        f"compose -p {name} up -d --remove-orphans",
    ]
    running = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
    assert len(running) == 1 and running[0]["State"] == "running"
    outcomes = list(
        AuditEntry.objects.filter(action="webhook.project").values_list("outcome", flat=True)
    )
    assert sorted(outcomes) == ["denied", "denied", "ok"]
