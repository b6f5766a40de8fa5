"""OIDC-only mode: password login off except for a break-glass admin made from the command
line, whose one-time password is spent by its first login; all of it audited."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from dashboard.access import role_of
from dashboard.models import AuditEntry

from .support.clients import CsrfClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def oidc_only(settings):
    settings.AUTH_MODE = "oidc"
    settings.OIDC_ISSUER = "https://idp.invalid/openid"
    settings.OIDC_CLIENT_ID = "dashboard"
    settings.OIDC_NAME = "Test IdP"


def make_breakglass(name: str = "breakglass") -> str:
    out = io.StringIO()
    call_command("dashboard_breakglass", name, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def post_login(username: str, password: str):
    client = CsrfClient()
    return client, client.post("/login/", {"username": username, "password": password})


def test_login_page_in_oidc_mode_offers_the_provider_first(oidc_only):
    page = CsrfClient().get("/login/").content.decode()
    assert "Sign in with Test IdP" in page
    assert re.search(r'<details id="breakglass"\s*>\s*<summary>Break-glass admin login', page)


def test_password_login_is_off_for_ordinary_accounts(oidc_only):
    User.objects.create_user("alice", password="right-pw-123", is_superuser=True)
    client, resp = post_login("alice", "right-pw-123")
    assert resp.status_code == 403
    assert "Password login is off here" in resp.content.decode()
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.outcome == AuditEntry.DENIED and "sign-in here is by oidc" in entry.message


def test_breakglass_password_works_once_and_loudly(oidc_only, caplog):
    password = make_breakglass()
    made = AuditEntry.objects.get(action="breakglass-create")
    assert made.target_name == "breakglass" and password not in made.message
    client, resp = post_login("breakglass", password)
    assert resp.status_code == 302, resp.content[:500]
    assert role_of(User.objects.get(username="breakglass")) == "admin"
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.outcome == AuditEntry.OK and entry.message.startswith("BREAK-GLASS")
    assert any(r.levelname == "CRITICAL" and "BREAK-GLASS" in r.message for r in caplog.records)
    # Spent: the same password again is refused.
    _, again = post_login("breakglass", password)
    assert again.status_code == 200 and "_auth_user_id" not in again.wsgi_request.session
    # A new one from the command line works.
    _, renewed = post_login("breakglass", make_breakglass())
    assert renewed.status_code == 302


def test_breakglass_never_takes_over_an_existing_account(oidc_only):
    User.objects.create_user("bob", password="bobs-pw-1234")
    with pytest.raises(CommandError, match="not a break-glass admin"):
        make_breakglass("bob")
    assert User.objects.get(username="bob").check_password("bobs-pw-1234")


def test_local_mode_keeps_password_login(settings):
    settings.AUTH_MODE = "local"
    User.objects.create_user("carol", password="carols-pw-123")
    _, resp = post_login("carol", "carols-pw-123")
    assert resp.status_code == 302
