"""Who may do what: login everywhere, CSRF on every POST, roles on actions."""

import pytest
from django.urls import get_resolver

from dashboard.models import AuditEntry

pytestmark = pytest.mark.django_db

CID = "a" * 64


def all_url_examples():
    """One concrete URL for every pattern in the project (so a new view cannot be forgotten)."""
    examples = {"ref": "somename", "container_id": CID, "host": "local"}
    out = []

    def walk(patterns, prefix=""):
        for p in patterns:
            route = prefix + str(p.pattern)
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, route)
            else:
                url = route
                for key, value in examples.items():
                    for conv in ("host", "ref", "cid", "str"):
                        url = url.replace(f"<{conv}:{key}>", value)
                out.append((p.name, "/" + url))

    walk(get_resolver().url_patterns)
    return out


# Public on purpose, each with its own tests (tests/test_operability.py).
PUBLIC = {"login", "healthz", "metrics"}


@pytest.mark.parametrize("name, url", [e for e in all_url_examples() if e[0] not in PUBLIC])
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
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("action", ["start", "stop", "restart", "remove"])
def test_a_viewer_cannot_act(viewer, action):
    resp = viewer.post(f"/hosts/local/containers/{CID}/{action}/", {"confirm": "yes"})
    assert resp.status_code == 403
    assert not AuditEntry.objects.exists()


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
