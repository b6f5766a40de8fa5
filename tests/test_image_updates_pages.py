"""The image updates pages against the lab registry: a check asked for (audited, with the
saved login), the badge, the update of a selection, one at a time."""

from __future__ import annotations

import contextlib
import secrets

import pytest

from dashboard import credentials
from dashboard.models import AuditEntry, ImageCheck
from engine_client import EngineError
from engine_client.images import registry_auth

from .support.lab import RUN_ID, TEST_LABEL, TEST_REPO
from .support.updates import move_tag_behind_the_back, publish, push

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


def test_a_check_asked_for_shows_the_badge_and_the_update_runs(
    engine, operator, outdated, make_container
):
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

    done = operator.post(f"{PAGE}apply/", {"ids": [c["Id"]]}).content.decode()
    assert 'data-outcome="updated"' in done, done
    (upd,) = AuditEntry.objects.filter(action="container.update")
    assert upd.outcome == "ok" and upd.params["result"] == "updated"
    new = engine.containers.inspect(c["Name"].lstrip("/"))
    assert new["State"]["Running"] and new["Config"]["Labels"][TEST_LABEL] == RUN_ID
    with contextlib.suppress(EngineError):
        engine.containers.remove(new["Id"], force=True)


def test_a_bulk_update_stops_at_the_first_failure(engine, operator, lab_settings, make_container):
    compose_made = make_container(Labels={"com.docker.compose.project": f"p{RUN_ID}"})
    other = make_container()
    body = operator.post(f"{PAGE}apply/", {"ids": [compose_made["Id"], other["Id"]]}).content
    text = body.decode()
    # A compose project the dashboard has no files of: refused, with how to adopt it.
    assert 'data-outcome="failed"' in text and "adopt the project" in text, text
    assert "Not tried after that failure: 1 container(s)" in text
    assert AuditEntry.objects.filter(action="container.update").count() == 1


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
