"""Update checks without pulling (engine_client/updates.py) against the lab registry: the
registry's digest for a reference against every digest the local image is known by."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from engine_client import EngineClient, EngineError
from engine_client import updates as u
from engine_client.images import read_progress, registry_auth

from .support.lab import LAB_IMAGE, LAB_REGISTRY, RUN_ID, TEST_REPO, build_image
from .support.updates import move_tag_behind_the_back, publish, push, put_manifest_list


def image_ids(engine: EngineClient) -> list[str]:
    return sorted(i["Id"] for i in engine.images.list(all=True))


@pytest.fixture(scope="module")
def pushed(engine: EngineClient) -> Iterator[str]:
    """An image pushed to the lab registry as this run's `app:v1` and kept here."""
    ref = f"{TEST_REPO}/app{secrets.token_hex(2)}:v1"
    image_id = publish(engine, ref)
    yield ref
    with contextlib.suppress(EngineError):
        engine.images.remove(image_id, force=True)


def test_a_newer_push_is_an_update_and_nothing_is_pulled(engine, pushed):
    if engine.lab_kind == "podman":
        got = engine.updates.check(pushed)
        assert got.status == u.UNSUPPORTED and "not supported on this engine" in got.message
        return
    before = engine.updates.check(pushed)
    assert before.status == u.UP_TO_DATE, before
    new_digest = move_tag_behind_the_back(engine, pushed)
    images = image_ids(engine)
    after = engine.updates.check(pushed)
    assert after.status == u.UPDATE_AVAILABLE, after
    assert after.remote_digest == new_digest and new_digest not in after.local_digests
    assert image_ids(engine) == images  # nothing pulled


def test_an_image_known_by_two_digests_is_not_falsely_outdated(engine, netns, image_tags):
    """A multi-platform tag (a manifest list over the pushed manifest), pulled here: the image
    has two RepoDigests, and under either tag it is up to date."""
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint")
    repo = f"dashboard-test/r{RUN_ID}/multi{secrets.token_hex(2)}"
    single = image_tags(f"{LAB_REGISTRY}/{repo}:single")
    image_id = publish(engine, single)
    image_tags(image_id)
    list_digest = put_manifest_list(netns, LAB_REGISTRY, repo, "single", "multi")
    multi = image_tags(f"{LAB_REGISTRY}/{repo}:multi")
    read_progress(engine.images.pull(multi))
    digests = engine.images.inspect(image_id)["RepoDigests"]
    assert len(digests) == 2 and any(list_digest in d for d in digests), digests
    for ref in (single, multi):
        got = engine.updates.check(ref)
        assert got.status == u.UP_TO_DATE, got
    assert engine.updates.check(multi).remote_digest == list_digest


def test_a_locally_built_image_is_local_only_and_the_registry_is_not_asked(engine, image_tags):
    ref = image_tags(f"{TEST_REPO}/local{secrets.token_hex(2)}:v1")
    build_image(engine, ref, size=100)
    got = engine.updates.check(ref)
    if engine.lab_kind == "podman":
        assert got.status == u.UNSUPPORTED
        return
    assert got.status == u.LOCAL_ONLY and not got.asked_registry, got


def test_a_digest_pinned_reference_is_never_outdated(engine):
    digest = "sha256:" + "ab" * 32
    got = engine.updates.check(f"{TEST_REPO}/pinned@{digest}")
    assert got.status == u.PINNED and not got.asked_registry and not got.outdated


def test_a_tag_the_registry_does_not_have_says_not_found(engine, pushed):
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint")
    got = engine.updates.check(pushed.replace(":v1", ":nosuchtag"))
    assert got.status == u.FAILED and got.reason == u.NOT_FOUND, got
    assert got.message  # the registry's own words


def test_a_registry_that_wants_a_login_says_auth_then_uses_it(engine, auth_registry, image_tags):
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint")
    ref = image_tags(f"{auth_registry.addr}/dashboard-test/r{RUN_ID}/secret:v1")
    engine.images.tag(LAB_IMAGE, ref)
    auth = registry_auth(auth_registry.username, auth_registry.password, auth_registry.addr)
    push(engine, ref, auth=auth)
    without = engine.updates.check(ref)
    assert without.status == u.FAILED and without.reason == u.AUTH, without
    wrong = registry_auth(auth_registry.username, "wrong", auth_registry.addr)
    assert engine.updates.check(ref, auth=wrong).reason == u.AUTH
    assert engine.updates.check(ref, auth=auth).status == u.UP_TO_DATE


def test_an_unreachable_registry_says_unreachable(engine):
    if engine.lab_kind == "podman":
        pytest.skip("podman has no distribution endpoint")
    got = engine.updates.check("127.0.0.1:5999/nothing/here:v1")
    assert got.status == u.FAILED and got.reason == u.UNREACHABLE, got


# -- no engine: the comparison and the reasons ------------------------------------------------


def test_compare_looks_at_every_digest():
    image = {
        "RepoDigests": [
            "127.0.0.1:5000/a/first@sha256:" + "1" * 64,
            "127.0.0.1:5000/a/second@sha256:" + "2" * 64,
        ]
    }
    ref = "127.0.0.1:5000/a/second:v1"
    assert u.compare(ref, image, "sha256:" + "2" * 64).status == u.UP_TO_DATE
    assert u.compare(ref, image, "sha256:" + "3" * 64).status == u.UPDATE_AVAILABLE
    assert u.compare(ref, image, None).status == u.LOCAL_ONLY


def test_hub_names_are_one_repository():
    assert u.canonical_repo("busybox") == u.canonical_repo("docker.io/library/busybox")
    assert u.canonical_repo("a/b") == "docker.io/a/b"


@pytest.mark.parametrize(
    ("message", "status", "reason"),
    [
        ("toomanyrequests: You have reached your pull rate limit", 500, u.RATE_LIMITED),
        ("unauthorized: authentication required", 500, u.AUTH),
        ("no basic auth credentials", 500, u.AUTH),
        ("manifest unknown: manifest unknown", 404, u.NOT_FOUND),
        ('Get "http://127.0.0.1:5999/v2/": dial tcp: connection refused', 500, u.UNREACHABLE),
        ("something else", 401, u.AUTH),
        ("something else", 500, u.OTHER),
    ],
)
def test_failure_reasons(message, status, reason):
    assert u.failure_reason(message, status) == reason
