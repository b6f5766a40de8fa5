"""Swarm stacks as projects: services labelled `com.docker.stack.namespace` (what `docker
stack deploy` writes) group into a project whose roll-up counts their running tasks.
Run on the third lab engine alone (a single-node swarm): the grouping does not depend on
how many nodes there are, and the two-node swarm is the swarm tests' own."""

from __future__ import annotations

import secrets

import pytest

from engine_client.projects import STACK_LABEL

from .support.lab import RUN_ID
from .support.swarm_lab import service_spec, swarm, swarm_settings, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.django_db]
__all__ = ["swarm", "swarm_settings"]


@pytest.fixture
def stack(engine, request):
    if engine.lab_engine != "docker26":
        pytest.skip("stacks as projects are checked on the single-node swarm (docker26)")
    swarm = request.getfixturevalue("swarm")
    name = f"dts-{RUN_ID}-{secrets.token_hex(3)}"
    spec = service_spec(f"{name}_web", 2)
    spec["Labels"][STACK_LABEL] = name
    sid = engine.services.create(spec)["ID"]
    swarm.wait_running(sid, 2)
    yield name
    engine.services.remove(sid)


def test_a_stack_is_a_project_of_its_services_tasks(swarm_settings, viewer, engine, stack):
    p = wait_for(
        lambda: engine.projects.get(stack).running == 2 and engine.projects.get(stack),
        "both tasks running",
    )
    assert p.kind == "stack"
    assert list(p.services) == ["web"]
    assert p.summary == "2/2 running"
    html = viewer.get(f"/hosts/local/projects/{stack}/").content.decode()
    assert "swarm stack" in html and "2/2 running" in html
    # Stacks are run by their services: no per-container buttons for them here.
    assert 'id="project-stop"' not in html
    assert stack in viewer.get("/hosts/local/projects/").content.decode()
