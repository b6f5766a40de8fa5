"""An engine that is not there: every page says which engine and why, nothing 500s."""

import pytest

from dashboard.engines import reset_clients
from dashboard.models import AuditEntry

from .support.fakes import FakeHangingEngine

pytestmark = pytest.mark.django_db

MISSING = "unix:///run/dl/missing-engine.sock"
CID = "b" * 64


@pytest.fixture
def no_engine(settings):
    settings.DOCKER_HOST = MISSING
    reset_clients()
    yield
    reset_clients()


@pytest.mark.parametrize(
    "url", ["/hosts/local/containers/", f"/hosts/local/containers/{CID}/", "/hosts/local/"]
)
def test_pages_say_which_engine_is_unreachable_and_why(no_engine, viewer, url):
    resp = viewer.get(url)
    assert resp.status_code == 503
    html = resp.content.decode()
    assert MISSING in html
    assert "No such file or directory" in html
    assert "Set DOCKER_HOST" in html, "a newcomer is told what to do"
    assert 'data-retry="5"' in html, "the page retries by itself"


def test_an_action_on_a_missing_engine_says_so_beside_the_row(no_engine, operator):
    resp = operator.hx_post(f"/hosts/local/containers/{CID}/stop/", target="container-bbbbbbbbbbbb")
    assert resp.status_code == 503
    assert resp["HX-Retarget"] == "#container-bbbbbbbbbbbb-msg"
    assert MISSING in resp.content.decode()
    entry = AuditEntry.objects.get(action="container.stop")
    assert entry.outcome == "failed" and MISSING in entry.message


def test_a_silent_engine_costs_a_page_its_timeout_only(settings, viewer):
    import time

    with FakeHangingEngine() as fake:
        settings.DOCKER_HOST = fake.url
        settings.ENGINE_TIMEOUT = 0.5
        settings.ENGINE_CONNECT_TIMEOUT = 0.5
        reset_clients()
        try:
            started = time.monotonic()
            resp = viewer.get("/hosts/local/containers/")
            elapsed = time.monotonic() - started
        finally:
            reset_clients()
    assert resp.status_code == 503
    assert "did not answer" in resp.content.decode()
    assert elapsed < 3


def test_the_dashboard_recovers_when_the_engine_comes_back(settings, viewer):
    from .support.fakes import FakeEngine, short_socket_path

    path = short_socket_path("back")
    settings.DOCKER_HOST = f"unix://{path}"
    reset_clients()
    try:
        with FakeEngine("1.41", path=path):
            assert viewer.get("/hosts/local/containers/").status_code == 200
        # The engine stops: the same client now says so...
        assert viewer.get("/hosts/local/containers/").status_code == 503
        # ...and answers again, negotiating afresh, once the engine is back (a newer one).
        with FakeEngine("1.44", path=path) as back:
            assert viewer.get("/hosts/local/containers/").status_code == 200
            assert back.requests[0] == "/_ping"
            assert back.requests[1].startswith("/v1.44/containers/json")
    finally:
        reset_clients()
