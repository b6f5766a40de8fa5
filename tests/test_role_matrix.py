"""The role matrix: every URL pattern and every websocket route, for every persona.

Each view declares the role it needs (the access decorators set `required_role`); this walks
all of them, so a view added without a decorator fails here. The host is a recording fake
engine (tests/support/fakes.py): an allowed admin POST must not reach a real engine's resources.
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from dashboard.access import ROLES
from dashboard.asgi import application
from dashboard.models import AuditEntry, HostGrant

from .support.api import TokenClient, token_for
from .support.clients import ORIGIN, cookie_for
from .support.routes import all_routes, websocket_routes

pytestmark = pytest.mark.django_db(transaction=True)

# Public on purpose, each with its own tests (tests/test_operability.py, tests/test_oidc.py;
# the API's description: tests/test_api_tokens.py).
PUBLIC = {"login", "logout", "healthz", "metrics", "api-openapi", "oidc-login", "oidc-callback"}
RANK = {None: -1, **{r: i for i, r in enumerate(ROLES)}}
# The API's routes take a token, never a session: their own matrix is below.
API_ROUTES = [r for r in all_routes() if hasattr(r.callback, "api_ops")]
ROUTES = [r for r in all_routes() if r.name not in PUBLIC and r not in API_ROUTES]
# Webhooks take their own secret, not a token (tests/test_api_tokens.py).
TOKEN_ROUTES = [r for r in API_ROUTES if getattr(r.callback, "api_auth", "") != "webhook"]
WS_ROUTES = websocket_routes()


def test_every_view_declares_its_role():
    missing = [r.name for r in ROUTES if r.required_role not in ROLES]
    assert not missing, f"views without @require_role / @require_exec: {missing}"


def test_every_consumer_declares_its_role():
    from dashboard.consumers.exec import ExecConsumer

    for name, _, consumer in WS_ROUTES:
        assert consumer is ExecConsumer or getattr(consumer, "role", None) in ROLES, name


@pytest.mark.parametrize("persona", ["anonymous", "viewer", "operator", "admin"])
def test_role_matrix_over_every_url(request, fake_host, persona):
    client = request.getfixturevalue(persona)
    User.objects.get_or_create(pk=1, defaults={"username": "someone-else"})
    have = RANK[None if persona == "anonymous" else persona]
    wrong = []
    for route in ROUTES:
        statuses = []
        for method in ("get", "post"):
            need = RANK[route.role_for(method)]
            before = AuditEntry.objects.count()
            resp = getattr(client, method)(route.url)
            status = resp.status_code
            if persona == "anonymous":
                ok = status == 302 and resp["Location"].startswith("/login/")
            elif have < need:
                # 405 for the method the view does not take at all (checked before the role).
                ok = status in (403, 405)
            else:
                ok = status not in (403,) and not (
                    status == 302 and resp["Location"].startswith("/login/")
                )
            if method == "post" and AuditEntry.objects.count() == before:
                wrong.append((route.name, method, status, "POST left no audit entry"))
            if not ok:
                wrong.append((route.name, method, status, f"{persona} needs {route.required_role}"))
            statuses.append(status)
        if persona != "anonymous" and have < RANK[route.role_for("get")] and 403 not in statuses:
            wrong.append((route.name, "any", statuses, "no method refused with 403"))
    assert not wrong


def test_a_user_limited_to_one_host_is_refused_on_the_others(fake_host, viewer):
    user = User.objects.get(username="vera-viewer")
    HostGrant.objects.create(user=user, host="extra")
    host_routes = [r for r in ROUTES if r.url.startswith("/hosts/local/")]
    assert len(host_routes) > 20
    for route in host_routes:
        statuses = [viewer.get(route.url).status_code, viewer.post(route.url).status_code]
        assert set(statuses) <= {403, 405} and 403 in statuses, (route.name, statuses)
    # ... and never sees it offered.
    page = viewer.get("/hosts/").content.decode()
    assert "host-card-extra" in page and "host-card-local" not in page
    assert fake_host.requests == []


def test_every_api_route_declares_its_roles():
    assert len(TOKEN_ROUTES) > 5
    for route in TOKEN_ROUTES:
        assert all(op.role in ROLES for op in route.callback.api_ops.values()), route.name


@pytest.mark.parametrize("role", ROLES)
def test_token_matrix_over_every_api_route(fake_host, role):
    """A token of each role on every API route and method: allowed, or 403 (405 for a method
    the route does not take); every POST leaves an audit entry."""
    client = TokenClient(token_for(f"tok-{role}", role))
    wrong = []
    for route in TOKEN_ROUTES:
        for method in ("get", "post"):
            op = route.callback.api_ops.get(method.upper())
            before = AuditEntry.objects.count()
            status = getattr(client, method)(route.url).status_code
            if op is None:
                ok = status == 405
            elif RANK[role] < RANK[op.role]:
                ok = status == 403
            else:
                ok = status not in (401, 403, 405)
            if not ok:
                wrong.append((route.url, method, status, role))
            if method == "post" and AuditEntry.objects.count() == before:
                wrong.append((route.url, method, status, "POST left no audit entry"))
    assert not wrong


def test_no_token_and_a_session_alone_are_401_on_every_api_route(fake_host, admin):
    wrong = []
    for route in API_ROUTES:
        for client in (TokenClient(), admin):
            for method in ("get", "post"):
                status = getattr(client, method)(route.url).status_code
                # A webhook checks the method before its secret.
                hook_405 = route not in TOKEN_ROUTES and method.upper() not in (
                    route.callback.api_ops
                )
                if status != (405 if hook_405 else 401):
                    wrong.append((route.url, method, status))
    assert not wrong
    assert fake_host.requests == []


async def _close_code(path: str, headers: list[tuple[bytes, bytes]]) -> int | None:
    """The close code a refused socket gets, or None when it was accepted."""
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect(timeout=5)
    await comm.disconnect()
    return None if connected else code


@pytest.fixture
def ws_cookies(fake_host, settings):
    settings.STREAM_LINGER_SECONDS = 0
    cookies = {None: None}
    for role in ROLES:
        cookies[role] = cookie_for(f"ws-{role}", role)
    return cookies


async def test_every_websocket_route_checks_the_role(ws_cookies):
    from dashboard.consumers.exec import ExecConsumer
    from dashboard.streams.hub import get_hub

    wrong = []
    for name, path, consumer in WS_ROUTES:
        # An operator also needs the exec grant for a shell; these personas have none.
        need = RANK["admin" if consumer is ExecConsumer else consumer.role]
        for role, cookie in ws_cookies.items():
            headers = [ORIGIN] + ([cookie] if cookie else [])
            code = await _close_code(path, headers)
            refused = code is not None
            if (RANK[role] < need) != refused or (refused and code != 4403):
                wrong.append((name, role, code))
    get_hub().close_all()
    assert not wrong
