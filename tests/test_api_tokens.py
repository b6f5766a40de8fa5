"""Personal API tokens and the API's front door, with no engine: the host "local" is a
recording fake (tests/support/fakes.py), so "nothing done" means the fake saw no request.

People: vera (viewer), oscar (operator), alice (admin); each makes tokens for themself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from dashboard.api.routes import ROUTES, openapi, openapi_path
from dashboard.models import ApiToken, AuditEntry, Webhook

from .support.api import TokenClient, token_for

pytestmark = pytest.mark.django_db(transaction=True)

CID = "a" * 64
STOP = f"/api/v1/hosts/local/containers/{CID}/stop/"
LIST = "/api/v1/hosts/local/containers/"


def _denied(before: int) -> AuditEntry:
    """The one entry a refusal wrote."""
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert len(entries) == 1, [str(e) for e in entries]
    assert entries[0].outcome == AuditEntry.DENIED
    return entries[0]


# -- the page ---------------------------------------------------------------------------------


def test_a_user_makes_a_token_shown_once_and_audited(operator):
    page = operator.post(
        "/account/tokens/", {"name": "ci", "role": "operator", "days": "30"}
    ).content.decode()
    token = ApiToken.objects.get(name="ci")
    assert "dsh_" + token.prefix in page
    # Kept hashed: the secret part is nowhere in the row.
    secret = page.split("dsh_" + token.prefix + "_")[1][:43]
    assert secret not in token.digest and len(token.digest) == 64
    again = operator.get("/account/tokens/").content.decode()
    assert secret not in again and token.prefix in again and "never" in again
    entry = AuditEntry.objects.get(action="api-token.create")
    assert entry.username == "oscar-operator" and token.prefix in entry.target_name


def test_a_token_role_above_ones_own_or_a_long_life_is_refused(operator, settings):
    settings.DASHBOARD_API_TOKEN_MAX_DAYS = 90
    resp = operator.post("/account/tokens/", {"name": "x", "role": "admin", "days": "30"})
    assert resp.status_code == 400 and "admin is not one of the available" in resp.content.decode()
    resp = operator.post("/account/tokens/", {"name": "x", "role": "viewer", "days": "91"})
    assert resp.status_code == 400 and "less than or equal to 90" in resp.content.decode()
    assert not ApiToken.objects.exists()


def test_hosts_offered_are_only_the_users_own(fake_host, viewer):
    from dashboard.access import set_hosts

    set_hosts(User.objects.get(username="vera-viewer"), ["extra"])
    resp = viewer.post(
        "/account/tokens/", {"name": "x", "role": "viewer", "days": "3", "hosts": ["local"]}
    )
    assert resp.status_code == 400 and not ApiToken.objects.exists()


def test_revoking_stops_the_token_at_once(fake_host, operator):
    operator.post("/account/tokens/", {"name": "ci", "role": "viewer", "days": "3"})
    token = ApiToken.objects.get()
    plain = "dsh_" + token.prefix + "_"
    page = operator.get("/account/tokens/").content.decode()
    assert plain not in page
    # Another person cannot revoke it.
    other = TokenClient()
    assert other.post(f"/account/tokens/{token.pk}/revoke/").status_code in (302, 403)
    resp = operator.post(f"/account/tokens/{token.pk}/revoke/")
    assert resp.status_code == 302
    token.refresh_from_db()
    assert token.revoked is not None
    assert AuditEntry.objects.filter(action="api-token.revoke", outcome="ok").count() == 1


# -- the front door ------------------------------------------------------------------------------


def test_a_good_token_lists_and_notes_its_last_use(fake_host):
    client = TokenClient(token_for("vera", "viewer"))
    resp = client.get("/api/v1/hosts/")
    assert resp.status_code == 200, resp.content
    assert [h["name"] for h in resp.json()] == ["local", "extra"]
    assert ApiToken.objects.get().last_used is not None


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "no API token"),
        ("Basic dXNlcjpwdw==", "must read 'Bearer <token>'"),
        ("Bearer nonsense", "malformed token"),
        ("Bearer dsh_0123456789ab_" + "x" * 43, "unknown token"),
    ],
    ids=["missing", "not-bearer", "malformed", "unknown"],
)
def test_a_request_without_a_good_token_is_refused_and_audited(fake_host, header, says):
    client = TokenClient()
    before = AuditEntry.objects.count()
    headers = {"Authorization": header} if header else {}
    resp = client.post(STOP, headers=headers)
    assert resp.status_code == 401 and says in resp.json()["error"]
    assert says in _denied(before).message
    assert fake_host.requests == []


def test_a_session_cookie_alone_is_not_enough(fake_host, admin):
    # A logged-in browser (even an admin's) gets nothing from the API: no cross-site use.
    before = AuditEntry.objects.count()
    resp = admin.post(STOP)
    assert resp.status_code == 401
    assert _denied(before).username == ""
    assert admin.get(LIST).status_code == 401
    assert fake_host.requests == []


def test_a_token_with_a_secret_of_another_token_is_unknown(fake_host):
    good = token_for("vera", "viewer")
    other = token_for("oscar", "operator")
    forged = good[:17] + other[17:]
    resp = TokenClient(forged).get("/api/v1/hosts/")
    assert resp.status_code == 401 and resp.json()["error"] == "unknown token"


def test_an_expired_token_is_refused(fake_host):
    plain = token_for("oscar", "operator")
    ApiToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    before = AuditEntry.objects.count()
    resp = TokenClient(plain).post(STOP)
    assert resp.status_code == 401 and "expired" in resp.json()["error"]
    _denied(before)
    assert fake_host.requests == []


def test_a_revoked_token_is_refused(fake_host):
    plain = token_for("oscar", "operator")
    ApiToken.objects.update(revoked=timezone.now())
    resp = TokenClient(plain).post(STOP)
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]
    assert fake_host.requests == []


def test_a_disabled_users_tokens_stop_working(fake_host):
    plain = token_for("oscar", "operator")
    User.objects.filter(username="oscar").update(is_active=False)
    before = AuditEntry.objects.count()
    resp = TokenClient(plain).get(LIST)
    assert resp.status_code == 401 and "disabled" in resp.json()["error"]
    _denied(before)


def test_a_demoted_users_token_acts_with_the_new_role(fake_host):
    plain = token_for("oscar", "operator")
    user = User.objects.get(username="oscar")
    user.groups.set([Group.objects.get_or_create(name="viewer")[0]])
    before = AuditEntry.objects.count()
    resp = TokenClient(plain).post(STOP)
    assert resp.status_code == 403
    assert "needs the operator role; the token acts as viewer" in resp.json()["error"]
    assert _denied(before).username == "oscar"
    assert fake_host.requests == []


def test_a_token_acts_with_its_own_lower_role(fake_host):
    plain = token_for("alice", "admin", token_role="viewer")
    resp = TokenClient(plain).post(STOP)
    assert resp.status_code == 403 and "acts as viewer" in resp.json()["error"]
    assert fake_host.requests == []


def test_a_token_limited_to_a_host_is_refused_on_another(fake_host):
    plain = token_for("alice", "admin", hosts=["extra"])
    before = AuditEntry.objects.count()
    resp = TokenClient(plain).get(LIST)
    assert resp.status_code == 403 and "may not use host local" in resp.json()["error"]
    assert _denied(before).host == "local"
    listed = TokenClient(plain).get("/api/v1/hosts/").json()
    assert [h["name"] for h in listed] == ["extra"]
    assert fake_host.requests == []


def test_bad_input_is_refused_beside_its_field(fake_host):
    plain = token_for("oscar", "operator")
    before = AuditEntry.objects.count()
    resp = TokenClient(plain).post(
        f"/api/v1/hosts/local/containers/{CID}/stop/", {"t": "-5"}, content_type="application/json"
    )
    assert resp.status_code == 400
    assert "t" in resp.json()["fields"]
    _denied(before)
    assert fake_host.requests == []


def test_an_engine_error_is_json_with_the_engines_message(fake_host):
    plain = token_for("vera", "viewer")
    resp = TokenClient(plain).get("/api/v1/hosts/extra/containers/")
    assert resp.status_code == 503
    body = resp.json()
    assert body["engine"] and body["error"].startswith("the engine said: ")


# -- the description --------------------------------------------------------------------------


def _api_patterns() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every API operation the URL resolver serves."""
    found = set()

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and hasattr(p.callback, "api_ops"):
                for method in p.callback.api_ops:
                    found.add((openapi_path(route.removeprefix("api/v1/")), method.lower()))

    walk(get_resolver().url_patterns, "")
    return found


def test_the_description_and_the_urls_name_the_same_operations(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.1")
    described = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert described == _api_patterns()
    assert len(described) == len(ROUTES)
    assert openapi() == spec


# -- webhooks ---------------------------------------------------------------------------------


def test_only_an_admin_makes_a_webhook_and_its_secret_is_shown_once(fake_host, admin, operator):
    data = {"host": "local", "kind": "project", "target": "shop"}
    assert operator.post("/settings/webhooks/", data).status_code == 403
    page = admin.post("/settings/webhooks/", data).content.decode()
    hook = Webhook.objects.get()
    secret = re.search(r'id="webhook-secret">([^<]+)<', page).group(1)
    assert secret not in hook.digest and f"/api/v1/hooks/{hook.key}/" in page
    assert secret not in admin.get("/settings/webhooks/").content.decode()
    assert AuditEntry.objects.filter(action="webhook.create", outcome="ok").count() == 1
    bad = admin.post("/settings/webhooks/", {**data, "target": "Not A Name"})
    assert bad.status_code == 400 and Webhook.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "status", "says"),
    [
        ("no-secret", 401, "no secret"),
        ("wrong-secret", 401, "unknown webhook or wrong secret"),
        ("unknown-key", 401, "unknown webhook or wrong secret"),
        ("secret-in-url", 400, "query string"),
        ("revoked", 401, "revoked"),
        ("get", 405, "use POST"),
    ],
)
def test_a_webhook_refuses_and_does_nothing(fake_host, settings, tmp_path, case, status, says):
    from dashboard.api import hooks

    settings.STACKS_DIR = tmp_path / "stacks"
    hook, secret = hooks.make("local", "project", "shop", "alice")
    url = f"/api/v1/hooks/{hook.key}/"
    headers = {hooks.HEADER: secret}
    client = TokenClient()
    if case == "no-secret":
        headers = {}
    elif case == "wrong-secret":
        headers = {hooks.HEADER: secret[:-1] + ("A" if secret[-1] != "A" else "B")}
    elif case == "unknown-key":
        url = "/api/v1/hooks/" + "0" * 24 + "/"
    elif case == "secret-in-url":
        url += f"?secret={secret}"
        headers = {}
    elif case == "revoked":
        Webhook.objects.update(revoked=timezone.now())
    before = AuditEntry.objects.count()
    resp = client.get(url, headers=headers) if case == "get" else client.post(url, headers=headers)
    assert resp.status_code == status and says in resp.json()["error"]
    assert _denied(before).outcome == "denied"
    assert fake_host.requests == [] and not (tmp_path / "stacks").exists()
