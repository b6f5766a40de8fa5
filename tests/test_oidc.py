"""Sign-in with a real OpenID provider (tests/support/oidc.py: django-oidc-provider over TLS
with a test CA, in processes of its own): groups mapped to roles and hosts at each login,
and each refusal (audience, issuer, replay, signature, claim type) shown and audited."""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session
from django.contrib.auth.models import User

from dashboard import oidc
from dashboard.access import granted_hosts, role_of
from dashboard.models import AuditEntry, OIDCIdentity

from .support.clients import ORIGIN, CsrfClient, cookie_of
from .support.oidc import (
    CLIENT_ID,
    CLIENT_SECRET,
    openid_provider,
    second_instance,
    sign_in_at_provider,
)

pytestmark = pytest.mark.django_db
CALLBACK = "http://testserver/login/oidc/callback/"
PW = "provider-pw-1"
USERS = [
    ("dora", PW, ["devs"]),
    ("olga", PW, ["ops", "devs"]),
    ("nobody", PW, ["marketing"]),
    ("fake-aud-mallory", PW, ["ops"]),
    ("fake-flip-mallory", PW, ["ops"]),
    ("fake-strgroups-mallory", PW, ["ops"]),
]


@pytest.fixture(scope="module")
def op():
    with openid_provider([CALLBACK], USERS) as provider:
        yield provider


@pytest.fixture(scope="module")
def second(op):
    """A second instance: its discovery address (it names itself https://localhost:<port>)."""
    return second_instance(op)


@pytest.fixture
def sso(op, settings):
    settings.OIDC_ISSUER = op.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_CA_BUNDLE = op.ca_bundle
    settings.OIDC_ROLE_MAP = "admins=admin,ops=operator,devs=viewer"
    settings.OIDC_HOST_MAP = "devs=local,lab2"
    settings.OIDC_CREATE_USERS = True
    settings.OIDC_NAME = "Test IdP"
    oidc._metadata.clear()
    yield op
    oidc._metadata.clear()


def start(client: CsrfClient) -> str:
    resp = client.get("/login/oidc/")
    assert resp.status_code == 302, resp.content[:300]
    return resp["Location"]


def sign_in(client: CsrfClient, op, name: str, password: str = PW):
    back = sign_in_at_provider(start(client), name, password, op.ca_bundle)
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}"), back


def last_audit() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()  # type: ignore[return-value]


def test_login_page_offers_the_provider(sso):
    page = CsrfClient().get("/login/").content.decode()
    assert "Sign in with Test IdP" in page


def test_groups_map_to_role_and_hosts_and_are_read_again_at_next_login(sso):
    client = CsrfClient()
    resp, _ = sign_in(client, sso, "olga")
    assert resp.status_code == 302 and resp["Location"] == "/"
    user = User.objects.get(username="olga")
    assert role_of(user) == "operator"
    assert granted_hosts(user) == {"local", "lab2"}
    assert not user.is_superuser and not user.has_usable_password()
    assert OIDCIdentity.objects.filter(user=user, issuer=sso.issuer).exists()
    entry = last_audit()
    assert entry.outcome == AuditEntry.OK and "logged in with Test IdP" in entry.message
    assert client.get("/hosts/").status_code == 200

    # The ops group taken away at the provider: the next login is a viewer's.
    sso.set_user("olga", PW, ["devs"])
    try:
        resp, _ = sign_in(CsrfClient(), sso, "olga")
        assert resp.status_code == 302
        assert role_of(User.objects.get(username="olga")) == "viewer"
        # Out of every mapped group: no access at all (not viewer).
        sso.set_user("olga", PW, ["marketing"])
        resp, _ = sign_in(CsrfClient(), sso, "olga")
        assert resp.status_code == 403
        assert "in no group this dashboard gives a role to" in resp.content.decode()
    finally:
        sso.set_user("olga", PW, ["ops", "devs"])


def test_new_users_only_when_allowed(sso, settings):
    settings.OIDC_CREATE_USERS = False
    resp, _ = sign_in(CsrfClient(), sso, "dora")
    assert resp.status_code == 403
    assert "new accounts are not made at sign-in" in resp.content.decode()
    assert not User.objects.filter(username="dora").exists()
    assert last_audit().outcome == AuditEntry.DENIED


def test_local_account_of_that_name_is_not_taken_over(sso):
    User.objects.create_user("dora", password="local-pw-123")
    resp, _ = sign_in(CsrfClient(), sso, "dora")
    assert resp.status_code == 403
    assert "already exists here and is not linked" in resp.content.decode()
    assert not OIDCIdentity.objects.exists()


def refused(resp, words: str, logged_in_before: bool = False) -> None:
    body = resp.content.decode()
    assert resp.status_code == 403, body[:500]
    assert html.escape(words) in body, body[:2000]
    if not logged_in_before:
        assert "_auth_user_id" not in resp.wsgi_request.session
    entry = last_audit()
    assert entry.outcome == AuditEntry.DENIED and words in entry.message, entry.message


def test_token_issued_to_another_client_is_refused(sso):
    resp, _ = sign_in(CsrfClient(), sso, "fake-aud-mallory")
    refused(resp, "is for 'other-app', not this dashboard's client")
    assert not User.objects.filter(username="fake-aud-mallory").exists()


def test_one_flipped_byte_in_the_signature_is_refused(sso):
    resp, _ = sign_in(CsrfClient(), sso, "fake-flip-mallory")
    refused(resp, "signature does not verify")


def test_groups_claim_of_the_wrong_type_is_refused(sso):
    resp, _ = sign_in(CsrfClient(), sso, "fake-strgroups-mallory")
    refused(resp, "claim is str, not a list of group names")


def test_replayed_callback_is_refused(sso):
    client = CsrfClient()
    resp, back = sign_in(client, sso, "dora")
    assert resp.status_code == 302
    parts = urlsplit(back)
    # The same callback again, in the same browser and in another one.
    refused(client.get(f"{parts.path}?{parts.query}"), "not the one under way", True)
    refused(CsrfClient().get(f"{parts.path}?{parts.query}"), "not the one under way")
    # In a browser with a sign-in of its own under way: the old state does not match it.
    other = CsrfClient()
    start(other)
    refused(other.get(f"{parts.path}?{parts.query}"), "state does not match")


def test_second_provider_is_refused(sso, second, settings):
    """Another instance (same users, clients and signing key) on another port, whose issuer
    is not the address it is configured by."""
    settings.OIDC_ISSUER = second
    oidc._metadata.clear()
    resp = CsrfClient().get("/login/oidc/")
    refused(resp, "says its issuer is 'https://localhost:")


def test_id_token_from_another_issuer_is_refused(sso, second):
    """The ID token's own check, past discovery: a token the second instance signed with the
    shared key for the dashboard's client, checked as the configured provider's."""
    b = second.replace("127.0.0.1", "localhost")
    s = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uri=CALLBACK,
        scope="openid profile groups",
        code_challenge_method="S256",
    )
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = s.create_authorization_url(b + "/authorize", code_verifier=verifier, nonce=nonce)
    code = parse_qs(urlsplit(sign_in_at_provider(url, "dora", PW, sso.ca_bundle)).query)["code"]
    token = s.fetch_token(b + "/token", code=code[0], code_verifier=verifier, verify=sso.ca_bundle)
    _, keys = oidc.provider()
    with pytest.raises(oidc.Refused, match="was issued by 'https://localhost:"):
        oidc.check_id_token(token["id_token"], keys, nonce)
    # The same token passes every other check: only the issuer was wrong.
    with pytest.raises(oidc.Refused, match="signature"):
        oidc.check_id_token(token["id_token"][:-4] + "AAAA", keys, nonce)


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_websockets_of_a_provider_session(sso):
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application

    client = CsrfClient()
    resp, _ = await sync_to_async(sign_in)(client, sso, "dora")
    assert resp.status_code == 302
    comm = WebsocketCommunicator(
        application, "/ws/alerts/badge/", headers=[ORIGIN, cookie_of(client)]
    )
    connected, _ = await comm.connect()
    assert connected
    await comm.receive_output(timeout=5)  # the badge, sent on connect
    await sync_to_async(client.post)("/logout/")
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    await comm.wait()


def test_id_token_with_another_sign_ins_nonce_is_refused(sso):
    """A token from an earlier sign-in, replayed into a later one: its nonce is not the
    later sign-in's (the provider refuses a used code itself, so this is the token check)."""
    s = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uri=CALLBACK,
        scope="openid profile groups",
        code_challenge_method="S256",
    )
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = s.create_authorization_url(
        sso.issuer + "/authorize", code_verifier=verifier, nonce=nonce
    )
    code = parse_qs(urlsplit(sign_in_at_provider(url, "dora", PW, sso.ca_bundle)).query)["code"]
    token = s.fetch_token(
        sso.issuer + "/token", code=code[0], code_verifier=verifier, verify=sso.ca_bundle
    )
    _, keys = oidc.provider()
    assert oidc.check_id_token(token["id_token"], keys, nonce)["sub"]
    with pytest.raises(oidc.Refused, match="does not carry this sign-in's nonce"):
        oidc.check_id_token(token["id_token"], keys, secrets.token_urlsafe(16))
