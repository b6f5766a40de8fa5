"""Stack pages on a host with no swarm (Podman has no swarm mode; the lab's Docker engines
are out of any swarm outside the swarm test modules): the new-stack page refuses, saying
why, and nothing is written or run."""

from __future__ import annotations

import pytest

from dashboard.stacks import project_folder

from .support.compose import require_docker_cli
from .support.lab import RUN_ID
from .support.stacks import small_stack

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

H = "/hosts/local/stacks"


def test_a_host_with_no_swarm_says_so(lab_settings, admin, engine, tmp_path):
    """Podman (no swarm mode at all), or an engine not in a swarm: refused, nothing runs."""
    lab_settings.DOCKER_BIN = require_docker_cli()
    lab_settings.STACKS_DIR = tmp_path / "stacks"
    lab_settings.DOCKER_CLI_CONFIG_DIR = tmp_path / "cli"
    assert engine.lab_kind == "podman" or engine.swarm.local_state()["state"] == "inactive"
    compose = small_stack()
    name = f"dts-{RUN_ID}-none"
    resp = admin.post(f"{H}/new/", {"name": name, "compose": compose, "env": ""})
    assert resp.status_code == 409
    text = resp.content.decode()
    assert ("Podman has no swarm" if engine.lab_kind == "podman" else "not in a swarm") in text
    assert not (project_folder("local", name, "swarm") / "compose.yaml").exists()
