"""Shared fixtures: the lab engine, containers that clean themselves up, personas."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from engine_client import EngineClient, EngineError

LAB_DOCKER_HOST = os.environ.get("DASHBOARD_TEST_DOCKER_HOST") or "unix:///run/dl/n1.sock"
# The lab's Podman service (its Docker-compatible API): engine-facing tests run against both.
LAB_PODMAN_HOST = os.environ.get("DASHBOARD_TEST_PODMAN_HOST") or "unix:///run/dl/p.sock"
# The lab's third engine, Docker 26 (API 1.45): lab/engine-lab puts its socket (n3.sock)
# beside the first engine's.
LAB_DOCKER26_HOST = os.environ.get("DASHBOARD_TEST_DOCKER26_HOST") or (
    LAB_DOCKER_HOST.removesuffix("/n1.sock") + "/n3.sock"
    if LAB_DOCKER_HOST.endswith("/n1.sock")
    else "unix:///run/dl/n3.sock"
)
LAB_ENGINES = {"docker": LAB_DOCKER_HOST, "podman": LAB_PODMAN_HOST, "docker26": LAB_DOCKER26_HOST}
# DASHBOARD_TEST_ENGINES=docker (or podman, docker26, a list) runs the engine-facing tests
# against those only.
TEST_ENGINES = [
    e
    for e in (os.environ.get("DASHBOARD_TEST_ENGINES") or "docker,podman,docker26").split(",")
    if e
]
LAB_IMAGE = os.environ.get("DASHBOARD_TEST_IMAGE") or "lab/busybox:latest"
# Every resource a test makes carries these labels; the run's own value lets the session
# clean-up find what this run made, and only that.
TEST_LABEL = "dashboard.test"
RUN_ID = uuid.uuid4().hex[:12]
REQUIRE_ENGINE = os.environ.get("DASHBOARD_REQUIRE_ENGINE", "") not in ("", "0")


# Browser tests drive the pages (the same for every engine) on top of the engine client:
# against Podman only these run, the live ones, which keep the suite's time within budget.
PODMAN_BROWSER_TESTS = {
    "test_a_person_stops_a_container_and_its_row_changes_without_a_reload",
    "test_the_logs_page_shows_a_line_printed_after_it_loaded",
    "test_a_pull_shows_progress_bars_and_the_image_appears_in_the_list",
}
# Against Docker 26 none: what differs there is the engine client's, and the engine-contract
# tests (the views' and the client's) run on it in full.
BROWSER_TESTS = {"docker": None, "podman": PODMAN_BROWSER_TESTS, "docker26": set()}


def _engine_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("engine") if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        allowed = BROWSER_TESTS.get(_engine_of(item) or "docker")
        name = getattr(item, "originalname", item.name)
        browser = item.get_closest_marker("browser")
        (drop if browser and allowed is not None and name not in allowed else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _engine_or_reason(kind: str) -> tuple[EngineClient | None, str]:
    url = LAB_ENGINES[kind]
    client = EngineClient(url, timeout=30)
    try:
        client.system.ping(timeout=5)
        client.images_ok = bool(client.get_json("/images/{}/json", LAB_IMAGE.split(":")[0]))
    except EngineError as exc:
        return None, f"no lab {kind} engine at {url} ({exc}); start it with lab/engine-lab up"
    # Which lab engine this is (docker, podman, docker26), and which kind of engine (docker
    # or podman: what the engine client detects), for tests and fixtures that must say or use it.
    client.lab_engine = kind
    client.lab_kind = "podman" if kind == "podman" else "docker"
    client.lab_url = url
    # How the engine lists the lab image: Podman names local images localhost/...
    client.lab_image_name = f"localhost/{LAB_IMAGE}" if kind == "podman" else LAB_IMAGE
    return client, ""


@pytest.fixture(scope="session", params=TEST_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[EngineClient]:
    """A lab engine's client, once per engine (docker, podman, docker26); skips without one (fails
    with DASHBOARD_REQUIRE_ENGINE=1)."""
    client, reason = _engine_or_reason(request.param)
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


def lacks(engine: EngineClient, kind: str, what: str) -> None:
    """Skip this test on the `kind` lab engine (podman, docker26), which does not have `what`."""
    if engine.lab_engine == kind:
        pytest.skip(f"{kind} lacks {what}")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # Personas are made in many tests: the production hasher would spend ~0.4 s on each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser's session does, and sends the token."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.csrf_secret = secrets.token_hex(16)  # 32 characters: a valid unmasked secret
        self.cookies["csrftoken"] = self.csrf_secret

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        # Login rotates the token, as it does in a browser: send the cookie's current value.
        morsel = self.cookies.get("csrftoken")
        token = morsel.value if morsel is not None else self.csrf_secret
        headers = {"X-CSRFToken": token, **kwargs.pop("headers", {})}
        return super().post(path, data, headers=headers, **kwargs)

    def hx_post(self, path: str, data: Any = None, target: str = "", **kwargs: Any) -> Any:
        headers = {"HX-Request": "true", **({"HX-Target": target} if target else {})}
        return self.post(path, data, headers=headers, **kwargs)


def _persona(username: str, role: str | None) -> CsrfClient:
    user = User.objects.create_user(username, password="pw-" + secrets.token_hex(8))
    if role == "admin":
        user.is_superuser = True
        user.save()
    elif role:
        # get_or_create: a transactional test before this one flushed the migration's groups.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = CsrfClient()
    client.force_login(user)
    return client


@pytest.fixture
def admin(db: Any) -> CsrfClient:
    return _persona("alice-admin", "admin")


@pytest.fixture
def operator(db: Any) -> CsrfClient:
    return _persona("oscar-operator", "operator")


@pytest.fixture
def viewer(db: Any) -> CsrfClient:
    return _persona("vera-viewer", "viewer")


@pytest.fixture
def anonymous(db: Any) -> CsrfClient:
    return CsrfClient()


# -- images, volumes, networks, registries ------------------------------------------------

# The lab registry, as the engine sees it (inside the engine's network namespace).
LAB_REGISTRY = os.environ.get("DASHBOARD_TEST_REGISTRY") or "127.0.0.1:5000"
# Where this run pushes its images: one repository path per run.
TEST_REPO = f"{LAB_REGISTRY}/dashboard-test/r{RUN_ID}"


def lab_netns(docker_host: str = LAB_DOCKER_HOST) -> str | None:
    """The network namespace the engine at `docker_host` runs in (its registries listen on
    127.0.0.1 there). DASHBOARD_TEST_NETNS says it; else the dockerd process serving that
    socket (or the podman service) is found in /proc and its namespace matched against
    /var/run/netns. This is the one place that maps an engine to its namespace (dlab1 for
    the default lab)."""
    if ns := os.environ.get("DASHBOARD_TEST_NETNS"):
        return ns
    if not docker_host.startswith("unix://"):
        return None
    netns_dir = "/var/run/netns"
    try:
        by_inode = {os.stat(f"{netns_dir}/{n}").st_ino: n for n in os.listdir(netns_dir)}
    except OSError:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
            if not any(a.endswith(("dockerd", "podman")) for a in args) or docker_host not in args:
                continue
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        if inode in by_inode:
            return by_inode[inode]
    return None


def _require(reason: str) -> None:
    if REQUIRE_ENGINE:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def netns(engine: EngineClient) -> str:
    ns = lab_netns(engine.lab_url)
    if ns is None:
        _require(f"cannot tell the network namespace of {engine.lab_url} (DASHBOARD_TEST_NETNS)")
    return ns


def in_netns(ns: str, *cmd: str, timeout: float = 30, **kwargs: Any) -> Any:
    import subprocess

    return subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{ns}", *cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


_REGISTRY_HTTP = """
import json, sys, urllib.error, urllib.request
method, url, accept = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
        print(json.dumps({"status": r.status, "headers": dict(r.headers), "body": body}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "headers": dict(e.headers), "body": ""}))
"""
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def registry_http(ns: str, method: str, url: str, accept: str = "") -> dict[str, Any]:
    """One HTTP request to a registry inside the engine's namespace (the test is outside)."""
    import json
    import sys

    out = in_netns(ns, sys.executable, "-c", _REGISTRY_HTTP, method, url, accept)
    if out.returncode != 0:
        raise RuntimeError(f"registry request failed: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def registry_delete_manifest(ns: str, registry: str, repo: str, tag: str) -> None:
    """Delete a pushed tag's manifest from a lab registry (best effort, for clean-up)."""
    head = registry_http(ns, "HEAD", f"http://{registry}/v2/{repo}/manifests/{tag}", MANIFEST_V2)
    digest = head["headers"].get("Docker-Content-Digest")
    if head["status"] == 200 and digest:
        registry_http(ns, "DELETE", f"http://{registry}/v2/{repo}/manifests/{digest}")


def build_image(engine: EngineClient, ref: str, size: int = 1_000_000, **labels: str) -> str:
    """A new image with one layer of `size` random bytes over the lab image (a commit), tagged
    `ref` (or untagged when `ref` is empty), labelled as this run's. Returns its ID."""
    created = engine.containers.create(
        {
            "Image": LAB_IMAGE,
            "Cmd": ["sh", "-c", f"head -c {size} /dev/urandom > /blob"],
            "Labels": {TEST_LABEL: RUN_ID, **labels},
        }
    )
    try:
        engine.containers.start(created["Id"])
        engine.post_json("/containers/{}/wait", created["Id"], timeout=60)
        params: dict[str, Any] = {"container": created["Id"]}
        if ref:
            name, _, tag = ref.rpartition(":")
            params.update({"repo": name, "tag": tag})
        # Podman refuses a commit without a body ("Decode(): EOF"); Docker takes {} as none.
        image_id = engine.post_json("/commit", params=params, json={})["Id"]
        # Podman answers the bare hex id; Docker (and every list) says sha256:...
        return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
    finally:
        engine.containers.remove(created["Id"], force=True)


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


class AuthRegistry:
    def __init__(self, addr: str, username: str, password: str) -> None:
        self.addr, self.username, self.password = addr, username, password


@pytest.fixture(scope="session")
def auth_registry(engine: EngineClient, netns: str) -> Iterator[AuthRegistry]:
    """A second registry in the engine's namespace that wants a login (htpasswd, bcrypt),
    started for this run on a free port and stopped at its end."""
    import shutil
    import subprocess
    import tempfile
    import time

    if not shutil.which("docker-registry") or not shutil.which("nsenter"):
        _require("docker-registry or nsenter is missing (lab/engine-lab deps installs them)")
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
        _require(f"could not start a registry with login in {netns}")
    yield AuthRegistry(addr, username, password)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
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


def made_with(engine: EngineClient, labels: str) -> list[dict[str, Any]]:
    """Containers (list rows) that carry the test's own label from `ui_label`."""
    case = labels.splitlines()[-1]
    return engine.containers.list(all=True, filters={"label": [case]})


@pytest.fixture
def exec_operator(db: Any) -> CsrfClient:
    """An operator granted exec (the `exec` group)."""
    client = _persona("olga-exec-operator", "operator")
    user = User.objects.get(username="olga-exec-operator")
    user.groups.add(Group.objects.get_or_create(name="exec")[0])
    return client
