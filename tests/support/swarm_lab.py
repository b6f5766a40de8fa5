"""The two-node lab swarm for the swarm tests: node 1 is the lab engine, node 2 the lab's
second engine (`lab/engine-lab` starts both). A module's `swarm` fixture makes the swarm
(node 1 manager, node 2 worker) and undoes it at the module's end: the services, secrets
and configs this run labelled are removed and both nodes leave, so the other test modules
find node 1 out of any swarm, as they expect.

Import the fixtures into a test module (`from .support.swarm_lab import swarm, swarm_settings`)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from engine_client import EngineClient, EngineError

from .lab import LAB_DOCKER_HOST, LAB_IMAGE, REQUIRE_ENGINE, RUN_ID, TEST_LABEL, lacks

LAB_DOCKER_HOST2 = os.environ.get("DASHBOARD_TEST_DOCKER_HOST2") or "unix:///run/dl/n2.sock"
ADDR1 = os.environ.get("DASHBOARD_TEST_SWARM_ADDR1") or "10.99.0.1"
ADDR2 = os.environ.get("DASHBOARD_TEST_SWARM_ADDR2") or "10.99.0.2"
# The third lab engine's own address (Docker 26 swarms alone: a single-node swarm).
ADDR3 = os.environ.get("DASHBOARD_TEST_SWARM_ADDR3") or "10.99.3.1"


def swarm_addr(engine: EngineClient) -> str:
    """The address a lab engine advertises as a swarm manager."""
    return ADDR3 if getattr(engine, "lab_engine", "") == "docker26" else ADDR1


def needs_worker(engine: EngineClient) -> None:
    """Skip on the third lab engine: it swarms alone (the two-node tests run on the two
    20.10 engines, which share a link)."""
    lacks(engine, "docker26", "a second node (two-node swarm tests run on the 20.10 engines)")


LABEL = {"label": [f"{TEST_LABEL}={RUN_ID}"]}

T = TypeVar("T")


def wait_for(
    check: Callable[[], T],
    what: str,
    timeout: float = 45,
    every: float = 0.25,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll `check` until it returns something true; fail with `what` after `timeout` s (and
    what `describe` then says: the state a failure in a full run needs to be understood)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(EngineError):
            last = check()
            if last:
                return last
        time.sleep(every)
    said = ""
    if describe is not None:
        try:
            said = f"; {describe()}"
        except Exception as exc:  # noqa: BLE001 (a description must not hide the failure)
            said = f"; describing failed: {exc!r}"
    pytest.fail(f"timed out after {timeout:g} s waiting for {what} (last: {last!r}){said}")


def node2_client() -> EngineClient:
    client = EngineClient(LAB_DOCKER_HOST2, timeout=30)
    try:
        client.system.ping(timeout=5)
    except EngineError as exc:
        reason = f"no second lab engine at {LAB_DOCKER_HOST2} ({exc}); lab/engine-lab up starts it"
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return client


GWBRIDGE = "docker_gwbridge"


def has_gwbridge(client: EngineClient) -> bool:
    return any(n["Name"] == GWBRIDGE for n in client.networks.list(filters={"name": [GWBRIDGE]}))


def force_out(*clients: EngineClient, drop_gwbridge: bool = False) -> None:
    """Both nodes out of any swarm (workers first), whatever state a test left them in. With
    `drop_gwbridge`, also the bridge the engine made for the swarm when it joined (leaving
    keeps it): for a node that did not have it before."""
    for client in clients:
        with contextlib.suppress(EngineError):
            if client.swarm.local_state()["state"] != "inactive":
                client.swarm.leave(force=True)
        if drop_gwbridge:
            # The engine detaches its own endpoints from it a moment after leaving; when its
            # leave timed out on the ingress network (20.10 does, now and then) the bridge
            # stays in use until the node joins a swarm again: best effort, not a failure.
            deadline = time.monotonic() + 10
            while not _gone(client) and time.monotonic() < deadline:
                time.sleep(0.25)


def ingress_ready(client: EngineClient) -> bool:
    """The swarm's ingress network set up on this node (its sandbox on the gateway bridge).
    A node leaving before that (a second after init) leaves a stale ingress network behind
    on API 1.41 ("timeout while waiting for ingress network removal" in the engine's log)."""
    with contextlib.suppress(EngineError):
        return "ingress-sbox" in (client.networks.inspect(GWBRIDGE).get("Containers") or {})
    return False


def _gone(client: EngineClient) -> bool:
    try:
        client.networks.remove(GWBRIDGE)
    except EngineError as exc:
        return "not found" in exc.message.lower()
    return True


def run_task_containers(client: EngineClient) -> list[str]:
    """Containers of this run's services' tasks on a node (test services are named
    dt-<run id>-...; the engine labels task containers with their service's name)."""
    rows = client.containers.list(all=True, filters={"label": ["com.docker.swarm.service.name"]})
    prefix = f"dt-{RUN_ID}-"
    return [
        r["Id"]
        for r in rows
        if (r.get("Labels") or {}).get("com.docker.swarm.service.name", "").startswith(prefix)
    ]


def no_task_containers(*clients: EngineClient) -> bool:
    return not any(run_task_containers(c) for c in clients)


def remove_task_containers(*clients: EngineClient) -> None:
    """What a node left behind of this run's tasks (a node that left or was removed while
    its tasks were stopping keeps their containers: nobody tells it to remove them)."""
    for client in clients:
        for cid in run_task_containers(client):
            with contextlib.suppress(EngineError):
                client.containers.remove(cid, force=True)


def clean_swarm(manager: EngineClient, *nodes: EngineClient) -> None:
    """What this run made in the swarm: services (first: they use the rest), secrets, configs;
    then until the nodes' task containers are gone (a node leaving with tasks still stopping
    keeps their networks)."""
    with contextlib.suppress(EngineError):
        for s in manager.services.list(filters=LABEL, status=False):
            with contextlib.suppress(EngineError):
                manager.services.remove(s["ID"])
    # Best effort: what is still there after this is removed once the nodes left.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not no_task_containers(manager, *nodes):
        time.sleep(0.25)
        for api in (manager.secrets, manager.configs):
            for obj in api.list(filters=LABEL):
                # A removed service's tasks may hold it a moment longer.
                wait_for(lambda o=obj, a=api: _removed(a, o["ID"]), f"removal of {obj['ID']}", 20)


def _removed(api: Any, ref: str) -> bool:
    try:
        api.remove(ref)
    except EngineError as exc:
        return "not found" in exc.message.lower() or "no such" in exc.message.lower()
    return True


@dataclass
class LabSwarm:
    manager: EngineClient
    worker: EngineClient | None  # None: a single-node swarm (the third lab engine)
    manager_id: str
    worker_id: str

    @property
    def clients(self) -> list[EngineClient]:
        return [c for c in (self.manager, self.worker) if c is not None]

    @property
    def node_ids(self) -> set[str]:
        return {i for i in (self.manager_id, self.worker_id) if i}

    def tasks_running(self, service: str) -> list[dict[str, Any]]:
        tasks = self.manager.tasks.list(
            filters={"service": [service], "desired-state": ["running"]}
        )
        return [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]

    def nodes_of(self, service: str) -> set[str]:
        return {t["NodeID"] for t in self.tasks_running(service)}

    def wait_running(self, service: str, n: int, timeout: float = 45) -> list[dict[str, Any]]:
        """Until exactly `n` tasks run (and no others are still on their way)."""

        def done() -> list[dict[str, Any]] | bool:
            running = self.tasks_running(service)
            want = self.manager.tasks.list(
                filters={"service": [service], "desired-state": ["running"]}
            )
            return running if len(running) == n and len(want) == n else False

        return wait_for(done, f"{n} running tasks of {service}", timeout) if n else []


def make_swarm(manager: EngineClient, worker: EngineClient) -> LabSwarm:
    for client, name in ((manager, LAB_DOCKER_HOST), (worker, LAB_DOCKER_HOST2)):
        state = client.swarm.local_state()["state"]
        if state != "inactive":
            pytest.fail(f"{name} is already in a swarm ({state}): the swarm tests need it out")
    manager_id = manager.swarm.init(f"{ADDR1}:2377", ADDR1)
    token = manager.swarm.inspect()["JoinTokens"]["Worker"]
    worker.swarm.join([f"{ADDR1}:2377"], token, f"{ADDR2}:2377", ADDR2)
    worker_id = worker.swarm.local_state()["node_id"]

    def ready() -> bool:
        nodes = manager.nodes.list()
        return len(nodes) == 2 and all(n["Status"]["State"] == "ready" for n in nodes)

    wait_for(ready, "both nodes ready")
    return LabSwarm(manager, worker, manager_id, worker_id)


@contextlib.contextmanager
def two_node_swarm(manager: EngineClient) -> Iterator[LabSwarm]:
    """The lab's two engines as a swarm, taken apart again afterwards (what it made only)."""
    worker = node2_client()
    force_out(worker)  # a worker a killed run left behind (node 1's state is checked)
    fresh = [c for c in (worker, manager) if not has_gwbridge(c)]
    lab = make_swarm(manager, worker)
    try:
        yield lab
    finally:
        try:
            clean_swarm(manager, worker)
        finally:
            force_out(worker, manager)
            remove_task_containers(worker, manager)
            force_out(*fresh, drop_gwbridge=True)
            worker.close()


@contextlib.contextmanager
def single_node_swarm(manager: EngineClient) -> Iterator[LabSwarm]:
    """The engine alone as a swarm (on its own address), taken apart again afterwards."""
    if (state := manager.swarm.local_state()["state"]) != "inactive":
        pytest.fail(f"{manager.lab_url} is already in a swarm ({state}): the tests need it out")
    fresh = not has_gwbridge(manager)
    addr = swarm_addr(manager)
    manager_id = manager.swarm.init(f"{addr}:2377", addr)
    wait_for(lambda: ingress_ready(manager), "the ingress network")
    try:
        yield LabSwarm(manager, None, manager_id, "")
    finally:
        try:
            clean_swarm(manager)
        finally:
            force_out(manager)
            remove_task_containers(manager)
            if fresh:
                force_out(manager, drop_gwbridge=True)


@pytest.fixture(scope="module")
def swarm(engine: EngineClient) -> Iterator[LabSwarm]:
    """The lab swarm: both 20.10 engines (node 1 manager, node 2 worker); on the third lab
    engine (Docker 26), that engine alone."""
    lacks(engine, "podman", "swarm mode")
    make = single_node_swarm if engine.lab_engine == "docker26" else two_node_swarm
    with make(engine) as lab:
        yield lab


@pytest.fixture
def swarm_settings(lab_settings: Any, engine: EngineClient) -> Iterator[Any]:
    """The dashboard's hosts: `local` (node 1) and `node2`."""
    from dashboard.engines import reset_clients

    lacks(engine, "podman", "swarm mode")
    lab_settings.DASHBOARD_HOSTS = f"node2={LAB_DOCKER_HOST2}"
    reset_clients()
    yield lab_settings
    reset_clients()


def service_spec(name: str, replicas: int = 1, **extra: Any) -> dict[str, Any]:
    """A labelled service printing its hostname every half second."""
    from engine_client.service_spec import Policy, ServiceSpec

    fast = Policy(parallelism=0, monitor=10**9)
    spec = ServiceSpec(
        name=name,
        image=LAB_IMAGE,
        replicas=replicas,
        args=["sh", "-c", "while true; do echo hello from $(hostname); sleep 0.5; done"],
        labels={TEST_LABEL: RUN_ID},
        stop_grace=10**8,
        update=fast,
        rollback=Policy(parallelism=0, monitor=10**9),
        **extra,
    )
    return spec.body()
