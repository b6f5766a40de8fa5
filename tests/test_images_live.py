"""Pulls and pushes through the real ASGI app: the view hands out a ticket, the websocket
starts the job in the stream hub, progress comes back per layer. Real engine, real registries
(the lab's, and one with a login started for this run)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.models import AuditEntry
from dashboard.streams.sources import ProgressSource
from engine_client import EngineError, NotFound
from engine_client.images import read_progress, registry_auth

from .support.clients import ORIGIN, cookie_of
from .support.lab import LAB_IMAGE, LAB_REGISTRY, RUN_ID, TEST_REPO, build_image
from .support.registry import MANIFEST_V2, registry_http

pytestmark = [
    pytest.mark.engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("lab_settings"),
]

LIST = "/hosts/local/images/"
# Every chunk its own message (the `hub` fixture reads this), so that the steps of a fast
# local pull can be seen.
STREAM_BATCH_SECONDS = 0.001


def absent(engine, ref: str) -> None:
    with contextlib.suppress(NotFound):
        engine.images.remove(ref, force=True)


async def start(client, ref: str) -> str:
    """POST the pull form as `client`; the websocket path of the job it starts."""
    resp = await sync_to_async(client.hx_post)(f"{LIST}pull/", {"reference": ref}, target="pull")
    assert resp.status_code == 200, resp.content[:300]
    return ws_path(resp.content.decode())


def ws_path(html: str) -> str:
    m = re.search(r'ws-connect="(/ws/hosts/local/progress/\?t=[^"]+)"', html)
    assert m, html[:500]
    return m.group(1).replace("&amp;", "&")


async def follow(path: str, cookie, timeout: float = 60) -> list[str]:
    """Every progress message of a job until it ends (its last one says done or failed)."""
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie])
    connected, code = await comm.connect()
    assert connected, code
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
            seen.append(html)
            if re.search(r'data-state="(done|failed)"', html):
                return seen
    finally:
        await comm.disconnect()


async def audit(action: str, n: int = 1, timeout: float = 10) -> list[AuditEntry]:
    """The job's audit entries (written by its thread just after its last message: the test
    database, SQLite in memory with a shared cache, says the table is locked while it writes)."""
    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = await sync_to_async(list)(
                AuditEntry.objects.filter(action=action).order_by("id")
            )
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            entries = []
        if len(entries) >= n or time.monotonic() > deadline:
            return entries
        await asyncio.sleep(0.05)


def layers(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'data-layer="([0-9a-f]{12})">\s*<td class="mono">[^<]*</td>\s*<td>([^<]*)</td>', html
    )


async def test_a_pull_shows_layer_progress_and_the_image_appears(
    hub, admin, engine, registry_image, image_tags
):
    await sync_to_async(absent)(engine, image_tags(registry_image))
    messages = await follow(await start(admin, registry_image), cookie_of(admin))
    final = messages[-1]
    assert 'data-state="done"' in final, final
    # The base layer was there already; the new one was fetched and extracted.
    statuses = dict(layers(final))
    if engine.lab_kind == "podman":
        # Podman also lists the image's config blob as a layer it pulled.
        assert set(statuses.values()) == {"Already exists", "Pull complete"}, statuses
    else:
        assert sorted(statuses.values()) == ["Already exists", "Pull complete"], statuses
    assert "<progress" in final
    # Before the end, some message showed a layer on its way. (Podman sends a layer's
    # lines only when it is done with it: a small pull shows no layer in between.)
    on_the_way = {
        "Waiting",
        "Pulling fs layer",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Extracting",
    }
    if engine.lab_kind == "docker":
        assert any(s in on_the_way for m in messages[:-1] for _, s in layers(m)), messages
    assert "Downloaded newer image" in final
    image = await sync_to_async(engine.images.inspect)(registry_image)
    assert registry_image in image["RepoTags"]
    (entry,) = await audit("image.pull")
    assert entry.outcome == "ok" and entry.username == "alice-admin"
    assert entry.params["digest"].startswith("sha256:")


async def test_a_pull_of_a_missing_tag_shows_the_registrys_error(hub, admin, engine):
    ref = f"{TEST_REPO}/blob:no-such-tag"
    final = (await follow(await start(admin, ref), cookie_of(admin)))[-1]
    assert 'data-state="failed"' in final
    assert re.search(r"manifest unknown|not found", final), final
    (entry,) = await audit("image.pull")
    assert entry.outcome == "failed" and "manifest" in entry.message


async def test_an_error_inside_the_200_stream_is_shown_as_an_error(hub, admin, engine, netns):
    ref = f"{TEST_REPO}/broken:v1"

    def prepare() -> None:
        build_image(engine, ref, size=50_000)
        try:
            read_progress(engine.images.push(ref))
        finally:
            absent(engine, ref)
        repo = f"dashboard-test/r{RUN_ID}/broken"
        manifest = registry_http(
            netns, "GET", f"http://{LAB_REGISTRY}/v2/{repo}/manifests/v1", MANIFEST_V2
        )
        import json

        blob = json.loads(manifest["body"])["layers"][-1]["digest"]
        gone = registry_http(netns, "DELETE", f"http://{LAB_REGISTRY}/v2/{repo}/blobs/{blob}")
        assert gone["status"] == 202

    await sync_to_async(prepare)()
    final = (await follow(await start(admin, ref), cookie_of(admin)))[-1]
    assert 'data-state="failed"' in final
    with pytest.raises(NotFound):
        await sync_to_async(engine.images.inspect)(ref)
    (entry,) = await audit("image.pull")
    assert entry.outcome == "failed"
    if engine.lab_kind == "docker":
        assert "unknown blob" in final
        assert layers(final), "it failed inside the stream, after the layers had started"
        assert entry.message == "unknown blob"
    else:  # Podman says what the registry answered for the blob, before any layer line
        assert "Error fetching blob" in final and "404" in entry.message


async def test_tag_push_remove_and_pull_round_trip_through_the_registry(
    hub, admin, engine, image_tags
):
    ref = await sync_to_async(image_tags)(f"{TEST_REPO}/roundtrip:v1")
    image_id = await sync_to_async(build_image)(engine, "", size=20_000)
    await sync_to_async(image_tags)(image_id)
    hexid = image_id.split(":")[1]
    post = sync_to_async(admin.hx_post)

    resp = await post(f"{LIST}{hexid}/tag/", {"target": ref}, target="image-tag")
    assert resp.status_code == 200
    resp = await post(f"{LIST}{hexid}/push/", {"tag": ref}, target="image-push")
    assert resp.status_code == 200
    pushed = (await follow(ws_path(resp.content.decode()), cookie_of(admin)))[-1]
    assert 'data-state="done"' in pushed and "Pushing" in pushed
    if engine.lab_kind == "docker":  # Podman reports a push as a whole, not per layer
        assert dict(layers(pushed)), "push progress is per layer too"

    resp = await post(f"{LIST}{hexid}/remove/", {"ref": image_id, "force": "on"}, "image-remove")
    assert resp.status_code == 200
    with pytest.raises(NotFound):
        await sync_to_async(engine.images.inspect)(image_id)

    pulled = (await follow(await start(admin, ref), cookie_of(admin)))[-1]
    assert 'data-state="done"' in pulled
    assert (await sync_to_async(engine.images.inspect)(ref))["Id"] == image_id
    actions = [e.action for e in await audit("image.push")] + [
        e.action for e in await audit("image.pull")
    ]
    assert actions == ["image.push", "image.pull"]


async def test_a_pull_goes_on_to_the_end_when_its_viewer_leaves_and_can_be_rejoined(
    hub, admin, engine, registry_image, image_tags
):
    await sync_to_async(absent)(engine, image_tags(registry_image))
    path = await start(admin, registry_image)
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(admin)])
    assert (await comm.connect())[0]
    first = await comm.receive_from(timeout=10)
    await comm.disconnect()  # gone after the first message
    job = re.search(r'id="progress-([0-9a-f]+)"', first).group(1)
    source = ProgressSource._jobs[job]
    assert await sync_to_async(source.done.wait)(60), "the pull ran to its end"
    assert source.state.ok, source.state.error
    await asyncio.sleep(0.5)  # the upstream lingers, then is closed
    assert not hub.upstreams
    assert (await sync_to_async(engine.images.inspect)(registry_image))["RepoTags"]
    # Coming back with the same page: the finished job, not a second pull.
    again = await follow(path, cookie_of(admin), timeout=10)
    assert 'data-state="done"' in again[0]
    assert len(await audit("image.pull", n=2, timeout=0.5)) == 1


async def test_a_ticket_is_good_only_for_the_admin_it_was_issued_to(hub, admin, engine, db):
    from django.contrib.auth.models import User
    from django.test import Client

    path = await start(admin, "127.0.0.1:5000/lab/busybox:latest")
    other = await sync_to_async(User.objects.create_superuser)("another-admin", password="x" * 12)
    client = Client()
    await sync_to_async(client.force_login)(other)
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(client)])
    connected, _ = await comm.connect()
    assert connected
    assert "belongs to someone else" in await comm.receive_from()
    assert (await comm.receive_output())["type"] == "websocket.close"

    forged = path[:-4] + "AAAA"
    comm = WebsocketCommunicator(application, forged, headers=[ORIGIN, cookie_of(admin)])
    assert (await comm.connect())[0]
    assert "not a valid progress link" in await comm.receive_from()
    await comm.disconnect()
    assert not hub.upstreams and not await audit("image.pull", timeout=0.2)


async def test_viewers_cannot_open_a_progress_socket(hub, admin):
    from django.contrib.auth.models import User
    from django.test import Client

    path = await start(admin, "127.0.0.1:5000/lab/busybox:latest")
    # A user in no role group is a viewer (groups do not survive transactional tests).
    vera = await sync_to_async(User.objects.create_user)("vera-viewer", password="x" * 12)
    viewer = Client()
    await sync_to_async(viewer.force_login)(vera)
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(viewer)])
    connected, code = await comm.connect()
    assert not connected and code == 4403
    assert not hub.upstreams


# -- registry logins ---------------------------------------------------------------------


@pytest.fixture
def secured_image(engine, auth_registry, image_tags):
    """An image in the registry that wants a login, and no local copy of it."""
    ref = f"{auth_registry.addr}/dashboard-test/r{RUN_ID}/secure:v1"
    engine.images.tag(LAB_IMAGE, ref)
    auth = registry_auth(auth_registry.username, auth_registry.password, auth_registry.addr)
    try:
        read_progress(engine.images.push(ref, auth=auth))
    finally:
        absent(engine, ref)
    image_tags(ref)
    return ref


async def test_pulls_from_a_registry_with_login_fail_clearly_without_the_right_one(
    hub, admin, engine, auth_registry, secured_image
):
    post = sync_to_async(admin.post)
    logins = "/hosts/local/registries/"

    nothing = (await follow(await start(admin, secured_image), cookie_of(admin)))[-1]
    # Docker: "no basic auth credentials"; Podman: "unauthorized: authentication required"
    assert 'data-state="failed"' in nothing
    assert "basic auth credentials" in nothing or "authentication required" in nothing

    resp = await post(
        logins, {"registry": auth_registry.addr, "username": "tester", "password": "wrong-password"}
    )
    assert resp.status_code == 302, resp.content[:500]  # saved unchecked (check left off)
    wrong = (await follow(await start(admin, secured_image), cookie_of(admin)))[-1]
    assert 'data-state="failed"' in wrong
    assert "unauthorized" in wrong or "authentication required" in wrong
    assert "With the saved login of tester" not in wrong  # (said beside, not in the panel)

    resp = await post(
        logins,
        {
            "registry": auth_registry.addr,
            "username": auth_registry.username,
            "password": auth_registry.password,
            "check": "on",
        },
    )
    assert resp.status_code == 302
    right = (await follow(await start(admin, secured_image), cookie_of(admin)))[-1]
    assert 'data-state="done"' in right, right
    assert (await sync_to_async(engine.images.inspect)(secured_image))["RepoTags"]
    outcomes = [e.outcome for e in await audit("image.pull", n=3)]
    assert outcomes == ["failed", "failed", "ok"]


async def test_a_push_uses_the_saved_login(hub, admin, engine, auth_registry, image_tags):
    from dashboard import credentials

    ref = await sync_to_async(image_tags)(
        f"{auth_registry.addr}/dashboard-test/r{RUN_ID}/pushed:v2"
    )
    await sync_to_async(engine.images.tag)(LAB_IMAGE, ref)
    await sync_to_async(credentials.save)(
        "local", auth_registry.addr, auth_registry.username, auth_registry.password, "test"
    )
    hexid = (await sync_to_async(engine.images.inspect)(ref))["Id"].split(":")[1]
    resp = await sync_to_async(admin.hx_post)(f"{LIST}{hexid}/push/", {"tag": ref}, "image-push")
    assert "With the saved login of tester at" in resp.content.decode()
    final = (await follow(ws_path(resp.content.decode()), cookie_of(admin)))[-1]
    assert 'data-state="done"' in final, final
    (entry,) = await audit("image.push")
    assert entry.outcome == "ok" and entry.params["digest"].startswith("sha256:")
    # It is there, behind the login: without one the registry will not even say so. (Docker
    # refuses before the stream starts; Podman inside it.)
    with pytest.raises(EngineError, match="auth"):
        await sync_to_async(lambda: read_progress(engine.images.pull(ref)))()


# -- lists that follow the engine's events -------------------------------------------------


@pytest.mark.parametrize("kind", ["images", "volumes", "networks"])
async def test_a_list_reads_its_rows_again_when_the_engine_says_one_changed(
    hub, admin, engine, kind, image_tags, resource_sweeper
):
    since = time.time()
    path = f"/ws/hosts/local/{kind}/live/?q=dt-&since={since:.3f}"
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(admin)])
    assert (await comm.connect())[0]
    name = f"dt-{RUN_ID}-live-{kind}"

    def change() -> None:
        if kind == "images":
            engine.images.tag(LAB_IMAGE, image_tags(f"dashboard-test/r{RUN_ID}/{name}:v1"))
        elif kind == "volumes":
            engine.volumes.create(name, labels={"dashboard.test": RUN_ID})
        else:
            engine.networks.create(name, labels={"dashboard.test": RUN_ID})

    await sync_to_async(change)()
    deadline = time.monotonic() + 10
    html = ""
    while 'id="list-resync"' not in html:  # (status messages may come first)
        html = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
    # Re-read with the page's filter as it is now, not as it was when the socket opened.
    assert f'hx-get="/hosts/local/{kind}/"' in html
    assert f'hx-include="#{kind[:-1]}-filters"' in html
    assert f'hx-target="#{kind}-rows"' in html
    await comm.disconnect()
    # ...which the page has: its filter form bears that id (htmx logs an error otherwise).
    page = (await sync_to_async(admin.get)(f"/hosts/local/{kind}/")).content.decode()
    assert f'<form id="{kind[:-1]}-filters"' in page
