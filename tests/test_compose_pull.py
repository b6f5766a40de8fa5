"""compose pulls from the run page: the images page's per-layer bars beside compose's own
lines, from a real pull out of the lab registry, on every lab engine."""

from __future__ import annotations

import contextlib
import re
from html import unescape

import pytest
from asgiref.sync import sync_to_async

from engine_client import EngineError

from . import test_compose_runs as cr
from .support.compose import labelled_compose

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

lab = cr.lab


def panels(messages: list[str]) -> list[str]:
    """Each picture of the pull the page was sent, in order."""
    return [
        m.group(0)
        for html in messages
        for m in re.finditer(r'<div id="progress-[0-9a-f]+".*?</div>\s*</div>', html, re.S)
    ]


async def test_a_pull_shows_the_images_pages_bars_beside_compose_lines(
    hub, lab, admin, engine, registry_image, image_tags
):
    # The engine must not have the image's top layer, or there is nothing to download.
    with contextlib.suppress(EngineError):
        await sync_to_async(engine.images.remove)(registry_image, force=True)
    image_tags(registry_image)
    name = lab.name()
    resp = await sync_to_async(cr.new_project)(admin, name, labelled_compose(registry_image))
    assert resp.status_code == 302

    messages = await cr.run(admin, name, "pull")
    assert cr.state_of(messages) == "done", messages[-1]
    shown = panels(messages)
    assert shown, messages
    last = shown[-1]
    assert 'data-state="done"' in last and 'value="100"' in last
    # A row per layer; the top layer is new to the engine, so it went through the pull.
    layers = re.findall(r'<tr class="layer( complete)?" data-layer="([0-9a-f]{12})"', last)
    assert layers, last
    if engine.lab_kind == "docker":
        assert all(complete for complete, _ in layers) and "Pull complete" in last
    # compose's own lines stay beside the bars, the service's outcome among them.
    lines = unescape(" ".join(messages))
    assert re.search(r'class="line"> ?web Pulled', lines), lines[-2000:]
    # The pull is in the engine's list now.
    assert await sync_to_async(engine.images.list)(filters={"reference": [registry_image]})
