"""Updating a container to its reference's newest image (engine_client/image_update.py)
against the lab registry: same settings after the update, a rollback when the new image's
healthcheck fails."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from engine_client import EngineClient, EngineError
from engine_client import updates as u
from engine_client.image_update import update_container

from .support.lab import RUN_ID, TEST_LABEL, TEST_REPO
from .support.updates import move_tag_behind_the_back, publish


@pytest.fixture
def app(engine: EngineClient) -> Iterator[str]:
    """This test's own `app:v1` in the lab registry, kept here; its images removed after."""
    ref = f"{TEST_REPO}/upd{secrets.token_hex(3)}:v1"
    publish(engine, ref)
    yield ref
    for image in engine.images.list(filters={"reference": [ref.rpartition(":")[0]]}):
        with contextlib.suppress(EngineError):
            engine.images.remove(image["Id"], force=True)


@pytest.fixture
def named(engine: EngineClient) -> Iterator[str]:
    """A container name for this test; whatever carries it is removed after."""
    name = f"dt-{RUN_ID}-upd{secrets.token_hex(3)}"
    yield name
    with contextlib.suppress(EngineError):
        engine.containers.remove(name, force=True)


def run(engine: EngineClient, ref: str, name: str, network: str) -> dict:
    created = engine.containers.create(
        {
            "Image": ref,
            "Cmd": ["sleep", "300"],
            "Env": ["GREETING=hello"],
            "Labels": {TEST_LABEL: RUN_ID, "app.role": "web"},
            "StopTimeout": 1,
            "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}},
        },
        name=name,
    )
    engine.networks.connect(network, created["Id"], aliases=["api"])
    engine.containers.start(created["Id"])
    return engine.containers.inspect(created["Id"])


def test_an_update_recreates_with_the_same_settings_and_it_runs(engine, app, named, make_network):
    net = make_network()["Name"]
    old = run(engine, app, named, net)
    new_digest = move_tag_behind_the_back(engine, app)

    report = update_container(engine, named, timeout=20)

    assert report.outcome == "updated", report
    new = engine.containers.inspect(named)
    assert new["Id"] != old["Id"] and new["State"]["Running"]
    assert new["Image"] != old["Image"] == report.old_image
    assert any(new_digest in d for d in engine.images.inspect(new["Image"])["RepoDigests"])
    assert new["Config"]["Image"] == app
    assert "GREETING=hello" in new["Config"]["Env"]
    assert new["Config"]["Labels"]["app.role"] == "web"
    assert new["Config"]["Cmd"] == ["sleep", "300"]
    assert new["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert "api" in (new["NetworkSettings"]["Networks"][net].get("Aliases") or [])
    with pytest.raises(EngineError):
        engine.containers.inspect(old["Id"])
    if engine.lab_kind != "podman":
        assert engine.updates.check(app).status == u.UP_TO_DATE


def test_an_image_whose_healthcheck_fails_is_rolled_back_and_says_why(
    engine, app, named, make_network
):
    net = make_network()["Name"]
    old = run(engine, app, named, net)
    # Podman's commit takes no HEALTHCHECK change (and its checks need systemd timers to
    # run): there the new image fails by its entrypoint instead.
    change = (
        'ENTRYPOINT ["false"]'
        if engine.lab_kind == "podman"
        else "HEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD false"
    )
    move_tag_behind_the_back(engine, app, changes=change)

    report = update_container(engine, named, timeout=8)

    assert report.outcome == "rolled_back", report
    assert report.reason.startswith(
        "the new container is not running"
        if engine.lab_kind == "podman"
        else "the new container is unhealthy"
    ), report.reason
    back = engine.containers.inspect(named)
    assert back["State"]["Running"] and back["Image"] == old["Image"]
    assert "GREETING=hello" in back["Config"]["Env"]
    assert "api" in (back["NetworkSettings"]["Networks"][net].get("Aliases") or [])
    assert engine.images.inspect(app)["Id"] == old["Image"]  # the tag names the old image
    if engine.lab_kind != "podman":
        assert engine.updates.check(app).status == u.UPDATE_AVAILABLE
