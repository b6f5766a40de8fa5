"""The image updates pages against the lab registry: a check asked for (audited, with the
saved login), the badge. The update of a selection is a job: test_image_update_jobs.py."""

from __future__ import annotations

import contextlib
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from dashboard import credentials
from dashboard.models import AuditEntry, ImageCheck
from engine_client import EngineError
from engine_client.images import registry_auth

from .support.clients import persona
from .support.lab import RUN_ID, TEST_LABEL, TEST_REPO
from .support.netns_relay import run_in_netns
from .support.updates import move_tag_behind_the_back, publish, push, run_update_job

PAGE = "/hosts/local/updates/"


@pytest.fixture
def outdated(engine, lab_settings, make_container, image_tags):
    """A container on this run's `web:v1`, whose tag the registry has moved since."""
    ref = image_tags(f"{TEST_REPO}/web{secrets.token_hex(2)}:v1")
    old_id = image_tags(publish(engine, ref))
    c = make_container(Image=ref)
    new_digest = move_tag_behind_the_back(engine, ref)
    yield ref, c, new_digest
    # The container first (Podman removes no image a container still uses, forced or not),
    # then every image of the repository (the update pulls the new one), matched by its
    # tags: Podman's `reference` filter does not take a repository without its tag.
    for made in engine.containers.list(all=True, filters={"name": [c["Name"].lstrip("/")]}):
        with contextlib.suppress(EngineError):
            engine.containers.remove(made["Id"], force=True)
    repo = ref.rpartition(":")[0]
    for image in engine.images.list():
        repos = {
            t.rpartition(":")[0].removeprefix("localhost/") for t in image.get("RepoTags") or []
        }
        if repo in repos or image["Id"] == old_id:
            with contextlib.suppress(EngineError):
                engine.images.remove(image["Id"], force=True)


def test_a_check_asked_for_shows_the_badge(engine, operator, outdated, make_container):
    ref, c, new_digest = outdated
    bystander = make_container()
    images = sorted(i["Id"] for i in engine.images.list(all=True))
    assert 'data-update="' not in operator.get(PAGE).content.decode()  # never checked

    resp = operator.post(f"{PAGE}check/", {"reference": ref})
    assert resp.status_code == 302
    (entry,) = AuditEntry.objects.filter(action="image.update_check")
    assert entry.outcome == "ok" and entry.target_id == ref
    page = operator.get(f"{PAGE}?outdated=1").content.decode()
    if engine.lab_kind == "podman":
        assert "not supported on this engine" in operator.get(PAGE).content.decode()
        return
    assert 'data-update="update_available"' in page and c["Name"].lstrip("/") in page
    assert new_digest in page  # in the badge's title
    assert sorted(i["Id"] for i in engine.images.list(all=True)) == images  # nothing pulled
    # The containers list: the badge in the row, and a filter for just those.
    listed = operator.get("/hosts/local/containers/?updates=on").content.decode()
    assert 'data-update="update_available"' in listed and c["Id"] in listed
    assert bystander["Id"] not in listed
    assert bystander["Id"] in operator.get("/hosts/local/containers/").content.decode()
    q = ref.rpartition(":")[0].rpartition("/")[2]
    images_page = operator.get(f"/hosts/local/images/?q={q}").content.decode()
    assert 'data-update="update_available"' in images_page
    # From the cache now: a second page asks nothing.
    checked = ImageCheck.objects.get(reference=ref).checked_at
    operator.get(PAGE)
    assert ImageCheck.objects.get(reference=ref).checked_at == checked


def test_a_viewer_cannot_ask_for_a_check(engine, viewer, lab_settings):
    assert viewer.post(f"{PAGE}check/", {}).status_code == 403
    assert not ImageCheck.objects.exists()


def test_a_registry_that_wants_a_login_fails_as_auth_until_one_is_saved(
    engine, operator, lab_settings, auth_registry, image_tags
):
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint")
    ref = image_tags(f"{auth_registry.addr}/dashboard-test/r{RUN_ID}/gated:v1")
    engine.images.tag(engine.lab_image_name, ref)
    auth = registry_auth(auth_registry.username, auth_registry.password, auth_registry.addr)
    push(engine, ref, auth=auth)
    operator.post(f"{PAGE}check/", {"reference": ref})
    row = ImageCheck.objects.get(reference=ref)
    assert row.status == "failed" and row.reason == "auth", row.message
    credentials.save(
        "local", auth_registry.addr, auth_registry.username, auth_registry.password, "t"
    )
    operator.post(f"{PAGE}check/", {"reference": ref})
    assert ImageCheck.objects.get(reference=ref).status == "up_to_date"


def test_a_bad_reference_is_refused_beside_the_field(engine, operator, lab_settings):
    resp = operator.post(f"{PAGE}check/", {"reference": "UPPER/Case::x"})
    assert resp.status_code == 400 and 'role="alert"' in resp.content.decode()
    assert not ImageCheck.objects.exists()


def _inspect_by_name(engine, name: str) -> dict:
    return engine.containers.inspect(name)


@pytest.mark.django_db(transaction=True)
async def test_an_update_runs_as_a_job_showing_its_phases_live(hub, engine, outdated):
    ref, c, new_digest = outdated
    operator = await sync_to_async(persona)(f"olga-{secrets.token_hex(2)}", "operator")
    seen = await run_update_job(operator, [c["Id"]])
    # The phases as they started (a quick one may share a message with the next), the
    # pull's progress while it ran, then the outcome with every phase passed.
    phases = [m.group(1) for html in seen for m in re.finditer(r'data-phase="([^"]+)"', html)]
    assert phases.index("pull") < phases.index("recreate") < phases.index("updated"), phases
    # The pull's bars reached the page (a quick pull may show them only with the next phase).
    assert any('class="overall"' in html for html in seen)
    reached = re.findall(r'<li class="phase reached[^"]*">([^<]+)</li>', seen[-1])
    assert [p.strip() for p in reached] == ["pull", "recreate", "wait", "done"], reached
    assert 'data-outcome="updated"' in seen[-1], seen[-1]
    upd = await sync_to_async(AuditEntry.objects.get)(action="container.update")
    assert upd.outcome == "ok" and upd.params["result"] == "updated"
    assert upd.username.startswith("olga")
    new = await sync_to_async(_inspect_by_name)(engine, c["Name"].lstrip("/"))
    assert new["State"]["Running"] and new["Config"]["Labels"][TEST_LABEL] == RUN_ID
    assert new["Image"] != c["Image"]
    with contextlib.suppress(EngineError):
        await sync_to_async(engine.containers.remove)(new["Id"], force=True)


@pytest.mark.django_db(transaction=True)
async def test_a_bulk_update_stops_at_the_first_failure(hub, engine, lab_settings, make_container):
    made = sync_to_async(make_container)
    compose_made = await made(Labels={"com.docker.compose.project": f"p{RUN_ID}"})
    other = await made()
    operator = await sync_to_async(persona)(f"oscar-{secrets.token_hex(2)}", "operator")
    seen = await run_update_job(operator, [compose_made["Id"], other["Id"]])
    last = seen[-1]
    # A compose project the dashboard has no files of: refused, with how to adopt it.
    assert 'data-outcome="failed"' in last and "adopt the project" in last, last
    assert "Not tried after that failure: 1 container(s)" in last
    assert f'data-id="{other["Id"]}" data-phase="not tried"' in last
    assert await sync_to_async(AuditEntry.objects.filter(action="container.update").count)() == 1


@pytest.mark.django_db(transaction=True)
def test_an_update_found_says_how_old_the_new_image_and_this_one_are(
    engine, operator, netns, request
):
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint: no update is found there")
    ref, c, new_digest = request.getfixturevalue("outdated")

    def check() -> None:
        try:
            operator.post(f"{PAGE}check/", {"reference": ref})
        finally:
            connections.close_all()

    # The dashboard reads the registry's config blob itself: from where the registry is.
    run_in_netns(f"/var/run/netns/{netns}", check)
    row = ImageCheck.objects.get(reference=ref)
    assert row.remote_digest == new_digest and row.remote_created is not None
    assert abs(timezone.now() - row.remote_created) < timedelta(minutes=10)  # built just now
    page = operator.get(f"{PAGE}?outdated=1").content.decode()
    assert 'data-age="new"' in page and 'data-age="local"' in page, page
    # Once per digest: a check asked for again keeps it, without reading the registry (from
    # out here it could not: a read would have left no date).
    ImageCheck.objects.filter(pk=row.pk).update(remote_created=datetime(2001, 1, 1, tzinfo=UTC))
    operator.post(f"{PAGE}check/", {"reference": ref})
    assert ImageCheck.objects.get(pk=row.pk).remote_created.year == 2001
