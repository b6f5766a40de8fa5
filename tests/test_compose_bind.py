"""Bind-mount sources in the editor: one leading out of the project folder is refused
beside its line (and nothing is written); an absolute host path is allowed and the preview
names it. The rules themselves are unit-tested in test_compose_files.py."""

from __future__ import annotations

import re
from html import unescape

import pytest

from . import test_compose_runs as cr
from .support.compose import labelled_compose

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

lab = cr.lab


def with_volume(image: str, volume: str) -> str:
    text = labelled_compose(image)
    return text.replace(
        "    stop_grace_period: 1s\n", f"    stop_grace_period: 1s\n    volumes: ['{volume}']\n", 1
    )


def test_bind_sources_out_are_refused_and_host_paths_are_named_in_the_preview(lab, admin, engine):
    if engine.lab_engine == "podman":
        pytest.skip("the pages are the same on every engine: one Docker engine is enough")
    name = lab.name()
    compose = with_volume(engine.lab_image_name, "../../shared:/shared")
    resp = cr.new_project(admin, name, compose)
    assert resp.status_code == 400
    line = str(compose.splitlines().index("    volumes: ['../../shared:/shared']") + 1)
    ((at, text),) = cr.problems(resp.content.decode())
    assert at == line and "bind source '../../shared' points outside the project folder" in text
    assert cr.stacks_files(lab) == []

    resp = cr.new_project(admin, name, with_volume(engine.lab_image_name, "/tmp:/hosttmp:ro"))
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    preview = unescape(admin.get(f"{cr.H}/{name}/preview/").content.decode())
    assert re.search(
        r'<ul class="host-paths"><li data-line="\d+"><span class="mono">/tmp</span>'
        r" → web:<span class=\"mono\">/hosttmp</span>",
        preview,
    ), preview
