"""The Ctrl/Cmd-K palette's search (dashboard/palette.py, GET /palette/): what it finds,
for whom, and how a hung host is kept from holding up the others."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from dashboard import palette
from dashboard.access import set_hosts
from dashboard.engines import reset_clients

from .support.fakes import FakeHangingEngine
from .support.lab import LAB_IMAGE

pytestmark = pytest.mark.django_db

OPTION = re.compile(
    r'<a role="option"[^>]*data-kind="(\w+)" data-host="([^"]*)"[^>]*>'
    r'<span class="palette-name">([^<]*)</span>'
)


def found(resp) -> set[tuple[str, str, str]]:
    """(kind, host, name) of every option in a palette answer."""
    assert resp.status_code == 200, resp.content[:500]
    return set(OPTION.findall(resp.content.decode()))


def ask(client, q: str):
    return client.get("/palette/", {"q": q}, headers={"HX-Request": "true"})


@pytest.fixture
def no_engine(settings):
    """A host that is not there (refused at once): these tests need no engine."""
    settings.DOCKER_HOST = "unix:///run/nonexistent/palette.sock"
    settings.DASHBOARD_HOST_NAME = "local"
    settings.DASHBOARD_HOSTS = ""
    reset_clients()
    palette.forget()
    yield settings
    palette.forget()
    reset_clients()


@pytest.fixture
def two_hosts(lab_settings):
    """The lab engine under two host names: what one finds on "other" a user limited to
    "local" must not."""
    lab_settings.DASHBOARD_HOSTS = f"other={lab_settings.DOCKER_HOST}"
    palette.forget()
    yield lab_settings
    palette.forget()


def test_every_page_the_palette_offers_exists():
    for title, url_name, per_host in palette.PAGES:
        url = reverse(url_name, args=["local"] if per_host else [])
        assert palette.role_for_url(url) in ("viewer", "operator", "admin"), title


@pytest.mark.parametrize(
    "q, message",
    [("x" * 129, "at most 128 characters"), ("web\x1b[31m", "control characters")],
)
def test_hostile_search_text_is_refused_with_a_message(no_engine, viewer, q, message):
    resp = ask(viewer, q)
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="palette-q-error"' in html and message in html
    assert not OPTION.search(html)


def test_an_unreachable_host_is_named_with_what_went_wrong(no_engine, viewer):
    resp = ask(viewer, "containers")
    assert ("page", "local", "Containers") in found(resp)
    assert 'class="palette-problem" data-host="local"' in resp.content.decode()


def test_the_palette_finds_only_what_the_user_may_see(two_hosts, make_container, admin, viewer):
    a = make_container(start=False)["Name"].lstrip("/")
    for_admin = found(ask(admin, a))
    assert {("container", "local", a), ("container", "other", a)} <= for_admin
    image = LAB_IMAGE.split(":")[0].split("/")[-1]
    assert any(k == "image" and image in n for k, _, n in found(ask(admin, image)))

    # A viewer limited to one host finds nothing on the other, its pages included.
    set_hosts(User.objects.get(username="vera-viewer"), ["local"])
    for_viewer = found(ask(viewer, a))
    assert ("container", "local", a) in for_viewer
    assert not [f for f in for_viewer if f[1] == "other"]
    pages = found(ask(viewer, "containers"))
    assert ("page", "local", "Containers") in pages and ("page", "other", "Containers") not in pages
    assert ("host", "other", "other") not in found(ask(viewer, "other"))

    # Admin pages are offered to admins only.
    admin_pages = {("page", "", "Users"), ("page", "", "Audit trail"), ("page", "", "Manage hosts")}
    assert admin_pages <= found(ask(admin, "u")) | found(ask(admin, "manage hosts"))
    assert not admin_pages & (found(ask(viewer, "u")) | found(ask(viewer, "manage hosts")))
    assert ("page", "local", "New container") in found(ask(admin, "new container"))
    assert ("page", "local", "New container") not in found(ask(viewer, "new container"))


def test_a_hung_host_does_not_hold_up_the_others(engine, lab_settings, make_container, admin):
    if engine.lab_engine != "docker":
        pytest.skip("the same on every engine: one hung fake beside one real engine")
    name = make_container(start=False)["Name"].lstrip("/")
    budget = 0.8
    with FakeHangingEngine() as hang:
        lab_settings.DASHBOARD_HOSTS = f"stuck={hang.url}"
        lab_settings.PALETTE_HOST_BUDGET = budget
        lab_settings.ENGINE_TIMEOUT = 4
        palette.forget()
        try:
            # Django's first request of the process (URLs, templates) is not what is timed.
            assert ask(admin, "\x1b").status_code == 400
            started = time.monotonic()
            resp = ask(admin, name)
            elapsed = time.monotonic() - started
            assert ("container", "local", name) in found(resp)
            assert "stuck timed out" in resp.content.decode()
            # Within the budget, give or take a loaded machine's scheduling (waiting for the
            # hung host would take ENGINE_TIMEOUT, 4 s).
            assert elapsed < budget + 1.0, elapsed
            # The next key does not wait for the hung host again.
            started = time.monotonic()
            resp = ask(admin, name[:-1])
            elapsed = time.monotonic() - started
            assert ("container", "local", name) in found(resp)
            assert "stuck timed out" in resp.content.decode()
            assert elapsed < budget, elapsed
        finally:
            palette.forget()
            reset_clients()


def test_a_host_whose_address_changed_is_read_no_more(no_engine, viewer):
    ask(viewer, "x")
    before = {h.url for h in palette._indexes}
    assert before == {"unix:///run/nonexistent/palette.sock"}
    no_engine.DOCKER_HOST = "unix:///run/nonexistent/moved.sock"
    ask(viewer, "x")
    assert {h.url for h in palette._indexes} == {"unix:///run/nonexistent/moved.sock"}


def test_a_timed_out_host_is_asked_again_once(admin, settings):
    """The answer that names a host as timed out asks again a moment later (the person may
    type nothing more); the second answer does not ask a third time."""
    from dashboard.palette import HostProblem, Results
    from dashboard.views import palette as view

    slow = Results("web", [], [HostProblem("stuck", "stuck timed out", timed_out=True)])
    first = view._fragment({"results": slow, "retried": False}).content.decode()
    assert 'id="palette-retry"' in first and "q=web&amp;retry=1" in first
    again = view._fragment({"results": slow, "retried": True}).content.decode()
    assert 'id="palette-retry"' not in again
    fine = Results("web", [], [HostProblem("down", "down: refused")])
    assert 'id="palette-retry"' not in view._fragment({"results": fine}).content.decode()
