"""Shared fixtures and hooks: the lab engine, containers that clean themselves up, personas,
the stream hub. Only fixtures and hooks: helpers and constants are in tests/support/."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

# Dashboards the tests start evaluate no alert rules unless a test asks (DASHBOARD_ALERTS_WATCH=1
# in its own environment): a watcher in every test's server would only add load.
os.environ.setdefault("DASHBOARD_ALERTS_WATCH", "0")
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, User

from dashboard.engines import forget_db_hosts
from dashboard.streams.hub import Hub, get_hub
from engine_client import EngineClient, EngineError

from .support.clients import CsrfClient, cookie_of, persona
from .support.lab import (
    LAB_IMAGE,
    LAB_REGISTRY,
    REQUIRE_ENGINE,
    RUN_ID,
    TEST_ENGINES,
    TEST_LABEL,
    TEST_REPO,
    browser_test_is_wanted,
    build_image,
    engine_of,
    engine_or_reason,
    lab_netns,
    mark_engine_tests,
    require,
)
from .support.processes import stop
from .support.registry import AuthRegistry, registry_delete_manifest, registry_http


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_engine_tests(items)
    # tests/split_run.py's second half: only the tests parametrised by an engine (the rest run
    # in the first half, once).
    only_engine = os.environ.get("DASHBOARD_TEST_ONLY_ENGINE") == "1"
    # The tests that need no lab engine run in one process only: the one with
    # DASHBOARD_TEST_WITH_FREE=1, while the first says DASHBOARD_TEST_NO_FREE=1.
    with_free = os.environ.get("DASHBOARD_TEST_WITH_FREE") == "1"
    no_free = os.environ.get("DASHBOARD_TEST_NO_FREE") == "1"
    # The container image's tests (a build and several containers on Docker 26, some 100 s)
    # run in Docker 26's process (tests/split_run.py: "with"), nowhere else ("skip").
    image = os.environ.get("DASHBOARD_TEST_IMAGE_TESTS", "")
    keep, drop = [], []
    for item in items:
        wanted = browser_test_is_wanted(item)
        # A test on an engine of its own (`fault`: one it stops and starts) or on none
        # (`no_lab`) needs no lab engine either: it goes with the engine-free tests, out of
        # the longest process.
        free = not item.get_closest_marker("engine") or (
            any(item.get_closest_marker(m) for m in ("fault", "no_lab")) and engine_of(item) is None
        )
        if only_engine:
            callspec = getattr(item, "callspec", None)
            param = callspec is not None and "engine" in callspec.params
            wanted = wanted and (param or (with_free and free))
        if no_free:
            wanted = wanted and not free
        is_image = bool(item.get_closest_marker("image"))
        if image == "with" and is_image:
            wanted = True  # beside this process's own tests (split_run: Docker 26's)
        elif image in ("only", "skip"):
            wanted = wanted and (image == "only") == is_image
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=TEST_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[EngineClient]:
    """A lab engine's client, once per engine (docker, podman, docker26); skips without one (fails
    with DASHBOARD_REQUIRE_ENGINE=1)."""
    client, reason = engine_or_reason(request.param)
    if client is None:
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield client
    # Whatever this run made and a test did not remove (a test that died half-way).
    for row in client.containers.list(all=True, filters={"label": [f"{TEST_LABEL}={RUN_ID}"]}):
        with contextlib.suppress(EngineError):
            client.containers.remove(row["Id"], force=True, volumes=True)
    client.close()


@pytest.fixture
def make_container(engine: EngineClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create (and by default start) a labelled container; force-removed after the test."""
    made: list[str] = []

    def make(
        cmd: list[str] | None = None, *, start: bool = True, name: str | None = None, **config: Any
    ) -> dict[str, Any]:
        name = name or f"dt-{RUN_ID}-{secrets.token_hex(3)}"
        labels = {TEST_LABEL: RUN_ID, **config.pop("Labels", {})}
        body = {
            "Image": LAB_IMAGE,
            "Cmd": cmd or ["sleep", "300"],
            "Labels": labels,
            # A stop needs no grace period in tests: sleep ignores SIGTERM as PID 1.
            "StopTimeout": 1,
            **config,
        }
        created = engine.containers.create(body, name=name)
        made.append(created["Id"])
        if start:
            engine.containers.start(created["Id"])
        return engine.containers.inspect(created["Id"])

    yield make
    for cid in made:
        with contextlib.suppress(EngineError):
            engine.containers.remove(cid, force=True, volumes=True)


@pytest.fixture
def lab_settings(settings: Any, engine: EngineClient) -> Iterator[Any]:
    """Point the dashboard's one host at the lab engine under test."""
    from dashboard.engines import reset_clients

    settings.DOCKER_HOST = engine.lab_url
    settings.DASHBOARD_HOST_NAME = "local"
    reset_clients()
    yield settings
    reset_clients()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # Personas are made in many tests: the production hasher would spend ~0.4 s on each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_hosts_from_another_test() -> Iterator[None]:
    # The dashboard keeps the database's hosts for two seconds; a test's rolled-back rows
    # (a rollback sends no signal to clear it) must not show in the next test.
    yield
    forget_db_hosts()


@pytest.fixture
def admin(db: Any) -> CsrfClient:
    return persona("alice-admin", "admin")


@pytest.fixture
def operator(db: Any) -> CsrfClient:
    return persona("oscar-operator", "operator")


@pytest.fixture
def viewer(db: Any) -> CsrfClient:
    return persona("vera-viewer", "viewer")


@pytest.fixture
def anonymous(db: Any) -> CsrfClient:
    return CsrfClient()


# -- images, volumes, networks, registries ------------------------------------------------


@pytest.fixture(scope="session")
def netns(engine: EngineClient) -> str:
    ns = lab_netns(engine.lab_url)
    if ns is None:
        require(f"cannot tell the network namespace of {engine.lab_url} (DASHBOARD_TEST_NETNS)")
    return ns


@pytest.fixture
def image_tags(engine: EngineClient) -> Iterator[Callable[[str], str]]:
    """Record image references or IDs a test makes; each is force-removed afterwards."""
    made: list[str] = []

    def track(ref: str) -> str:
        made.append(ref)
        return ref

    yield track
    for ref in reversed(made):
        with contextlib.suppress(EngineError):
            engine.images.remove(ref, force=True)


@pytest.fixture(scope="session")
def resource_sweeper(engine: EngineClient) -> Iterator[None]:
    """At the end of the run: whatever this run labelled and a test left behind (a test that
    died half-way), containers first so that their volumes and networks are free."""
    yield
    label = {"label": [f"{TEST_LABEL}={RUN_ID}"]}
    for row in engine.containers.list(all=True, filters=label):
        with contextlib.suppress(EngineError):
            engine.containers.remove(row["Id"], force=True, volumes=True)
    for v in engine.volumes.list(filters=label):
        with contextlib.suppress(EngineError):
            engine.volumes.remove(v["Name"], force=True)
    for n in engine.networks.list(filters=label):
        with contextlib.suppress(EngineError):
            engine.networks.remove(n["Id"])
    for img in engine.images.list(all=True, filters=label):
        with contextlib.suppress(EngineError):
            engine.images.remove(img["Id"], force=True)


@pytest.fixture
def make_volume(engine: EngineClient, resource_sweeper: None) -> Iterator[Callable[..., dict]]:
    """Create a labelled volume; removed after the test (after the test's containers)."""
    made: list[str] = []

    def make(name: str | None = None, labels: dict[str, str] | None = None, **kw: Any) -> dict:
        name = name or f"dt-{RUN_ID}-{secrets.token_hex(3)}"
        made.append(name)
        return engine.volumes.create(name, labels={TEST_LABEL: RUN_ID, **(labels or {})}, **kw)

    yield make
    for name in made:
        with contextlib.suppress(EngineError):
            engine.volumes.remove(name, force=True)


@pytest.fixture
def make_network(engine: EngineClient, resource_sweeper: None) -> Iterator[Callable[..., dict]]:
    """Create a labelled network; removed after the test (its containers disconnected)."""
    made: list[str] = []

    def make(name: str | None = None, labels: dict[str, str] | None = None, **kw: Any) -> dict:
        name = name or f"dt-{RUN_ID}-{secrets.token_hex(3)}"
        created = engine.networks.create(name, labels={TEST_LABEL: RUN_ID, **(labels or {})}, **kw)
        made.append(created["Id"])
        return engine.networks.inspect(created["Id"])

    yield make
    for net in made:
        with contextlib.suppress(EngineError):
            for cid in engine.networks.inspect(net).get("Containers") or {}:
                engine.networks.disconnect(net, cid, force=True)
            engine.networks.remove(net)


@pytest.fixture(scope="session")
def registry_image(engine: EngineClient, netns: str) -> Iterator[str]:
    """A reference in the lab registry whose top layer this engine does not have (one random
    megabyte over the lab image), so that pulling it shows real per-layer progress. Tests
    remove their local copy before pulling; the pushed manifest is deleted at the end."""
    ref = f"{TEST_REPO}/blob:v1"
    build_image(engine, ref)
    try:
        from engine_client.images import read_progress

        read_progress(engine.images.push(ref))
    finally:
        with contextlib.suppress(EngineError):
            engine.images.remove(ref, force=True)
    yield ref
    with contextlib.suppress(Exception):
        registry_delete_manifest(netns, LAB_REGISTRY, f"dashboard-test/r{RUN_ID}/blob", "v1")


@pytest.fixture(scope="session")
def auth_registry(engine: EngineClient, netns: str) -> Iterator[AuthRegistry]:
    """A second registry in the engine's namespace that wants a login (htpasswd, bcrypt),
    started for this run on a free port and stopped at its end."""
    import shutil
    import subprocess
    import tempfile
    import time

    if not shutil.which("docker-registry") or not shutil.which("nsenter"):
        require("docker-registry or nsenter is missing (lab/engine-lab deps installs them)")
    import bcrypt

    username, password = "tester", secrets.token_urlsafe(12)
    tmp = tempfile.mkdtemp(prefix="dash-reg-")
    with open(f"{tmp}/htpasswd", "w") as f:
        f.write(f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()}\n")
    proc = None
    addr = ""
    for port in range(5101, 5131):
        addr = f"127.0.0.1:{port}"
        with open(f"{tmp}/config.yml", "w") as f:
            f.write(
                "version: 0.1\nlog: {level: warn}\n"
                f"storage: {{filesystem: {{rootdirectory: {tmp}/data}}}}\n"
                f"http: {{addr: {addr}}}\n"
                f"auth: {{htpasswd: {{realm: lab, path: {tmp}/htpasswd}}}}\n"
            )
        with open(f"{tmp}/registry.log", "ab") as log:
            proc = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{netns}"]
                + ["docker-registry", "serve", f"{tmp}/config.yml"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(Exception):
                if registry_http(netns, "GET", f"http://{addr}/v2/")["status"] == 401:
                    break
            time.sleep(0.1)
        if proc.poll() is None:
            break
        proc = None  # the port was taken: try the next one
    if proc is None:
        shutil.rmtree(tmp, ignore_errors=True)
        require(f"could not start a registry with login in {netns}")
    yield AuthRegistry(addr, username, password)
    stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def ui_label(engine: EngineClient) -> Iterator[str]:
    """Labels (key=value lines) for containers a test makes through the dashboard's forms:
    the run's label and one of the test's own; whatever carries it is removed afterwards."""
    case = uuid.uuid4().hex[:12]
    yield f"{TEST_LABEL}={RUN_ID}\n{TEST_LABEL}.case={case}"
    for row in engine.containers.list(all=True, filters={"label": [f"{TEST_LABEL}.case={case}"]}):
        with contextlib.suppress(EngineError):
            engine.containers.remove(row["Id"], force=True, volumes=True)


@pytest.fixture
def exec_operator(db: Any) -> CsrfClient:
    """An operator granted exec (the `exec` group)."""
    client = persona("olga-exec-operator", "operator")
    user = User.objects.get(username="olga-exec-operator")
    user.groups.add(Group.objects.get_or_create(name="exec")[0])
    return client


# -- websockets -----------------------------------------------------------------------


@pytest.fixture
def session_cookie(db: Any) -> tuple[bytes, bytes]:
    """The session cookie header of a logged-in user with no role, for a websocket test."""
    return cookie_of(persona("wendy-watcher", None))


@pytest.fixture
async def hub(settings: Any, request: pytest.FixtureRequest) -> AsyncIterator[Hub]:
    """The process's stream hub, quick to batch and to let go of a stream; afterwards every
    upstream is closed and the in-memory channel layer holds no group. A test module may
    set its own batch window (`STREAM_BATCH_SECONDS = ...`): the hub reads it when made."""
    settings.STREAM_LINGER_SECONDS = 0.3
    settings.STREAM_BATCH_SECONDS = getattr(request.module, "STREAM_BATCH_SECONDS", 0.02)
    h = get_hub()
    yield h
    h.close_all()
    get_channel_layer().groups.clear()


@pytest.fixture
def fake_host(settings: Any) -> Iterator[Any]:
    """Host "local" is a fake engine that records every request (a request it saw is
    something done); "extra" is a saved host."""
    from dashboard.engines import reset_clients
    from dashboard.models import EngineHost

    from .support.fakes import FakeEngine

    with FakeEngine("1.41") as fake:
        settings.DOCKER_HOST = fake.url
        settings.DASHBOARD_HOST_NAME = "local"
        settings.DASHBOARD_HOSTS = ""
        reset_clients()
        EngineHost.objects.create(name="extra", url="unix:///run/nonexistent/extra.sock")
        yield fake
        reset_clients()
