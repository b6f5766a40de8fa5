"""Who may do what: login everywhere, CSRF on every POST, roles on actions."""

import pytest

from dashboard.models import AuditEntry

from .support.routes import all_routes

pytestmark = pytest.mark.django_db

CID = "a" * 64


# Public on purpose, each with its own tests (tests/test_operability.py, tests/test_oidc.py,
# the API's description in tests/test_api_tokens.py).
PUBLIC = {"login", "logout", "healthz", "metrics", "api-openapi", "oidc-login", "oidc-callback"}


# The API's routes answer 401 instead (tests/test_role_matrix.py's token matrix).
@pytest.mark.parametrize(
    "name, url",
    [
        (r.name, r.url)
        for r in all_routes()
        if r.name not in PUBLIC and not hasattr(r.callback, "api_ops")
    ],
)
def test_anonymous_requests_go_to_login(anonymous, name, url):
    for method in (anonymous.get, anonymous.post):
        resp = method(url)
        assert resp.status_code == 302, (name, url, resp.status_code)
        assert resp["Location"].startswith("/login/?next=")


def test_a_post_without_csrf_token_is_refused(settings, admin):
    admin.cookies.pop("csrftoken")
    from django.test import Client

    plain = Client(enforce_csrf_checks=True)
    plain.cookies = admin.cookies
    resp = plain.post(f"/hosts/local/containers/{CID}/stop/")
    assert resp.status_code == 403
    # Refused before the view: the trail says so, and nothing was attempted.
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.target_id) == ("container-stop", "denied", CID)


@pytest.mark.parametrize("action", ["start", "stop", "restart", "remove"])
def test_a_viewer_cannot_act_and_the_refusal_is_audited(viewer, action):
    resp = viewer.post(f"/hosts/local/containers/{CID}/{action}/", {"confirm": "yes"})
    assert resp.status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.outcome) == (
        "vera-viewer",
        f"container-{action}",
        "denied",
    )
    assert (entry.host, entry.target_id) == ("local", CID)
    assert "needs the operator role" in entry.message or "needs the admin role" in entry.message


def test_an_operator_cannot_remove(operator):
    resp = operator.post(f"/hosts/local/containers/{CID}/remove/", {"confirm": "yes"})
    assert resp.status_code == 403


@pytest.mark.parametrize("action", ["start", "stop", "restart"])
def test_actions_refuse_get(admin, action):
    assert admin.get(f"/hosts/local/containers/{CID}/{action}/").status_code == 405


def test_an_unknown_host_is_a_404(admin):
    assert admin.get("/hosts/nowhere/containers/").status_code == 404


def test_login_and_logout(anonymous):
    from django.contrib.auth.models import User

    User.objects.create_user("pat", password="a-long-password-1")
    resp = anonymous.post("/login/", {"username": "pat", "password": "wrong"})
    assert resp.status_code == 200 and "Please enter a correct" in resp.content.decode()
    resp = anonymous.post("/login/", {"username": "pat", "password": "a-long-password-1"})
    assert resp.status_code == 302
    resp = anonymous.post("/logout/")
    assert resp.status_code == 302
    assert anonymous.get("/").status_code == 302
    assert anonymous.get("/")["Location"].startswith("/login/")


def test_pages_carry_security_headers(anonymous):
    resp = anonymous.get("/login/")
    csp = resp["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["X-Frame-Options"] == "DENY"
    assert resp["Referrer-Policy"] == "same-origin"


def test_https_mode_makes_cookies_secure_and_sends_hsts():
    import subprocess
    import sys

    code = (
        "import dashboard.settings as s; "
        "g = lambda k: getattr(s, k, False); "
        "print(g('SESSION_COOKIE_SECURE'), g('CSRF_COOKIE_SECURE'), g('SECURE_HSTS_SECONDS'), "
        "s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE)"
    )
    import os

    env = {**os.environ, "DASHBOARD_HTTPS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["True", "True", "31536000", "True", "True", "Lax"], out.stderr
    env.pop("DASHBOARD_HTTPS")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split()[:3] == ["False", "False", "False"], out.stderr


def test_cookies_are_httponly_and_samesite(anonymous):
    from django.contrib.auth.models import User

    User.objects.create_user("cook", password="a-long-password-1")
    resp = anonymous.post("/login/", {"username": "cook", "password": "a-long-password-1"})
    session = resp.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
