"""Behind a docker-socket-proxy: Debian's haproxy, run by the test with rules of the same kind
(GET only; containers, events, info, ping and version allowed; everything else 403), in
front of the lab's Docker socket. A refused path shows "the socket proxy refuses ..." in its
section (not a 500, not a generic engine error); allowed pages work."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from engine_client import EngineClient, Forbidden, ProxyRefused

from .support.browser import free_port, live_dashboard, login
from .support.lab import LAB_DOCKER_HOST, LAB_IMAGE, RUN_ID, TEST_LABEL, require
from .support.processes import stop

pytestmark = [pytest.mark.engine]

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# The shape of docker-socket-proxy's rules (our own text): GET only, then one allow per
# section that is switched on, then deny.
CONFIG = """
global
    maxconn 200
defaults
    mode http
    timeout connect 10s
    timeout client 10m
    timeout server 10m
backend engine
    server engine unix@{socket}
frontend proxy
    bind 127.0.0.1:{port}
    http-request deny unless METH_GET
    http-request allow if {{ path,url_dec -m reg -i ^(/v[\\d.]+)?/(_ping|version|info|events) }}
    http-request allow if {{ path,url_dec -m reg -i ^(/v[\\d.]+)?/containers }}
    http-request deny
    default_backend engine
"""


@contextlib.contextmanager
def socket_proxy(engine_socket: str) -> Iterator[str]:
    """haproxy in front of `engine_socket`; yields its tcp:// URL."""
    if not Path(HAPROXY).exists():
        require("haproxy is not installed (apt-get install haproxy)")
    workdir = tempfile.mkdtemp(prefix="dash-sp-")
    port = free_port()
    cfg = Path(workdir) / "haproxy.cfg"
    cfg.write_text(CONFIG.format(socket=engine_socket, port=port))
    proc = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"tcp://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/_ping", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start: {proc.stderr.read()!r}") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def proxy_url() -> Iterator[str]:
    with socket_proxy(LAB_DOCKER_HOST.removeprefix("unix://")) as url:
        yield url


@pytest.fixture(scope="module")
def lab() -> Iterator[EngineClient]:
    client = EngineClient(LAB_DOCKER_HOST, timeout=30)
    yield client
    for row in client.containers.list(all=True, filters={"label": [f"{TEST_LABEL}={RUN_ID}"]}):
        client.containers.remove(row["Id"], force=True)
    client.close()


def test_the_client_tells_a_proxys_refusal_from_the_engines_own_403(proxy_url, lab):
    behind = EngineClient(proxy_url, timeout=10)
    assert behind.containers.list(all=True) is not None
    with pytest.raises(ProxyRefused) as refused:
        behind.get_json("/images/json")
    assert refused.value.message == "the socket proxy refuses GET /images/json"
    # The engine's own 403 (a built-in network cannot be removed) stays the engine's, word
    # for word.
    with pytest.raises(Forbidden) as own:
        lab.request("DELETE", "/networks/{}", "bridge")
    assert not isinstance(own.value, ProxyRefused)
    assert "proxy" not in own.value.message


def test_a_refused_section_says_the_proxy_refuses_it_and_the_rest_works(proxy_url, lab):
    made = lab.containers.create(
        {"Image": LAB_IMAGE, "Cmd": ["sleep", "300"], "Labels": {TEST_LABEL: RUN_ID}}
    )
    lab.containers.start(made["Id"])
    with live_dashboard(proxy_url) as live:
        s = login(live)
        containers = s.get(f"{live.url}/hosts/local/containers/", timeout=30)
        assert containers.status_code == 200
        assert made["Id"][:12] in containers.text

        images = s.get(f"{live.url}/hosts/local/images/", timeout=30)
        assert images.status_code == 409
        assert "Refused by the socket proxy" in images.text
        assert "the socket proxy refuses GET /images/json" in images.text

        # An operator's button beside the row: the proxy allows GET only.
        stopped = s.post(
            f"{live.url}/hosts/local/containers/{made['Id']}/stop/",
            headers={
                "X-CSRFToken": s.cookies["csrftoken"],
                "HX-Request": "true",
                "HX-Target": f"container-{made['Id'][:12]}",
                "Referer": live.url + "/",
            },
            timeout=30,
        )
        assert stopped.status_code == 409
        assert f"the socket proxy refuses POST /containers/{made['Id']}/stop" in stopped.text
        assert stopped.headers["HX-Retarget"] == f"#container-{made['Id'][:12]}-msg"
        assert lab.containers.inspect(made["Id"])["State"]["Running"]
