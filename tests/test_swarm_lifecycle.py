"""The swarm's lifecycle from the dashboard, on the two lab engines: init and leave a
single-node swarm, a second host joining as a worker (token fetched server-side), tokens
masked until revealed (each reveal audited), settings, and who may do any of it."""

from __future__ import annotations

import pytest

from dashboard.models import AuditEntry

from .support.lab import lacks
from .support.swarm_lab import (
    ADDR1,
    ADDR2,
    force_out,
    has_gwbridge,
    ingress_ready,
    needs_worker,
    node2_client,
    swarm_addr,
    swarm_settings,
    wait_for,
)

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

__all__ = ["swarm_settings"]
SWARM = "/hosts/local/swarm/"
SWARM2 = "/hosts/node2/swarm/"


@pytest.fixture
def out_of_swarm(engine):
    lacks(engine, "podman", "swarm mode")
    """Both lab engines out of any swarm before and after the test."""
    worker = node2_client()
    force_out(worker)
    if engine.swarm.local_state()["state"] != "inactive":
        pytest.fail("the lab engine is in a swarm: the swarm tests need it out")
    fresh = [c for c in (worker, engine) if not has_gwbridge(c)]
    yield engine, worker
    force_out(worker, engine)
    force_out(*fresh, drop_gwbridge=True)
    worker.close()


def test_init_reveal_settings_and_leave_a_single_node_swarm(swarm_settings, admin, out_of_swarm):
    engine, _ = out_of_swarm
    addr = swarm_addr(engine)
    html = admin.get(SWARM).content.decode()
    assert 'data-swarm-state="inactive"' in html and 'id="swarm-init"' in html

    # Bad input: beside the field, nothing sent.
    resp = admin.post(f"{SWARM}init/", {"advertise_addr": "not an address!", "subnet_size": "40"})
    assert resp.status_code == 400
    body = resp.content.decode()
    assert (
        "neither an IP address nor an interface name" in body and "less than or equal to 29" in body
    )
    assert engine.swarm.local_state()["state"] == "inactive"

    resp = admin.post(
        f"{SWARM}init/",
        {
            "advertise_addr": addr,
            "listen_addr": f"{addr}:2377",
            "default_addr_pool": "10.123.0.0/16",
            "subnet_size": "26",
        },
    )
    assert resp.status_code == 302, resp.content[:800]
    state = engine.swarm.local_state()
    assert state["state"] == "active" and state["manager"] and state["node_addr"] == addr
    swarm = engine.swarm.inspect()
    assert swarm["DefaultAddrPool"] == ["10.123.0.0/16"] and swarm["SubnetSize"] == 26

    # Tokens are masked on the page; a reveal shows one and is audited.
    tokens = swarm["JoinTokens"]
    html = admin.get(SWARM).content.decode()
    assert tokens["Worker"] not in html and tokens["Manager"] not in html
    assert "SWMTKN-1-••••••••" in html
    resp = admin.hx_post(f"{SWARM}tokens/reveal/", {"role": "manager"}, "token-manager-value")
    assert resp.status_code == 200 and tokens["Manager"] in resp.content.decode()
    entry = AuditEntry.objects.get(action="swarm.token.reveal")
    assert entry.params == {"role": "manager"} and entry.outcome == AuditEntry.OK
    assert tokens["Manager"] not in str(AuditEntry.objects.values_list("params", flat=True))

    resp = admin.hx_post(f"{SWARM}tokens/rotate/", {"role": "worker"}, "token-worker")
    assert resp.status_code == 200
    assert engine.swarm.inspect()["JoinTokens"]["Worker"] != tokens["Worker"]

    # Settings: a bad duration is refused beside its field; good ones reach the swarm.
    settings = {"task_history": "3", "heartbeat": "7s", "cert_expiry": "soon", "autolock": ""}
    resp = admin.hx_post(f"{SWARM}settings/", settings, "swarm-settings")
    assert resp.status_code == 400 and "a duration such as" in resp.content.decode()
    resp = admin.hx_post(f"{SWARM}settings/", {**settings, "cert_expiry": "720h"}, "swarm-settings")
    assert resp.status_code == 200 and resp["HX-Redirect"] == SWARM
    spec = engine.swarm.inspect()["Spec"]
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    assert spec["Dispatcher"]["HeartbeatPeriod"] == 7 * 10**9
    assert spec["CAConfig"]["NodeCertExpiry"] == 720 * 3600 * 10**9

    # Autolock: the unlock key is shown only to an admin who asks, and each reveal audited.
    resp = admin.hx_post(
        f"{SWARM}settings/", {**settings, "cert_expiry": "720h", "autolock": "on"}, "swarm-settings"
    )
    assert resp.status_code == 200
    key = engine.swarm.unlock_key()
    assert key.startswith("SWMKEY-1-") and key not in admin.get(SWARM).content.decode()
    resp = admin.hx_post(f"{SWARM}unlock-key/", {}, "unlock-key")
    assert resp.status_code == 200 and key in resp.content.decode()
    assert key not in str(list(AuditEntry.objects.values_list("params", "message")))

    # Leaving: the page says what is lost; a manager must force it.
    wait_for(lambda: ingress_ready(engine), "the ingress network set up")
    html = admin.get(f"{SWARM}leave/").content.decode()
    assert "last manager" in html and "every service" in html
    resp = admin.post(f"{SWARM}leave/", {})
    assert resp.status_code == 400 and "only when forced" in resp.content.decode()
    assert engine.swarm.local_state()["state"] == "active"
    resp = admin.post(f"{SWARM}leave/", {"force": "on"})
    assert resp.status_code == 302
    assert engine.swarm.local_state()["state"] == "inactive"
    # What the dashboard did (refused posts and bad forms are in the trail too, by route name).
    done = AuditEntry.objects.filter(action__contains=".").order_by("id")
    actions = list(done.values_list("action", "outcome"))
    assert actions == [
        ("swarm.init", "ok"),
        ("swarm.token.reveal", "ok"),
        ("swarm.token.rotate", "ok"),
        ("swarm.update", "ok"),
        ("swarm.update", "ok"),
        ("swarm.unlockkey.reveal", "ok"),
        ("swarm.leave", "ok"),
    ]


def test_a_second_host_joins_as_a_worker_and_is_listed_ready(swarm_settings, admin, out_of_swarm):
    engine, worker = out_of_swarm
    needs_worker(engine)
    engine.swarm.init(f"{ADDR1}:2377", ADDR1)
    html = admin.get(SWARM2).content.decode()
    assert 'id="swarm-join"' in html and '<option value="local">local</option>' in html

    # The manager's token is fetched by the dashboard: it never passes through the page.
    data = {
        "manager_host": "local",
        "role": "worker",
        "advertise_addr": ADDR2,
        "listen_addr": f"{ADDR2}:2377",
    }
    resp = admin.post(f"{SWARM2}join/", data)
    assert resp.status_code == 302, resp.content[:800]
    state = worker.swarm.local_state()
    assert state["state"] == "active" and not state["manager"]

    # The worker's own page says where to go; its services page is not an engine error.
    html = admin.get(SWARM2).content.decode()
    assert "This engine is a swarm worker; manage the swarm from a manager host." in html
    resp = admin.get(f"{SWARM2}services/")
    assert resp.status_code == 200
    assert "This engine is a swarm worker" in resp.content.decode()

    def listed_ready():
        html = admin.get(f"{SWARM}nodes/").content.decode()
        return 'data-hostname="' in html and html.count('data-state="ready"') == 2 and html

    html = wait_for(listed_ready, "both nodes listed as ready")
    assert f'id="node-{state["node_id"]}"' in html
    entry = AuditEntry.objects.get(action="swarm.join")
    assert entry.host == "node2" and entry.params["manager_host"] == "local"

    # A bad token is refused beside the form, and nothing changes.
    force_out(worker)
    resp = admin.post(
        f"{SWARM2}join/",
        {"role": "worker", "token": "SWMTKN-1-nope", "remote_addr": f"{ADDR1}:2377"},
    )
    assert resp.status_code == 400 and "a join token looks like" in resp.content.decode()
    assert worker.swarm.local_state()["state"] == "inactive"


def test_pages_of_a_host_not_in_a_swarm_say_so(swarm_settings, admin, viewer, out_of_swarm):
    for path in ("services/", "nodes/", "secrets/", "configs/"):
        resp = admin.get(SWARM + path)
        assert resp.status_code == 200, path
        assert "This engine is not in a swarm." in resp.content.decode()
    resp = viewer.get(f"{SWARM}services/")
    assert resp.status_code == 200 and "not in a swarm" in resp.content.decode()
    # htmx actions get the reason beside what was acted on.
    resp = admin.hx_post(f"{SWARM}services/abc/scale/", {"replicas": "2"}, "service-scale")
    assert resp.status_code == 409 and resp["HX-Retarget"] == "#service-scale-msg"
    assert "not in a swarm" in resp.content.decode()


ADMIN_ONLY_GET = ["", "nodes/", "nodes/somenode/", "leave/", "services/new/"]
ADMIN_ONLY_POST = [
    "init/",
    "join/",
    "leave/",
    "tokens/reveal/",
    "tokens/rotate/",
    "settings/",
    "unlock-key/",
    "unlock/",
    "nodes/somenode/availability/",
    "nodes/somenode/role/",
    "nodes/somenode/labels/",
    "nodes/somenode/remove/",
    "services/new/",
    "services/svc/remove/",
    "secrets/",
    "configs/",
    "secrets/s/remove/",
    "configs/c/remove/",
]
OPERATOR_POST = [
    "services/svc/scale/",
    "services/svc/image/",
    "services/svc/force/",
    "services/svc/rollback/",
]


def test_operators_cannot_touch_the_swarm_or_nodes(lab_settings, operator, viewer):
    for path in ADMIN_ONLY_GET:
        assert operator.get(SWARM + path).status_code == 403, path
    for path in ADMIN_ONLY_POST:
        assert operator.post(SWARM + path, {"role": "worker"}).status_code == 403, path
    for path in ADMIN_ONLY_POST + OPERATOR_POST:
        assert viewer.post(SWARM + path, {"replicas": "1"}).status_code == 403, path
    # Each refusal is in the audit trail as one, and nothing was asked of the engine.
    outcomes = list(AuditEntry.objects.values_list("outcome", flat=True))
    assert outcomes == [AuditEntry.DENIED] * (2 * len(ADMIN_ONLY_POST) + len(OPERATOR_POST))
