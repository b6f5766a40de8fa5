"""Users (create, roles, hosts, disable, passwords), login throttling, the audit page and its
CSV export, and websockets that end with the login."""

from __future__ import annotations

import csv
import io

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from dashboard.access import can_exec, granted_hosts, role_of
from dashboard.asgi import application
from dashboard.models import AuditEntry

from .support.clients import ORIGIN, CsrfClient, cookie_of

pytestmark = pytest.mark.django_db

GOOD_PW = "correct-horse-battery-9"


def create(admin, **fields):
    data = {"username": "uma", "password1": GOOD_PW, "password2": GOOD_PW, "role": "operator"}
    data.update(fields)
    return admin.post("/settings/users/new/", data)


def test_an_admin_creates_a_user_who_can_log_in_with_that_role(admin, settings):
    settings.DASHBOARD_HOSTS = "extra=unix:///run/none/x.sock"
    resp = create(admin, exec_grant="on", hosts=["extra"])
    assert resp.status_code == 302
    uma = User.objects.get(username="uma")
    assert role_of(uma) == "operator" and can_exec(uma) and granted_hosts(uma) == {"extra"}
    client = Client()
    assert client.post("/login/", {"username": "uma", "password": GOOD_PW}).status_code == 302
    assert client.get("/hosts/local/containers/").status_code == 403  # not granted
    entry = AuditEntry.objects.get(action="user-create")
    assert entry.target_name == "uma" and entry.params["role"] == "operator"
    assert GOOD_PW not in str(entry.params)


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"username": "a b"}, "username", "Enter a valid username"),
        ({"username": "x" * 151}, "username", "at most 150"),
        ({"password2": "other-password-77"}, "password2", "differ"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"role": "root"}, "role", "Select a valid choice"),
        ({"hosts": ["../etc"]}, "hosts", "Select a valid choice"),
    ],
)
def test_bad_user_input_is_refused_beside_the_field(admin, fields, field, message):
    resp = create(admin, **fields)
    assert resp.status_code == 400
    html = resp.content.decode()
    assert message in html[html.index(f'id="field-{field}"') :][:1500]
    assert not User.objects.filter(username__in=["uma", "a b"]).exists()


def test_disabling_a_user_logs_them_out(admin):
    create(admin)
    uma = User.objects.get(username="uma")
    client = Client()
    client.force_login(uma)
    assert client.get("/hosts/").status_code == 200
    resp = admin.post(f"/settings/users/{uma.pk}/", {"role": "operator"})  # active unticked
    assert resp.status_code == 302
    assert client.get("/hosts/").status_code == 302  # back to the login page
    assert Client().post("/login/", {"username": "uma", "password": GOOD_PW}).status_code == 200


def test_the_last_admin_cannot_be_demoted_and_nobody_demotes_themselves(admin):
    me = User.objects.get(username="alice-admin")
    resp = admin.post(f"/settings/users/{me.pk}/", {"role": "viewer", "active": "on"})
    assert resp.status_code == 400 and "your own admin role" in resp.content.decode()
    other = User.objects.create_superuser("root2", password=GOOD_PW)
    me.is_active = False
    me.save(update_fields=["is_active"])
    boss = CsrfClient()
    boss.force_login(other)
    resp = boss.post(f"/settings/users/{other.pk}/", {"role": "operator", "active": "on"})
    assert resp.status_code == 400
    assert role_of(User.objects.get(pk=other.pk)) == "admin"


def test_password_reset_by_admin_and_own_change(admin):
    create(admin)
    uma = User.objects.get(username="uma")
    resp = admin.post(
        f"/settings/users/{uma.pk}/password/",
        {"password1": "new-horse-battery-10", "password2": "new-horse-battery-10"},
    )
    assert resp.status_code == 302
    client = CsrfClient()
    assert (
        client.post("/login/", {"username": "uma", "password": "new-horse-battery-10"}).status_code
        == 302
    )
    resp = client.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "x" * 12 + "9a",
            "new_password2": "x" * 12 + "9a",
        },
    )
    assert resp.status_code == 400 and "incorrectly" in resp.content.decode()
    resp = client.post(
        "/account/password/",
        {
            "old_password": "new-horse-battery-10",
            "new_password1": "mine-own-pass-42",
            "new_password2": "mine-own-pass-42",
        },
    )
    assert resp.status_code == 302
    assert client.get("/hosts/").status_code == 200  # this session stays
    assert User.objects.get(pk=uma.pk).check_password("mine-own-pass-42")
    actions = set(AuditEntry.objects.values_list("action", "outcome"))
    assert {("user-password-reset", "ok"), ("password-change", "ok")} <= actions
    assert ("password-change", "denied") in actions


def test_logins_are_throttled_after_repeated_failures(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    User.objects.create_user("pat", password=GOOD_PW)
    client = Client()
    for _ in range(3):
        resp = client.post("/login/", {"username": "pat", "password": "wrong"})
        assert resp.status_code == 200
    # Even the right password is refused now, with a message, without checking it.
    resp = client.post("/login/", {"username": "pat", "password": GOOD_PW})
    assert resp.status_code == 429
    assert "Too many failed logins" in resp.content.decode()
    # Another account is not locked by pat's failures.
    User.objects.create_user("quin", password=GOOD_PW)
    assert client.post("/login/", {"username": "quin", "password": GOOD_PW}).status_code == 302
    outcomes = list(AuditEntry.objects.filter(target_name="pat").values_list("outcome", "message"))
    assert outcomes.count(("denied", "login failed")) == 3
    assert ("denied", "login refused: too many failed logins") in outcomes


def test_audit_page_filters_and_exports_csv_safely(admin, viewer):
    formula = '=HYPERLINK("x")'
    AuditEntry.objects.create(
        username="mallory",
        host="local",
        action="container-start",
        target_id="c1",
        target_name=formula,
        outcome="ok",
    )
    AuditEntry.objects.create(
        username="bob",
        host="other",
        action="volume-remove",
        target_name="data",
        outcome="failed",
        message="in use",
    )
    page = admin.get("/audit/?user=mall").content.decode()
    assert "mallory" in page and "volume-remove" not in page
    page = admin.get("/audit/?outcome=failed&host=other").content.decode()
    assert "in use" in page and "mallory" not in page
    bad = admin.get("/audit/?start=yesterday")
    assert bad.status_code == 400 and "Enter a valid date/time" in bad.content.decode()
    resp = admin.get("/audit/export.csv?user=mall")
    assert resp["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(resp.streaming_content).decode())))
    assert rows[0][:3] == ["when", "username", "remote_addr"]
    assert len(rows) == 2 and rows[1][1] == "mallory"
    assert rows[1][6] == '\'=HYPERLINK("x")'  # a spreadsheet would run it as a formula
    assert viewer.get("/audit/").status_code == 403
    assert viewer.get("/audit/export.csv").status_code == 403


def test_audit_entries_cannot_be_changed_or_deleted():
    entry = AuditEntry.objects.create(username="x", action="a", outcome="ok")
    entry.message = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


@pytest.mark.django_db(transaction=True)
async def test_logging_out_closes_the_sessions_websockets(settings, engine, lab_settings):
    from asgiref.sync import sync_to_async

    settings.STREAM_LINGER_SECONDS = 0

    def login() -> Client:
        user = User.objects.create_user("wes", password=GOOD_PW)
        client = Client()
        client.force_login(user)
        return client

    client = await sync_to_async(login)()
    comm = WebsocketCommunicator(
        application, "/ws/hosts/local/events/", headers=[ORIGIN, cookie_of(client)]
    )
    connected, _ = await comm.connect()
    assert connected
    await sync_to_async(client.post)("/logout/")
    closed = None
    for _ in range(20):
        out = await comm.receive_output(timeout=3)
        if out["type"] == "websocket.close":
            closed = out
            break
    assert closed is not None and closed["code"] == 4401
    from dashboard.streams.hub import get_hub

    get_hub().close_all()
