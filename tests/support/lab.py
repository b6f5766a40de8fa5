"""The lab the engine-facing tests run against (lab/engine-lab): where its engines and
registry are, the labels and run ID that mark what a test run made, and helpers to reach
into the engine's network namespace."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

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
# Every engine of the run: tests/split_run.py's processes each see only their own in
# TEST_ENGINES, and name the run's in DASHBOARD_TEST_RUN_ENGINES.
RUN_ENGINES = [
    e
    for e in (os.environ.get("DASHBOARD_TEST_RUN_ENGINES") or ",".join(TEST_ENGINES)).split(",")
    if e
]
LAB_IMAGE = os.environ.get("DASHBOARD_TEST_IMAGE") or "lab/busybox:latest"
# Every resource a test makes carries these labels; the run's own value lets the session
# clean-up find what this run made, and only that.
TEST_LABEL = "dashboard.test"
RUN_ID = uuid.uuid4().hex[:12]
REQUIRE_ENGINE = os.environ.get("DASHBOARD_REQUIRE_ENGINE", "") not in ("", "0")


# Browser tests drive the pages (the same for every engine) on top of the engine client. They
# run in full against one engine, the "browser engine": Docker 26 when the run has it (its
# process in tests/split_run.py has room; that script names it in
# DASHBOARD_TEST_BROWSER_ENGINE for every process), else Docker 20.10.
BROWSER_ENGINE = os.environ.get("DASHBOARD_TEST_BROWSER_ENGINE") or (
    "docker26" if "docker26" in TEST_ENGINES else "docker"
)
# These need the two Docker 20.10 nodes (a second host, the two-node swarm): they run there.
TWO_NODE_BROWSER_TESTS = {
    "test_two_engines_side_by_side",
    "test_an_admin_deploys_updates_and_removes_a_stack",
    "test_an_admin_scales_a_service_from_its_page",
    "test_a_newcomer_walks_through_the_dashboard",
}
# Against Podman only the live ones, which keep the suite's time within budget.
PODMAN_BROWSER_TESTS = {
    "test_a_person_stops_a_container_and_its_row_changes_without_a_reload",
    "test_the_logs_page_shows_a_line_printed_after_it_loaded",
    "test_a_pull_shows_progress_bars_and_the_image_appears_in_the_list",
}


def engine_of(item: pytest.Item) -> str | None:
    """The lab engine a collected test runs against, if it is parametrised by one."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("engine") if callspec is not None else None


def browser_test_is_wanted(item: pytest.Item) -> bool:
    """Which engines a browser test runs against (see BROWSER_ENGINE); the image's tests
    drive the image on its own engine (tests/support/image.py IMAGE_ENGINE)."""
    engine = engine_of(item)
    if not item.get_closest_marker("browser") or engine is None:
        return True
    if item.get_closest_marker("image"):
        return True
    name = getattr(item, "originalname", item.name)
    if engine == "podman":
        return name in PODMAN_BROWSER_TESTS
    two_node = name in TWO_NODE_BROWSER_TESTS
    if engine == "docker":
        return two_node or BROWSER_ENGINE == "docker"
    return engine == BROWSER_ENGINE and not two_node


def engine_or_reason(kind: str) -> tuple[EngineClient | None, str]:
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


def mark_engine_tests(items: list[pytest.Item]) -> None:
    """Every test that uses a lab engine, through whichever fixtures, carries the `engine`
    marker: `-m "not engine"` then runs none that would only skip for want of a lab."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.engine)


def lacks(engine: EngineClient, kind: str, what: str) -> None:
    """Skip this test on the `kind` lab engine (podman, docker26), which does not have `what`."""
    if engine.lab_engine == kind:
        pytest.skip(f"{kind} lacks {what}")


def once_per_run(engine: EngineClient, subject: str) -> None:
    """Skip unless `engine` is the one lab engine of the run that checks `subject`, which is the
    dashboard's own and the same on every engine (Podman's process has the most room)."""
    chosen = next((e for e in ("podman", "docker26", "docker") if e in RUN_ENGINES), None)
    if engine.lab_engine != chosen:
        pytest.skip(f"{subject} is the same on every engine: checked against {chosen}")


def require(reason: str) -> None:
    """Skip for want of something the lab should have (fail with DASHBOARD_REQUIRE_ENGINE=1)."""
    if REQUIRE_ENGINE:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


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


def in_netns(ns: str, *cmd: str, timeout: float = 30, **kwargs: Any) -> Any:
    import subprocess

    return subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{ns}", *cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


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


def made_with(engine: EngineClient, labels: str) -> list[dict[str, Any]]:
    """Containers (list rows) that carry the test's own label from `ui_label`."""
    case = labels.splitlines()[-1]
    return engine.containers.list(all=True, filters={"label": [case]})
