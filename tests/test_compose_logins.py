"""The host's saved registry logins reach compose runs that pull: in a config.json of the
run's own (0600, in a 0700 folder, gone when the run ends), never in its output, its audit
entry or its page. Against the lab's registry with a login, on every lab engine."""

from __future__ import annotations

import contextlib
import json
import re
from html import unescape
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from dashboard import compose_runs, credentials
from dashboard.models import AuditEntry
from engine_client import EngineError
from engine_client.compose import (
    ComposeBinary,
    ComposeRun,
    Connection,
    RegistryLogin,
    write_docker_config,
)
from engine_client.images import read_progress, registry_auth

from . import test_compose_runs as cr
from .support.compose import labelled_compose
from .support.lab import LAB_IMAGE, RUN_ID

lab = cr.lab

# Prints what a run's DOCKER_CONFIG holds, as compose would find it: the folder's and the
# file's modes, and the file.
SHOW_CONFIG = (
    'stat -c %a "$DOCKER_CONFIG" "$DOCKER_CONFIG/config.json"; echo "$DOCKER_CONFIG"; '
    'cat "$DOCKER_CONFIG/config.json"; echo'
)


def test_a_runs_logins_are_its_own_private_file_removed_at_its_end(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    run = ComposeRun(
        binary=ComposeBinary(("/bin/sh", "-c", SHOW_CONFIG, "sh"), "2.26.1"),
        project="shop",
        folder=tmp_path,
        connection=Connection("unix:///nowhere.sock"),
        home=home,
        args=("pull",),
        timeout=30,
        logins=[
            RegistryLogin("127.0.0.1:5101", "tester", "s3cret:pw"),
            RegistryLogin("docker.io", "hubber", "hubpw"),
        ],
    )
    assert "s3cret" not in repr(run)
    folder_mode, file_mode, folder, config = run.run()
    assert run.exit_status == 0
    assert (folder_mode, file_mode) == ("700", "600")
    assert Path(folder).parent == home and not Path(folder).exists()
    assert json.loads(config) == {
        "auths": {
            "127.0.0.1:5101": {"auth": "dGVzdGVyOnMzY3JldDpwdw=="},  # tester:s3cret:pw
            "https://index.docker.io/v1/": {"auth": "aHViYmVyOmh1YnB3"},  # hubber:hubpw
        }
    }
    assert list(home.iterdir()) == []


def test_a_run_without_logins_keeps_the_shared_empty_config(tmp_path):
    run = ComposeRun(
        binary=ComposeBinary(("/bin/sh", "-c", 'echo "$DOCKER_CONFIG"', "sh"), "2.26.1"),
        project="shop",
        folder=tmp_path,
        connection=Connection("unix:///nowhere.sock"),
        home=tmp_path,
        args=("pull",),
        timeout=30,
    )
    assert run.run() == [str(tmp_path / "docker")]


def test_the_config_file_is_never_written_over(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileExistsError):
        write_docker_config(tmp_path, [RegistryLogin("r:1", "u", "p")])


@pytest.fixture
def private_image(engine, auth_registry, image_tags):
    """An image in the registry with a login, and no local copy of it."""
    ref = f"{auth_registry.addr}/dashboard-test/r{RUN_ID}/composed:v1"
    engine.images.tag(LAB_IMAGE, ref)
    auth = registry_auth(auth_registry.username, auth_registry.password, auth_registry.addr)
    try:
        read_progress(engine.images.push(ref, auth=auth))
    finally:
        with contextlib.suppress(EngineError):
            engine.images.remove(ref)
    image_tags(ref)
    return ref


@pytest.mark.engine
@pytest.mark.django_db(transaction=True)
async def test_compose_pulls_a_private_image_with_the_hosts_saved_login(
    hub, lab, admin, engine, auth_registry, private_image
):
    name = lab.name()
    resp = await sync_to_async(cr.new_project)(admin, name, labelled_compose(private_image))
    assert resp.status_code == 302

    refused = await cr.run(admin, name, "pull")
    assert cr.state_of(refused) == "failed"
    said = unescape(" ".join(refused))
    # compose's own words for the registry's refusal (Docker: "no basic auth credentials";
    # Podman: "unauthorized: authentication required"), in its lines and the bars' outcome.
    assert re.search(r"basic auth credentials|authentication required", said), said[-2000:]
    assert 'class="outcome engine-error"' in said

    await sync_to_async(credentials.save)(
        "local", auth_registry.addr, auth_registry.username, auth_registry.password, "test"
    )
    pulled = await cr.run(admin, name, "pull")
    assert cr.state_of(pulled) == "done", pulled[-1]
    assert await sync_to_async(engine.images.list)(filters={"reference": [private_image]})

    # The secret is nowhere a person or the audit trail can read it, nor left on disk.
    password = auth_registry.password
    assert all(password not in m for m in refused + pulled)
    entries = await cr.audit("project.compose.pull", name, n=2)
    assert [e.outcome for e in entries] == [AuditEntry.FAILED, AuditEntry.OK]
    assert all(password not in json.dumps(e.params) + e.message for e in entries)
    home = compose_runs.compose_home()
    assert not [p for p in home.iterdir() if p.name.startswith(".run-")]
