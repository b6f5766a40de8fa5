"""Behind a docker-socket-proxy: Debian's haproxy, run by the test with rules of the same kind
(GET only; containers, events, info, ping and version allowed; everything else 403), in
front of the lab's Docker socket. A refused path shows "the socket proxy refuses ..." in its
section (not a 500, not a generic engine error); allowed pages work."""

from __future__ import annotations

import contextlib
import json
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
from .support.clients import ORIGIN, cookie_for
from .support.lab import LAB_DOCKER_HOST, LAB_IMAGE, RUN_ID, TEST_LABEL, require
from .support.processes import stop

pytestmark = [pytest.mark.engine]

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# The shape of docker-socket-proxy's rules (our own text): GET only (unless POST=1), then
# one allow per section that is switched on, then deny.
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
{methods}
    http-request allow if {{ path,url_dec -m reg -i ^(/v[\\d.]+)?/(_ping|version|info|events) }}
    http-request allow if {{ path,url_dec -m reg -i ^(/v[\\d.]+)?/containers }}
    http-request deny
    default_backend engine
"""


GET_ONLY = "    http-request deny unless METH_GET"


@contextlib.contextmanager
def socket_proxy(engine_socket: str, post: bool = False) -> Iterator[str]:
    """haproxy in front of `engine_socket` (`post`: as POST=1, other methods than GET pass
    the sections that are on); yields its tcp:// URL."""
    if not Path(HAPROXY).exists():
        require("haproxy is not installed (apt-get install haproxy)")
    workdir = tempfile.mkdtemp(prefix="dash-sp-")
    port = free_port()
    cfg = Path(workdir) / "haproxy.cfg"
    cfg.write_text(CONFIG.format(socket=engine_socket, port=port, methods="" if post else GET_ONLY))
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


def test_the_terminal_says_the_proxy_refuses_exec(
    settings, engine, make_container, transactional_db
):
    """docker-socket-proxy with POST=1 and CONTAINERS=1 but not EXEC=1 lets an exec be
    created (under /containers) and refuses to start it (/exec): the terminal says the proxy
    refuses it, not the proxy's own 403 page; the attempt is audited as failed."""
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application
    from dashboard.engines import reset_clients
    from dashboard.models import AuditEntry

    if engine.lab_engine != "docker26":
        # The proxy refuses before any engine sees the request: one engine is enough.
        pytest.skip("runs on docker26 (the proxy's refusal is the same on every engine)")
    c = make_container()
    cookie = cookie_for("pia-proxied", "operator", exec_grant=True)
    with socket_proxy(engine.lab_url.removeprefix("unix://"), post=True) as url:
        behind = EngineClient(url, timeout=10)
        with pytest.raises(ProxyRefused) as refused:
            behind.exec.open(c["Id"], ["true"])
        assert refused.value.message.startswith("the socket proxy refuses POST /exec/")
        assert refused.value.message.endswith("/start")
        behind.close()

        settings.DOCKER_HOST = url
        settings.DASHBOARD_HOST_NAME = "local"
        reset_clients()

        async def terminal() -> dict:
            comm = WebsocketCommunicator(
                application, f"/ws/hosts/local/containers/{c['Id']}/exec/", [ORIGIN, cookie]
            )
            assert (await comm.connect())[0]
            try:
                while True:
                    message = await comm.receive_output(timeout=15)
                    assert message["type"] != "websocket.close", message
                    if message.get("text") and "error" in (news := json.loads(message["text"])):
                        return news
            finally:
                await comm.disconnect()

        try:
            said = async_to_sync(terminal)()
        finally:
            reset_clients()
    assert said["error"].startswith("Refused by the socket proxy: the socket proxy refuses POST")
    assert "/exec/" in said["error"] and "<" not in said["error"], said
    entry = AuditEntry.objects.get(action="container.exec", username="pia-proxied")
    assert entry.outcome == AuditEntry.FAILED and "socket proxy refuses" in entry.message
