"""Swarm nodes from the dashboard on the two-node lab swarm: drain and activate, promote and
demote, labels used as a service constraint, versioned updates, forced removal."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal

import pytest

from dashboard.models import AuditEntry
from engine_client import Conflict, EngineError

from .support.lab import RUN_ID, TEST_LABEL
from .support.swarm_lab import (
    LAB_DOCKER_HOST2,
    needs_worker,
    no_task_containers,
    service_spec,
    swarm,
    swarm_settings,
    wait_for,
)

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

__all__ = ["swarm", "swarm_settings"]
NODES = "/hosts/local/swarm/nodes/"


@pytest.fixture(scope="module", autouse=True)
def _two_nodes(engine):
    """Node tests need the worker: not on the third lab engine (before its swarm is made)."""
    needs_worker(engine)


def new_name() -> str:
    return f"dt-{RUN_ID}-{secrets.token_hex(3)}"


@pytest.fixture
def service(swarm):
    """Create labelled services directly on the manager; removed after the test."""
    made = []

    def make(replicas: int = 1, **extra):
        created = swarm.manager.services.create(service_spec(new_name(), replicas, **extra))
        made.append(created["ID"])
        return created["ID"]

    yield make
    for sid in made:
        with contextlib.suppress(EngineError):
            swarm.manager.services.remove(sid)


def test_draining_the_worker_moves_its_tasks_to_the_manager(swarm_settings, admin, swarm, service):
    sid = service(4)
    swarm.wait_running(sid, 4)
    wait_for(lambda: swarm.nodes_of(sid) == {swarm.manager_id, swarm.worker_id}, "tasks on both")

    url = f"{NODES}{swarm.worker_id}/availability/"
    resp = admin.hx_post(url, {"availability": "drain"}, "node-actions")
    assert resp.status_code == 200 and resp["HX-Redirect"] == f"{NODES}{swarm.worker_id}/"
    wait_for(
        lambda: swarm.nodes_of(sid) == {swarm.manager_id} and len(swarm.tasks_running(sid)) == 4,
        "all four tasks on the manager",
    )
    html = admin.get(f"{NODES}{swarm.worker_id}/").content.decode()
    assert '<span class="badge avail-drain">drain</span>' in html

    resp = admin.hx_post(url, {"availability": "active"}, "node-actions")
    assert resp.status_code == 200
    assert swarm.manager.nodes.inspect(swarm.worker_id)["Spec"]["Availability"] == "active"
    entries = AuditEntry.objects.filter(action="node.availability").order_by("id")
    assert [e.params["availability"] for e in entries] == ["drain", "active"]
    assert all(e.target_id == swarm.worker_id for e in entries)

    resp = admin.hx_post(url, {"availability": "gone"}, "node-actions")
    assert resp.status_code == 400 and resp["HX-Retarget"] == "#node-actions-msg"


def test_promote_to_two_managers_and_demote_back(swarm_settings, admin, swarm):
    url = f"{NODES}{swarm.worker_id}/role/"
    resp = admin.hx_post(url, {"role": "manager"}, "node-actions")
    assert resp.status_code == 200

    def managers_reachable():
        nodes = swarm.manager.nodes.list(filters={"role": "manager"})
        return len(nodes) == 2 and all(
            n.get("ManagerStatus", {}).get("Reachability") == "reachable" for n in nodes
        )

    wait_for(managers_reachable, "two reachable managers")
    html = admin.get(NODES).content.decode()
    assert html.count('data-role="manager"') == 2
    wait_for(lambda: swarm.worker.swarm.local_state()["manager"], "node 2 managing")

    resp = admin.hx_post(url, {"role": "worker"}, "node-actions")
    assert resp.status_code == 200
    wait_for(lambda: len(swarm.manager.nodes.list(filters={"role": "manager"})) == 1, "one manager")
    wait_for(lambda: not swarm.worker.swarm.local_state()["manager"], "node 2 a worker again")
    done = AuditEntry.objects.filter(action__contains=".").order_by("id")
    assert [e.action for e in done] == ["node.promote", "node.demote"]


def test_a_node_label_places_a_service_on_that_node(swarm_settings, admin, swarm):
    key, value = f"{TEST_LABEL}.zone", f"z{RUN_ID}"
    url = f"{NODES}{swarm.worker_id}/labels/"
    resp = admin.hx_post(url, {"add": "bad key=1"}, "node-labels")
    assert resp.status_code == 400 and "label key" in resp.content.decode()
    resp = admin.hx_post(url, {"add": f"{key}={value}"}, "node-labels")
    assert resp.status_code == 200
    assert swarm.manager.nodes.inspect(swarm.worker_id)["Spec"]["Labels"] == {key: value}
    assert f"{key}={value}" in admin.get(NODES).content.decode()

    name = f"dt-{RUN_ID}-placed"
    form = {
        "name": name,
        "image": "lab/busybox:latest",
        "mode": "replicated",
        "replicas": "3",
        "command": "sleep 300",
        "constraints": f"node.labels.{key}=={value}",
        "labels": f"{TEST_LABEL}={RUN_ID}",
        "restart_condition": "any",
        "restart_delay": "1s",
        "update_parallelism": "1",
        "update_delay": "0s",
        "update_failure": "pause",
        "update_order": "stop-first",
        "rollback_parallelism": "1",
        "rollback_delay": "0s",
        "rollback_failure": "pause",
        "rollback_order": "stop-first",
        "stop_grace": "1s",
    }
    resp = admin.post("/hosts/local/swarm/services/new/", form)
    assert resp.status_code == 302, resp.content.decode()[-1500:]
    sid = resp["Location"].rstrip("/").rsplit("/", 1)[1]
    try:
        swarm.wait_running(sid, 3)
        assert swarm.nodes_of(sid) == {swarm.worker_id}, "only the labelled node runs them"
    finally:
        resp = admin.post(f"/hosts/local/swarm/services/{sid}/remove/")
        assert resp.status_code == 302
    resp = admin.hx_post(url, {"remove": key}, "node-labels")
    assert resp.status_code == 200
    assert swarm.manager.nodes.inspect(swarm.worker_id)["Spec"]["Labels"] == {}


def test_updates_retry_once_when_out_of_sequence_and_report_a_real_conflict(swarm):
    """A write from a stale read is refused by the engine ("update out of sequence"): the
    client reads again and retries once; when it keeps happening, the conflict is raised."""
    nodes = swarm.manager.nodes
    key = f"{TEST_LABEL}.race"
    calls = []

    def change_racing_once(spec):
        calls.append(1)
        if len(calls) == 1:  # someone else writes between our read and our write
            nodes.set_labels(swarm.worker_id, {key: "theirs"})
        spec["Labels"] = {**(spec.get("Labels") or {}), f"{key}.ours": "1"}

    nodes.update(swarm.worker_id, change_racing_once)
    labels = nodes.inspect(swarm.worker_id)["Spec"]["Labels"]
    assert len(calls) == 2 and labels == {key: "theirs", f"{key}.ours": "1"}, "nothing lost"

    def change_racing_always(spec):
        nodes.set_labels(swarm.worker_id, {key: f"theirs-{len(calls)}"})
        calls.append(1)
        spec["Labels"] = {}

    with pytest.raises(Conflict, match="update out of sequence"):
        nodes.update(swarm.worker_id, change_racing_always)
    assert nodes.inspect(swarm.worker_id)["Spec"]["Labels"], "the stale write never landed"
    nodes.set_labels(swarm.worker_id, remove=[key, f"{key}.ours"])


def _dockerd_pid(docker_host: str) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
            if any(a.endswith("dockerd") for a in args) and docker_host in args:
                return int(pid)
    pytest.fail(f"no dockerd serving {docker_host}")


# Last in the module: node 2 is out of the swarm afterwards (the module's teardown).
def test_a_stopped_worker_is_removed_only_when_forced(swarm_settings, admin, swarm):
    # The earlier tests' tasks gone from node 2 first: a node removed while its tasks are
    # stopping keeps their containers.
    wait_for(lambda: no_task_containers(swarm.worker), "node 2 without task containers")
    pid = _dockerd_pid(LAB_DOCKER_HOST2)
    os.kill(pid, signal.SIGSTOP)  # the worker's engine stops answering, as a hung machine
    try:
        url = f"{NODES}{swarm.worker_id}/remove/"
        resp = admin.hx_post(url, {}, "node-actions")
        assert resp.status_code in (400, 409, 502) and resp["HX-Retarget"] == "#node-actions-msg"
        assert "is not down and can&#x27;t be removed" in resp.content.decode()
        assert swarm.manager.nodes.inspect(swarm.worker_id)

        resp = admin.hx_post(url, {"force": "on"}, "node-actions")
        assert resp.status_code == 200 and resp["HX-Redirect"] == NODES
        assert [n["ID"] for n in swarm.manager.nodes.list()] == [swarm.manager_id]
        assert swarm.worker_id not in admin.get(NODES).content.decode()
    finally:
        os.kill(pid, signal.SIGCONT)
    done = AuditEntry.objects.filter(action="node.remove").order_by("id")
    outcomes = list(done.values_list("params", "outcome"))
    assert outcomes == [({"force": False}, "failed"), ({"force": True}, "ok")]
