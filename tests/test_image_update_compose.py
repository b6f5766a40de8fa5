"""A compose project's container updates through compose (pull, then up of its service), so
that compose still knows it: afterwards `up` would change nothing."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from dashboard import compose_runs
from dashboard.engines import get_host
from dashboard.models import AuditEntry
from engine_client import EngineError
from engine_client.projects import PROJECT_LABEL

from .support.clients import persona
from .support.compose import down_by_name, labelled_compose, require_compose
from .support.lab import RUN_ID, TEST_REPO
from .support.updates import move_tag_behind_the_back, publish, run_update_job


@pytest.mark.django_db(transaction=True)
async def test_a_compose_container_updates_through_compose(
    hub, engine, lab_settings, image_tags, tmp_path
):
    binary = require_compose()
    lab_settings.COMPOSE_BIN = binary
    lab_settings.STACKS_DIR = tmp_path / "stacks"
    lab_settings.COMPOSE_TIMEOUT = 120
    compose_runs._binary.clear()
    ref = image_tags(f"{TEST_REPO}/cmp{secrets.token_hex(2)}:v1")
    name = f"dte-{RUN_ID}-{secrets.token_hex(3)}"
    operator = await sync_to_async(persona)(f"olive-{secrets.token_hex(2)}", "operator")

    def up_and_move() -> dict[str, Any]:
        image_tags(publish(engine, ref))
        host = get_host("local")
        saved = compose_runs.save(host, name, labelled_compose(ref), "", new=True)
        assert saved.ok, saved
        folder = compose_runs.checked_folder("local", name)
        up = compose_runs.make_run(host, name, folder, ("up", "-d"))
        up.run()
        assert up.exit_status == 0
        (old,) = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
        move_tag_behind_the_back(engine, ref)
        operator.post("/hosts/local/updates/check/", {"reference": ref})
        projects = operator.get("/hosts/local/projects/").content.decode()
        if engine.lab_kind != "podman":  # (no distribution endpoint: nothing found there)
            assert "1 update available" in projects
        return old

    def updated_through_compose(old: dict[str, Any]) -> None:
        (new,) = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
        assert new["Id"] != old["Id"] and new["ImageID"] != old["ImageID"]
        assert new["Labels"]["com.docker.compose.service"] == "web"
        # Compose made it: its config hash is its own, and up has nothing left to do.
        assert compose_runs.preview(get_host("local"), name).steps == []
        (entry,) = AuditEntry.objects.filter(action="container.update")
        assert entry.outcome == "ok" and any("pull web" in s for s in entry.params["steps"])

    def clean() -> None:
        down_by_name(binary, engine.lab_url, name)
        compose_runs._binary.clear()
        for image in engine.images.list(filters={"reference": [ref.rpartition(":")[0]]}):
            with contextlib.suppress(EngineError):
                engine.images.remove(image["Id"], force=True)

    try:
        old = await sync_to_async(up_and_move)()
        seen = await run_update_job(operator, [old["Id"]])
        assert 'data-outcome="updated"' in seen[-1], seen[-1][-3000:]
        await sync_to_async(updated_through_compose)(old)
    finally:
        await sync_to_async(clean)()


@pytest.mark.django_db(transaction=True)
async def test_a_compose_update_whose_new_image_fails_its_healthcheck_is_rolled_back(
    hub, engine, lab_settings, image_tags, tmp_path
):
    binary = require_compose()
    lab_settings.COMPOSE_BIN = binary
    lab_settings.STACKS_DIR = tmp_path / "stacks"
    lab_settings.COMPOSE_TIMEOUT = 120
    lab_settings.IMAGE_UPDATE_TIMEOUT = 8
    compose_runs._binary.clear()
    ref = image_tags(f"{TEST_REPO}/cmb{secrets.token_hex(2)}:v1")
    name = f"dte-{RUN_ID}-{secrets.token_hex(3)}"
    operator = await sync_to_async(persona)(f"otto-{secrets.token_hex(2)}", "operator")
    # Podman's commit takes no HEALTHCHECK change: there the new image fails by exiting.
    change = (
        'ENTRYPOINT ["false"]'
        if engine.lab_kind == "podman"
        else "HEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD false"
    )

    def up_and_move() -> dict[str, Any]:
        image_tags(publish(engine, ref))
        host = get_host("local")
        assert compose_runs.save(host, name, labelled_compose(ref), "", new=True).ok
        folder = compose_runs.checked_folder("local", name)
        up = compose_runs.make_run(host, name, folder, ("up", "-d"))
        up.run()
        assert up.exit_status == 0
        (old,) = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
        move_tag_behind_the_back(engine, ref, changes=change)
        return old

    def rolled_back(old: dict[str, Any]) -> None:
        (back,) = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
        assert back["State"] == "running" and back["ImageID"] == old["ImageID"], back
        assert engine.images.inspect(ref)["Id"] == old["ImageID"]  # the tag names it again
        # Compose still knows it as its own: nothing left for up to do.
        assert compose_runs.preview(get_host("local"), name).steps == []
        entries = {e.action: e for e in AuditEntry.objects.all()}
        assert entries["container.update"].outcome == "failed"
        assert entries["container.rollback"].outcome == "ok"

    def clean() -> None:
        down_by_name(binary, engine.lab_url, name)
        compose_runs._binary.clear()
        for image in engine.images.list(filters={"reference": [ref.rpartition(":")[0]]}):
            with contextlib.suppress(EngineError):
                engine.images.remove(image["Id"], force=True)

    try:
        old = await sync_to_async(up_and_move)()
        seen = await run_update_job(operator, [old["Id"]])
        last = seen[-1]
        assert 'data-outcome="rolled_back"' in last, last[-3000:]
        why = "not running" if engine.lab_kind == "podman" else "unhealthy"
        assert f"the new container is {why}" in last, last[-3000:]
        await sync_to_async(rolled_back)(old)
    finally:
        await sync_to_async(clean)()
