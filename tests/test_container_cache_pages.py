"""The containers and projects pages read this process's container cache once it can be
trusted, and the engine (saying so) until then: the same rows either way, for every sort,
filter, page and grouping, and a change made behind the dashboard's back shows in the
cached page."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from engine_client.projects import PROJECT_LABEL, SERVICE_LABEL

from .support.hub_loop import hub_loop_running
from .support.lab import RUN_ID

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/containers/"
PROJECTS = "/hosts/local/projects/"
NOTE = 'id="cache-note"'
ROW = re.compile(
    r'<tr id="container-[0-9a-f]{12}"[^>]*>.*?<td class="name"><a [^>]*>([^<]+)</a>', re.S
)
COUNT = re.compile(r"\d+–\d+ of \d+|0 of")


def _shown(html: str) -> tuple[list[str], list[str]]:
    return ROW.findall(html), COUNT.findall(html)


def _project_row(html: str, name: str) -> str:
    m = re.search(rf'<tr id="project-{name}".*?</tr>', html, re.S)
    return re.sub(r"\s+", " ", m.group(0)) if m else ""


def test_the_cached_pages_list_what_the_engine_read_ones_do(
    lab_settings: Any, viewer: Any, make_container: Any
) -> None:
    prefix = f"dt-{RUN_ID}-cp-"
    project = f"cp{RUN_ID}"
    made = []
    for i in range(6):
        labels = {PROJECT_LABEL: project, SERVICE_LABEL: f"s{i % 2}"} if i < 4 else {}
        made.append(make_container(start=i in (0, 3, 4), name=f"{prefix}{i}", Labels=labels))
    queries: list[dict[str, Any]] = [
        {"q": prefix, "sort": "name", "order": "asc"},
        {"q": prefix, "sort": "state", "order": "desc"},
        {"q": prefix, "sort": "name", "order": "asc", "show": "running"},
        {"q": prefix, "sort": "name", "project": project},
        {"q": prefix, "sort": "name", "group": "project"},
        {"q": prefix, "sort": "name", "page": 2},
    ]
    read = [viewer.get(LIST, q).content.decode() for q in queries]
    assert all(NOTE in html for html in read), "without a cache the page says it read the engine"
    projects = viewer.get(PROJECTS).content.decode()
    assert NOTE in projects and project in projects
    with hub_loop_running():
        deadline = time.monotonic() + 15
        while NOTE in viewer.get(LIST, queries[0]).content.decode():
            assert time.monotonic() < deadline, "the cache never became trustworthy"
            time.sleep(0.1)
        for q, html in zip(queries, read, strict=True):
            cached = viewer.get(LIST, q).content.decode()
            assert NOTE not in cached
            assert _shown(cached) == _shown(html), q
        cached_projects = viewer.get(PROJECTS).content.decode()
        assert NOTE not in cached_projects
        assert _project_row(cached_projects, project) == _project_row(projects, project)
        # Behind the dashboard's back: the cache follows the engine's events.
        from engine_client import EngineClient

        engine = EngineClient(lab_settings.DOCKER_HOST, timeout=30)
        engine.containers.remove(made[1]["Id"], force=True)
        engine.containers.start(made[2]["Id"])
        engine.close()
        deadline = time.monotonic() + 15
        while True:
            names, _ = _shown(viewer.get(LIST, {**queries[2]}).content.decode())
            if names == [f"{prefix}{i}" for i in (0, 2, 3, 4)]:
                break
            assert time.monotonic() < deadline, names
            time.sleep(0.1)
