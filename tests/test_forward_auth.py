"""Forward-auth headers: believed from a trusted proxy's address only, on pages and
websockets; the address is the connection's own, never X-Forwarded-For (a real daphne)."""

from __future__ import annotations

import http.client
import socket

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from websockets.sync.client import connect as ws_connect

from dashboard.access import granted_hosts, role_of
from dashboard.asgi import application
from dashboard.models import AuditEntry

from .support.browser import live_dashboard
from .support.clients import ORIGIN, CsrfClient

pytestmark = pytest.mark.django_db
PROXY = "10.9.8.7"
NAMED = {"HTTP_REMOTE_USER": "fiona", "HTTP_REMOTE_GROUPS": "ops, devs"}


@pytest.fixture
def forward(settings):
    settings.AUTH_MODE = "forward"
    settings.FORWARD_AUTH_TRUSTED = "10.9.8.0/24, fd00::/8"
    settings.FORWARD_AUTH_CREATE_USERS = True
    settings.OIDC_ROLE_MAP = "ops=operator,devs=viewer"
    settings.OIDC_HOST_MAP = "devs=local"


def test_trusted_proxy_names_the_user_with_the_mapped_role(forward):
    client = CsrfClient()
    resp = client.get("/hosts/", REMOTE_ADDR=PROXY, **NAMED)
    assert resp.status_code == 200
    user = User.objects.get(username="fiona")
    assert role_of(user) == "operator" and granted_hosts(user) == {"local"}
    entry = AuditEntry.objects.get(outcome=AuditEntry.OK)
    assert entry.message == "logged in by the forward-auth proxy" and entry.remote_addr == PROXY
    # Groups changed at the proxy: the next request has the new role; one login audited.
    client.get("/hosts/", REMOTE_ADDR=PROXY, HTTP_REMOTE_USER="fiona", HTTP_REMOTE_GROUPS="devs")
    assert role_of(User.objects.get(username="fiona")) == "viewer"
    assert AuditEntry.objects.filter(outcome=AuditEntry.OK).count() == 1


def test_headers_from_an_untrusted_address_are_ignored(forward):
    resp = CsrfClient().get("/hosts/", REMOTE_ADDR="192.0.2.10", **NAMED)
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
    assert not User.objects.filter(username="fiona").exists()


def test_a_user_in_no_mapped_group_is_refused(forward):
    resp = CsrfClient().get(
        "/hosts/", REMOTE_ADDR=PROXY, HTTP_REMOTE_USER="fiona", HTTP_REMOTE_GROUPS="sales"
    )
    assert resp.status_code == 403
    assert "in no group this dashboard gives a role to" in resp.content.decode()
    assert AuditEntry.objects.get().outcome == AuditEntry.DENIED


def test_a_local_account_is_not_taken_over_by_its_name(forward):
    User.objects.create_superuser("admin", password="local-pw-123")
    resp = CsrfClient().get(
        "/hosts/", REMOTE_ADDR=PROXY, HTTP_REMOTE_USER="admin", HTTP_REMOTE_GROUPS="ops"
    )
    assert resp.status_code == 403
    assert "already exists here and is not linked" in resp.content.decode()


async def badge_socket(client_addr: str, headers: list[tuple[bytes, bytes]]) -> dict:
    comm = WebsocketCommunicator(application, "/ws/alerts/badge/", headers=[ORIGIN, *headers])
    # The peer address daphne would put in the scope (the app has not started yet).
    comm.scope["client"] = (client_addr, 40000)
    connected, code = await comm.connect()
    await comm.disconnect()
    return {"connected": connected, "code": code}


@pytest.mark.django_db(transaction=True)
async def test_websocket_headers_believed_from_the_proxy_only(forward):
    named = [(b"remote-user", b"fiona"), (b"remote-groups", b"devs")]
    assert (await badge_socket(PROXY, named))["connected"]
    refused = await badge_socket("192.0.2.10", named)
    assert refused == {"connected": False, "code": 4403}
    # An underscore look-alike of the user header, even from the proxy: not believed.
    lookalike = await badge_socket(PROXY, [(b"remote_user", b"fiona"), named[1]])
    assert lookalike == {"connected": False, "code": 4403}


def _get(port: int, path: str, source: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    return conn.getresponse()


def _ws(port: int, source: str, headers: dict[str, str]) -> str:
    """'open', or the close the dashboard sent (connecting from `source`)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    url = f"ws://127.0.0.1:{port}/ws/alerts/badge/"
    hdrs = {"Origin": f"http://127.0.0.1:{port}", **headers}
    try:
        with ws_connect(url, sock=sock, additional_headers=hdrs, open_timeout=10) as ws:
            ws.recv(timeout=10)
            return "open"
    except Exception as exc:  # noqa: BLE001 - the refusal, whatever form it takes
        return f"refused: {exc}"


def test_real_daphne_believes_the_peer_address_not_x_forwarded_for():
    """Only 127.0.0.2 is the proxy: 127.0.0.1 naming it in X-Forwarded-For is ignored."""
    env = {
        "DASHBOARD_AUTH_MODE": "forward",
        "DASHBOARD_FORWARD_AUTH_TRUSTED": "127.0.0.2/32",
        "DASHBOARD_FORWARD_AUTH_CREATE_USERS": "1",
        "DASHBOARD_OIDC_ROLE_MAP": "ops=operator",
        "DASHBOARD_ALLOWED_HOSTS": "127.0.0.1",
    }
    named = {"Remote-User": "fiona", "Remote-Groups": "ops"}
    spoof = {**named, "X-Forwarded-For": "127.0.0.2", "X-Real-IP": "127.0.0.2"}
    with live_dashboard("unix:///nonexistent/docker.sock", **env) as live:
        port = int(live.url.rsplit(":", 1)[1])
        page = _get(port, "/hosts/", "127.0.0.1", spoof)
        assert page.status == 302 and page.getheader("Location").startswith("/login/")
        assert _ws(port, "127.0.0.1", spoof).startswith("refused")
        page = _get(port, "/hosts/", "127.0.0.2", named)
        assert page.status == 200, page.read()[:300]
        assert _ws(port, "127.0.0.2", named) == "open"
