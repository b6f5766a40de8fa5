"""Hosts added from the UI: validation beside the field, test connection, TLS stored
encrypted, removal; the fleet page's live cards; a hanging host does not slow the others."""

from __future__ import annotations

import os
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile

from dashboard.asgi import application
from dashboard.engines import configured_hosts, reset_clients
from dashboard.models import AuditEntry, EngineHost

from .support.clients import ORIGIN, cookie_of
from .support.fakes import FakeHangingEngine
from .support.lab import lacks

pytestmark = pytest.mark.django_db

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def field_errors(resp) -> str:
    return resp.content.decode()


@pytest.mark.parametrize(
    "name, url, field, message",
    [
        ("UPPER", "unix:///run/x.sock", "name", "lower-case"),
        ("a/b", "unix:///run/x.sock", "name", "lower-case"),
        ("local", "unix:///run/x.sock", "name", "set by the environment"),
        ("ok", "unix://relative.sock", "url", "unix:///absolute"),
        ("ok", "unix:///run/../etc/x.sock", "url", "without . or .."),
        ("ok", "unix:///run/x.sock?x=1", "url", "unix:///absolute"),
        ("ok", "tcp://user:pw@host:2376", "url", "nothing more"),
        ("ok", "tcp://host:99999", "url", "1 to 65535"),
        ("ok", "tcp://bad_host!:2376", "url", "not a host name"),
        ("ok", "ssh://host", "url", "Use unix:///"),
        ("ok", "tcp://10.0.0.1:2375", "tls", "open to anyone"),
        ("ok", "unix:///run/x\x00.sock", "url", "Null characters are not allowed"),
        ("ok", "unix:///run/x\t.sock", "url", "control characters"),
    ],
)
def test_bad_host_input_is_refused_beside_the_field(admin, name, url, field, message):
    resp = admin.post("/settings/hosts/add/", {"name": name, "url": url})
    assert resp.status_code == 400
    html = resp.content.decode()
    section = html[html.index(f'id="field-{field}"') :][:800]
    assert message in section.replace("&#x27;", "'")
    assert not EngineHost.objects.exists()


def test_a_host_is_added_used_and_removed(admin, lab_settings, engine):
    resp = admin.post("/settings/hosts/add/", {"name": "second", "url": engine.lab_url})
    assert resp.status_code == 302
    assert configured_hosts()["second"].url == engine.lab_url
    page = admin.get("/hosts/second/containers/")
    assert page.status_code == 200
    # The switcher offers it, keeping the section.
    assert (
        'value="/hosts/second/containers/"'
        in admin.get("/hosts/local/containers/").content.decode()
    )
    # Removing needs the name typed.
    admin.post("/settings/hosts/second/remove/", {"confirm": "nope"})
    assert EngineHost.objects.filter(name="second").exists()
    admin.post("/settings/hosts/second/remove/", {"confirm": "second"})
    assert "second" not in configured_hosts()
    assert admin.get("/hosts/second/containers/").status_code == 404
    actions = list(AuditEntry.objects.filter(host="second").values_list("action", "outcome"))
    assert ("host-add", "ok") in actions and ("host-remove", "ok") in actions


def test_environment_hosts_cannot_be_edited_or_removed(admin, lab_settings):
    assert admin.get("/settings/hosts/local/edit/").status_code == 404
    assert admin.post("/settings/hosts/local/remove/", {"confirm": "local"}).status_code == 404
    assert "local" in configured_hosts()


def test_test_connection_reports_the_engine(admin, lab_settings, engine):
    resp = admin.hx_post("/settings/hosts/test/", {"name": "t", "url": engine.lab_url})
    html = resp.content.decode()
    assert resp.status_code == 200 and "Reachable" in html
    assert engine.system.version()["Version"] in html
    resp = admin.hx_post("/settings/hosts/test/", {"name": "t", "url": "unix:///run/none/x.sock"})
    assert "✗" in resp.content.decode()


def test_tls_material_is_stored_encrypted_and_never_shown(admin, settings):
    files = {
        "tls_ca": SimpleUploadedFile("ca.pem", CA),
        "tls_cert": SimpleUploadedFile("cert.pem", CA),
        "tls_key": SimpleUploadedFile("key.pem", KEY),
    }
    resp = admin.post(
        "/settings/hosts/add/",
        {"name": "remote", "url": "tcp://127.0.0.1:1", "tls": "on", "tls_verify": "on", **files},
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    row = EngineHost.objects.get(name="remote")
    for value in (row.tls_ca, row.tls_cert, row.tls_key):
        assert value and "BEGIN" not in value
    host = configured_hosts()["remote"]
    key_file = host.tls.client_key
    with open(key_file, "rb") as f:
        assert f.read() == KEY
    import os
    import stat

    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    for page in ("/settings/hosts/", "/settings/hosts/remote/edit/"):
        assert "PRIVATE KEY" not in admin.get(page).content.decode()
    # A key without its certificate is refused beside the certificate field.
    resp = admin.post(
        "/settings/hosts/add/",
        {
            "name": "half",
            "url": "tcp://127.0.0.1:1",
            "tls": "on",
            "tls_key": SimpleUploadedFile("key.pem", KEY),
        },
    )
    assert resp.status_code == 400 and "needs its key" in resp.content.decode()
    # Something that is not PEM is refused.
    resp = admin.post(
        "/settings/hosts/add/",
        {
            "name": "junk",
            "url": "tcp://127.0.0.1:1",
            "tls": "on",
            "tls_ca": SimpleUploadedFile("ca.pem", b"\x00\x01binary"),
        },
    )
    assert resp.status_code == 400 and "not a PEM file" in resp.content.decode()
    admin.post("/settings/hosts/remote/remove/", {"confirm": "remote"})
    assert not os.path.exists(key_file)


@pytest.mark.django_db(transaction=True)
async def test_fleet_cards_fill_in_and_a_hanging_host_does_not_hold_up_the_others(settings, engine):
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import User
    from django.test import Client

    from dashboard.streams.hub import get_hub

    with FakeHangingEngine() as hang:
        settings.DOCKER_HOST = engine.lab_url
        settings.DASHBOARD_HOST_NAME = "local"
        settings.DASHBOARD_HOSTS = f"stuck={hang.url}"
        settings.ENGINE_TIMEOUT = 4
        settings.HOST_HEALTH_INTERVAL = 30
        settings.STREAM_LINGER_SECONDS = 0
        reset_clients()

        def login() -> tuple[bytes, bytes]:
            user = User.objects.create_superuser("fleet-admin", password="x-long-password-1")
            client = Client()
            client.force_login(user)
            started = time.monotonic()
            page = client.get("/hosts/")
            elapsed = time.monotonic() - started
            assert page.status_code == 200 and elapsed < 1.0, elapsed
            html = page.content.decode()
            assert "host-card-local" in html and "host-card-stuck" in html
            # The other host's pages answer while this one hangs.
            started = time.monotonic()
            assert client.get("/hosts/local/containers/").status_code == 200
            assert time.monotonic() - started < 2.0
            return cookie_of(client)

        cookie = await sync_to_async(login)()
        comm = WebsocketCommunicator(application, "/ws/fleet/", headers=[ORIGIN, cookie])
        connected, _ = await comm.connect()
        assert connected
        started = time.monotonic()
        first = await comm.receive_from(timeout=3)
        # The reachable host's card comes first, long before the stuck one times out.
        assert 'id="host-card-local"' in first and "reachable" in first
        assert time.monotonic() - started < 2.5
        second = await comm.receive_from(timeout=10)
        assert 'id="host-card-stuck"' in second and "unreachable" in second
        await comm.disconnect()
        get_hub().close_all()
        reset_clients()


LAB_TLS_DIR = os.environ.get("LAB_TLS_DIR") or os.path.join(
    os.environ.get("LAB_RUN") or "/run/dl", "tls"
)


@pytest.fixture
def tls_engine_port(netns):
    """127.0.0.1:<port> here reaches the lab engine's --tlsverify listener."""
    from .support.netns_relay import relay

    if not os.path.exists(os.path.join(LAB_TLS_DIR, "cert.pem")):
        pytest.fail(f"no lab TLS certificates in {LAB_TLS_DIR} (lab/engine-lab up makes them)")
    port = int(os.environ.get("LAB_TLS_PORT") or 2376)
    with relay(f"/var/run/netns/{netns}", ("127.0.0.1", port)) as local_port:
        yield local_port


def _pem(name: str) -> SimpleUploadedFile:
    with open(os.path.join(LAB_TLS_DIR, name), "rb") as f:
        return SimpleUploadedFile(name, f.read())


def test_a_tls_engine_added_with_uploaded_certificates_is_used(admin, engine, tls_engine_port):
    lacks(engine, "podman", "the lab's TLS listener (it is dockerd's)")
    url = f"tcp://127.0.0.1:{tls_engine_port}"
    base = {"name": "secure", "url": url, "tls": "on", "tls_verify": "on"}
    # Without a client certificate the engine (--tlsverify) refuses: shown, not a 500.
    resp = admin.hx_post("/settings/hosts/test/", {**base, "tls_ca": _pem("ca.pem")})
    assert "✗" in resp.content.decode()
    # A CA that did not sign the engine's certificate: verification fails, said so.
    resp = admin.hx_post(
        "/settings/hosts/test/",
        {
            **base,
            "tls_ca": _pem("cert.pem"),
            "tls_cert": _pem("cert.pem"),
            "tls_key": _pem("key.pem"),
        },
    )
    assert "✗" in resp.content.decode()
    files = {"tls_ca": _pem("ca.pem"), "tls_cert": _pem("cert.pem"), "tls_key": _pem("key.pem")}
    resp = admin.hx_post("/settings/hosts/test/", {**base, **files})
    assert "Reachable" in resp.content.decode(), resp.content.decode()
    files = {"tls_ca": _pem("ca.pem"), "tls_cert": _pem("cert.pem"), "tls_key": _pem("key.pem")}
    assert admin.post("/settings/hosts/add/", {**base, **files}).status_code == 302
    page = admin.get("/hosts/secure/")
    assert page.status_code == 200
    assert engine.system.version()["Version"] in page.content.decode()
    assert admin.get("/hosts/secure/containers/").status_code == 200
    # Editing without new files keeps the saved ones (the test button uses them too).
    resp = admin.hx_post("/settings/hosts/test/", {**base, "existing": "secure"})
    assert "Reachable" in resp.content.decode()
    admin.post("/settings/hosts/secure/remove/", {"confirm": "secure"})


def test_editing_a_host_changes_its_address_but_never_its_name(admin, settings):
    EngineHost.objects.create(name="edge", url="unix:///run/none/a.sock")
    resp = admin.post(
        "/settings/hosts/edge/edit/", {"name": "renamed", "url": "unix:///run/none/b.sock"}
    )
    assert resp.status_code == 302
    assert EngineHost.objects.get().name == "edge"
    assert configured_hosts()["edge"].url == "unix:///run/none/b.sock"
    assert AuditEntry.objects.get(action="host-edit").params["url"] == "unix:///run/none/b.sock"
