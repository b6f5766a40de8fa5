"""Projects without an engine: the roll-up from list entries, compose's name rule."""

from __future__ import annotations

import pytest

from engine_client import InvalidArgument
from engine_client.projects import Project, ProjectService
from engine_client.validators import check_project_name


def _c(state: str, status: str = "") -> dict:
    return {"Id": "a" * 64, "Names": ["/x"], "State": state, "Status": status}


def test_the_roll_up_counts_running_and_unhealthy():
    p = Project("shop")
    p.services["web"] = ProjectService("web", [_c("running", "Up 2 minutes (unhealthy)")])
    p.services["db"] = ProjectService("db", [_c("running", "Up 2 minutes (healthy)")])
    p.services["worker"] = ProjectService(
        "worker", [_c("running", "Up 1 minute"), _c("exited", "Exited (0)")]
    )
    assert (p.running, p.total, p.unhealthy) == (3, 4, 1)
    assert p.summary == "3/4 running, 1 unhealthy"
    assert p.state == "partial"


def test_a_stopped_project_reads_stopped():
    p = Project("shop", services={"web": ProjectService("web", [_c("exited")])})
    assert p.summary == "0/1 running" and p.state == "stopped"


@pytest.mark.parametrize("name", ["shop", "my_app-2", "1st", "a"])
def test_compose_names_pass(name):
    assert check_project_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Shop", "-x", "_x", "a.b", "a b", "a/b", "é", "a" * 129, None]
)
def test_names_compose_refuses_are_refused(name):
    with pytest.raises(InvalidArgument):
        check_project_name(name)


def _event(kind: str, attrs: dict, when: float = 100.0) -> dict:
    return {
        "Type": kind,
        "Action": "stop",
        "Actor": {"ID": "x", "Attributes": attrs},
        "timeNano": int(when * 1e9),
    }


def test_a_project_page_wakes_for_its_own_events_only():
    from dashboard.consumers.live import ProjectsConsumer

    consumer = ProjectsConsumer()
    consumer.project, consumer.since = "shop", 50.0
    assert consumer._relevant(_event("container", {"com.docker.compose.project": "shop"}))
    assert consumer._relevant(_event("container", {"com.docker.stack.namespace": "shop"}))
    assert consumer._relevant(_event("volume", {"name": "shop_data"}))
    assert not consumer._relevant(_event("container", {"com.docker.compose.project": "shop2"}))
    assert not consumer._relevant(_event("container", {}))
    assert not consumer._relevant(_event("network", {"name": "shopping_default"}))
    # Older than what the page read: already shown.
    assert not consumer._relevant(_event("container", {"com.docker.compose.project": "shop"}, 10))
    # The list wakes for any project's container.
    consumer.project = ""
    assert consumer._relevant(_event("container", {"com.docker.compose.project": "other"}))
    assert not consumer._relevant(_event("container", {"name": "loose"}))


def test_a_cached_list_row_is_rendered_again_when_what_it_shows_changes():
    """The list keeps each row's HTML under a digest of what the row shows: the same
    project reads the same, a container that stopped changes the row at once."""
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    from dashboard.project_presenters import project_list_row

    host = SimpleNamespace(name="local")
    up = Project("shop", services={"web": ProjectService("web", [_c("running", "Up 1 minute")])})
    down = Project("shop", services={"web": ProjectService("web", [_c("exited", "Exited (0)")])})
    first = project_list_row(up)
    assert project_list_row(up)["key"] == first["key"]
    assert project_list_row(down)["key"] != first["key"]

    def rows(p: Project) -> str:
        return render_to_string(
            "projects/_rows.html", {"rows": [project_list_row(p)], "host": host}
        )

    assert "1/1 running" in rows(up) and "1/1 running" in rows(up)
    html = rows(down)
    assert "0/1 running" in html and "1/1 running" not in html
