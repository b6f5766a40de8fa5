"""Update badges beside live lists: a containers row re-rendered over the websocket keeps its
badge, and once a host's images were read the list pages read them again only after an image
event. The registry's answer is a cached check made here (ImageCheck): nothing asks a
registry, so these run on every engine, Podman included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard import container_cache, image_updates
from dashboard.asgi import application
from dashboard.engines import client_for, get_host
from dashboard.models import ImageCheck
from engine_client import EngineClient
from engine_client import updates as u

from .support.clients import ORIGIN
from .support.hub_loop import hub_loop_running
from .support.lab import RUN_ID

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
OTHER_DIGEST = "sha256:" + "0" * 64  # what the registry "said": never this image's


def _checked(engine: EngineClient, cid: str) -> str:
    """A cached check of the container's reference, as a check asked for earlier leaves it."""
    (row,) = engine.containers.list(all=True, filters={"id": [cid]})
    ref = image_updates.reference_of(None, row)
    ImageCheck.objects.create(
        host="local",
        reference=ref,
        status=u.UPDATE_AVAILABLE,
        remote_digest=OTHER_DIGEST,
        checked_at=datetime.now(UTC),
    )
    return ref


async def test_a_row_re_rendered_live_keeps_its_update_badge(
    hub, session_cookie, engine, lab_settings, make_container
):
    c = await sync_to_async(make_container)(start=False)
    await sync_to_async(_checked)(engine, c["Id"])
    short = c["Id"][:12]
    path = f"/ws/hosts/local/containers/live/?since={time.time():.3f}"
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, session_cookie])
    assert (await comm.connect())[0]
    await asyncio.sleep(0.5)  # the events stream is open
    await sync_to_async(engine.containers.start)(c["Id"])
    html = ""
    deadline = time.monotonic() + 15
    while f'id="container-{short}"' not in html or "badge running" not in html:
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    # The same badge as the page's (the lab image has no registry digest: local-only).
    assert 'data-update="' in html, html
    await comm.disconnect()


@pytest.fixture
def followed(lab_settings: Any) -> Iterator[EngineClient]:
    """The dashboard's client of host `local`, with its container cache following its events
    on a loop of the test's own (as under daphne)."""
    with hub_loop_running():
        container_cache.follow("local")
        _wait(lambda: container_cache.image_changes("local") is not None)
        yield client_for(get_host("local"))


def _wait(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s")


def test_list_pages_read_the_hosts_images_again_only_after_an_image_event(
    followed, engine, operator, make_container, image_tags, monkeypatch
):
    # A compose project's container: the projects page counts its updates too.
    c = make_container(Labels={"com.docker.compose.project": f"p{RUN_ID}"})
    _checked(engine, c["Id"])
    # The page lists what the events-fed cache holds: wait until it has the new container.
    _wait(lambda: any(r["Id"] == c["Id"] for r in container_cache.containers("local") or []))
    asked: list[str] = []
    request = followed.request

    def counting(method: str, template: str, *args: str, **kwargs: Any) -> Any:
        asked.append(template)
        return request(method, template, *args, **kwargs)

    monkeypatch.setattr(followed, "request", counting)

    def image_lists(url: str) -> int:
        before = len(asked)
        page = operator.get(url).content.decode()
        assert "/projects/" in url or 'data-update="' in page, page
        return asked[before:].count("/images/json")

    # Up to one read after the cache started (the first page's), then none.
    image_lists("/hosts/local/containers/")
    assert image_lists("/hosts/local/containers/") == 0
    assert image_lists("/hosts/local/projects/") == 0
    # Something changed the host's images (here a tag, as a pull elsewhere would): read again.
    before = container_cache.image_changes("local")
    engine.images.tag(engine.lab_image_name, image_tags(f"lab/busybox:u{RUN_ID}"))
    _wait(lambda: container_cache.image_changes("local") != before)
    assert image_lists("/hosts/local/containers/") == 1
    assert image_lists("/hosts/local/containers/") == 0
