"""The dashboard's container image on a lab engine: built by lab/build-image (cached base,
wheelhouse, trixie's compose and CLI), run with an engine socket mounted, reached from here
through a relay into the lab's network namespace (where its port is published)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .lab import LAB_DOCKER26_HOST, RUN_ID, TEST_LABEL, lab_netns
from .netns_relay import relay

ROOT = Path(__file__).resolve().parents[2]
IMAGE_TAG = os.environ.get("DASHBOARD_TEST_IMAGE_TAG") or "docker-dashboard:lab"
# The engine the image is built and run on: the lab's Docker 26, in a namespace of its own,
# whose tests run in the same pytest process as these (tests/split_run.py), one after the
# other: the image's containers, networks and builds never show up in another test's
# snapshot of an engine.
IMAGE_ENGINE = os.environ.get("DASHBOARD_TEST_IMAGE_ENGINE") or LAB_DOCKER26_HOST
_PASSWORD = re.compile(r"Created admin account '([^']+)' with password:\s+(\S+)")


def docker(*args: str, host: str = IMAGE_ENGINE, timeout: float = 60) -> str:
    """The docker CLI against the lab engine; its output, or CalledProcessError."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(
        ["docker", "-H", host, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    ).stdout


# Tags built by this process: the image modules each ask for the image, one build serves all.
_BUILT: dict[str, float] = {}


def build(tag: str = IMAGE_TAG) -> float:
    """lab/build-image image TAG on the lab engine, once per test process; the seconds the
    build took."""
    if tag in _BUILT:
        return _BUILT[tag]
    started = time.monotonic()
    subprocess.run(
        [str(ROOT / "lab" / "build-image"), "image", tag],
        check=True,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "DOCKER_HOST": IMAGE_ENGINE},
    )
    _BUILT[tag] = time.monotonic() - started
    return _BUILT[tag]


@dataclass
class RunningImage:
    """One container of the image, its /data volume and the relay to its published port."""

    name: str
    volume: str
    # The engine it serves as `local`: the socket mounted into it, as seen from here.
    docker_host: str = ""
    url: str = ""
    username: str = ""
    password: str = ""
    started: float = 0.0
    healthy_after: float = 0.0
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def logs(self) -> str:
        return docker("logs", self.name)

    def top_uids(self) -> dict[str, str]:
        """The container's processes (command line -> uid), as `docker top` shows them."""
        # The engine runs ps on its host and needs the pid column to pick the container's.
        out = docker("top", self.name, "-eo", "pid,uid,args")
        rows = [line.split(None, 2) for line in out.splitlines()[1:] if line.strip()]
        return {args: uid for _pid, uid, args in rows}


def _port_in_netns(name: str) -> int:
    out = docker("port", name, "8000/tcp").strip().splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def _wait_healthz(url: str, deadline: float) -> None:
    import requests

    while True:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}/healthz did not answer 200")
        time.sleep(0.2)


@contextlib.contextmanager
def run_image(socket_path: str, tag: str = IMAGE_TAG, **env: str) -> Iterator[RunningImage]:
    """docker run the image with `socket_path` mounted as the container's docker.sock, a
    volume of its own at /data and port 8000 published on 127.0.0.1 in the lab namespace;
    yields once /healthz answers 200 through the relay. Removes container and volume."""
    netns = lab_netns(IMAGE_ENGINE)
    if netns is None:
        raise RuntimeError(f"no network namespace found for {IMAGE_ENGINE}")
    suffix = f"{RUN_ID}-{os.urandom(3).hex()}"
    run = RunningImage(
        name=f"dash-img-{suffix}", volume=f"dash-data-{suffix}", docker_host=f"unix://{socket_path}"
    )
    docker("volume", "create", "--label", f"{TEST_LABEL}={RUN_ID}", run.volume)
    try:
        args = ["run", "-d", "--name", run.name, "--label", f"{TEST_LABEL}={RUN_ID}"]
        args += ["-v", f"{socket_path}:/var/run/docker.sock", "-v", f"{run.volume}:/data"]
        # A probe a second (the image's default is every 30 s) so `healthy` shows up quickly.
        args += ["-p", "127.0.0.1::8000", "--health-interval", "1s"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        run.started = time.monotonic()
        docker(*args, tag)
        _relay_to(run)
        _wait_healthz(run.url, time.monotonic() + 60)
        run.healthy_after = time.monotonic() - run.started
        match = _PASSWORD.search(run.logs())
        if match:
            run.username, run.password = match.groups()
        yield run
    finally:
        run._stack.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            docker("rm", "-f", "-v", run.name)
        with contextlib.suppress(subprocess.CalledProcessError):
            docker("volume", "rm", "-f", run.volume)


def _relay_to(run: RunningImage) -> None:
    """(Re)open the relay to the port the container publishes now (a restart may pick
    another): run.url changes with it, cookies do not (they ignore the port)."""
    run._stack.close()
    run._stack = contextlib.ExitStack()
    netns = lab_netns(IMAGE_ENGINE)
    port = run._stack.enter_context(
        relay(f"/var/run/netns/{netns}", ("127.0.0.1", _port_in_netns(run.name)))
    )
    run.url = f"http://127.0.0.1:{port}"


def restart(run: RunningImage) -> float:
    """docker restart, then wait for /healthz again; the seconds until it answered."""
    started = time.monotonic()
    docker("restart", "-t", "5", run.name)
    _relay_to(run)
    _wait_healthz(run.url, time.monotonic() + 60)
    return time.monotonic() - started


def health_status(run: RunningImage) -> str:
    return docker("inspect", "-f", "{{.State.Health.Status}}", run.name).strip()
