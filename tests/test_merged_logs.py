"""Merged live logs through the real ASGI app and the lab engines: lines of several
containers in time order, one upstream per container however many views watch it, a
container that starts later joins and one that stops says so, the page and its download."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import secrets
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.streams.keys import LOGS, parse_stream_key

from .support.clients import ORIGIN
from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

_LINE = re.compile(
    r'<div class="l [^"]*">(?:<time>[^<]*</time>)?(<button[^>]*>[^<]*</button>)?(.*?)</div>'
)


def ws(path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=list(headers))


async def receive_until(
    comm: WebsocketCommunicator, done: Any, timeout: float = 20
) -> list[tuple[str, str]]:
    """(tag, text) of the lines received until `done(lines)` holds."""
    got: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while not done(got):
        msg = json.loads(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
        for m in _LINE.finditer(msg.get("lines", "")):
            tag = re.sub(r"<[^>]*>", "", m.group(1) or "")
            got.append((tag, re.sub(r"<[^>]*>", "", m.group(2))))
    return got


def followed(*containers: dict[str, Any]) -> str:
    return ",".join(f"local:{c['Id']}:{c['Name'].lstrip('/')}" for c in containers)


def _ping_pong(me: int, last: int, delay: str) -> list[str]:
    """Print every other number up to `last`, each only after the other container printed the
    one before (files in a shared volume): the two logs interleave strictly."""
    script = (
        f"i={me}; while [ $i -le {last} ]; do "
        f"if [ $i -gt 1 ]; then while [ ! -f /s/$((i-1)) ]; do sleep 0.02; done; fi; "
        f"sleep {delay}; echo $i; : > /s/$i; i=$((i+2)); done; sleep 300"
    )
    return ["sh", "-c", script]


async def test_lines_of_two_containers_come_in_time_order(
    lab_settings, session_cookie, hub, engine, make_container, make_volume
):
    # Podman stamps log lines to the second: its lines must be a second apart to be told apart.
    last, delay = (4, "1.05") if engine.lab_kind == "podman" else (12, "0.05")
    vol = await sync_to_async(make_volume)()
    mount = {"HostConfig": {"Binds": [f"{vol['Name']}:/s"]}}
    a = await sync_to_async(make_container)(_ping_pong(1, last, delay), **mount)
    b = await sync_to_async(make_container)(_ping_pong(2, last, delay), **mount)

    def printed_all() -> bool:
        text = " ".join(line.text for line in engine.containers.logs(b["Id"]).lines())
        return str(last) in text.split()

    deadline = time.monotonic() + 30
    while not await sync_to_async(printed_all)():
        assert time.monotonic() < deadline, "the two containers did not finish"
        await asyncio.sleep(0.2)
    ids = f"{a['Id']},{b['Id']}"
    comm = ws(
        f"/ws/hosts/local/logs/merged/?tail=all&ids={ids}&f={followed(a, b)}",
        ORIGIN,
        session_cookie,
    )
    assert (await comm.connect())[0]
    lines = await receive_until(comm, lambda got: len(got) >= last)
    await comm.disconnect()
    # Each container's whole log arrives in one message of its own: only the merge puts
    # them in the order they were printed.
    assert [int(text) for _, text in lines] == list(range(1, last + 1))
    names = {a["Name"].lstrip("/"), b["Name"].lstrip("/")}
    assert {tag for tag, _ in lines} == names, "each line carries its container's tag"


async def test_a_container_in_two_merged_views_and_its_own_page_has_one_upstream(
    lab_settings, session_cookie, hub, make_container
):
    c = await sync_to_async(make_container)(
        ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done"]
    )
    other = await sync_to_async(make_container)(["sh", "-c", "echo other; sleep 300"])
    views = [
        ws(f"/ws/hosts/local/logs/merged/?ids={c['Id']}&f={followed(c)}", ORIGIN, session_cookie),
        ws(
            f"/ws/hosts/local/logs/merged/?ids={c['Id']},{other['Id']}&f={followed(c, other)}",
            ORIGIN,
            session_cookie,
        ),
        ws(f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=100", ORIGIN, session_cookie),
    ]
    for comm in views:
        assert (await comm.connect())[0]
    await receive_until(views[0], lambda got: len(got) >= 2)
    await receive_until(views[1], lambda got: any(text == "other" for _, text in got))
    logs = [k for k in hub.upstreams if parse_stream_key(k).kind == LOGS]
    mine = [k for k in logs if parse_stream_key(k).parts[0] == c["Id"]]
    assert len(mine) == 1, logs
    assert hub.upstreams[mine[0]].viewers == 3
    for comm in views:
        await comm.disconnect()


async def test_a_container_that_starts_later_joins_and_one_that_stops_says_so(
    lab_settings, session_cookie, hub, make_container
):
    label = f"{TEST_LABEL}.merged={RUN_ID}-{secrets.token_hex(3)}"
    key, value = label.split("=")
    comm = ws(f"/ws/hosts/local/logs/merged/?label={label}&f=", ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    c = await sync_to_async(make_container)(
        ["sh", "-c", "echo hello-from-later; sleep 1; echo bye"], Labels={key: value}
    )
    name = c["Name"].lstrip("/")
    got = await receive_until(comm, lambda got: any("stopped" in t for _, t in got), timeout=30)
    await comm.disconnect()
    texts = [t for _, t in got]
    assert "Started: joins the view." in texts
    assert "hello-from-later" in texts and "bye" in texts
    assert any("The container stopped" in t for t in texts)
    assert all(tag == name for tag, _ in got)


def test_the_page_lists_the_selection_and_refuses_bad_input_beside_the_field(
    lab_settings, viewer, make_container
):
    c = make_container(["sh", "-c", "echo one; sleep 300"])
    r = viewer.get(f"/hosts/local/logs/?ids={c['Id']}")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/ws/hosts/local/logs/merged/?" in html and c["Id"] in html
    r = viewer.get("/hosts/local/logs/?label=bad%20key")
    assert r.status_code == 400
    assert 'id="label-msg"' in r.content.decode()
    too_many = ",".join(secrets.token_hex(32) for _ in range(10_000))
    r = viewer.get("/hosts/local/logs/", {"ids": too_many})
    assert r.status_code == 400
    assert "10000 containers ticked" in r.content.decode()


async def _read(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def test_the_download_merges_the_selections_logs_in_time_order(
    lab_settings, viewer, make_container, engine
):
    a = make_container(["sh", "-c", "echo a1; sleep 0.3; echo a2; sleep 300"])
    time.sleep(0.15)
    b = make_container(["sh", "-c", "echo b1; sleep 0.3; echo b2; sleep 300"])
    deadline = time.monotonic() + 10
    while True:
        r = viewer.get(f"/hosts/local/logs/download/?ids={a['Id']},{b['Id']}")
        assert r.status_code == 200
        text = asyncio.run(_read(r)).decode()
        words = [line.split()[-1] for line in text.splitlines()]
        if len(words) == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(words) == ["a1", "a2", "b1", "b2"]
    assert words.index("a1") < words.index("a2") and words.index("b1") < words.index("b2")
    if engine.lab_kind == "podman":
        return  # its timestamps are to the second: lines of one second keep arrival order
    assert words.index("a1") < words.index("b1") < words.index("b2")
    assert words.index("a1") < words.index("a2") < words.index("b2")


@pytest.fixture
def two_hosts(settings, db):
    """The lab's Docker engine as host `local` and its Podman as host `other`; a container
    on each, labelled alike (removed afterwards)."""
    from dashboard.engines import reset_clients

    from .support.lab import LAB_IMAGE, engine_or_reason

    docker, why = engine_or_reason("docker")
    podman, why_podman = engine_or_reason("podman")
    if docker is None or podman is None:
        pytest.skip(why or why_podman)
    settings.DOCKER_HOST = docker.lab_url
    settings.DASHBOARD_HOST_NAME = "local"
    settings.DASHBOARD_HOSTS = f"other={podman.lab_url}"
    reset_clients()
    label = f"{TEST_LABEL}.across={RUN_ID}-{secrets.token_hex(3)}"
    key, value = label.split("=")
    made = []
    for client, image, word in (
        (docker, LAB_IMAGE, "docker"),
        (podman, podman.lab_image_name, "podman"),
    ):
        body = {
            "Image": image,
            "Cmd": ["sh", "-c", f"echo hello-from-{word}; sleep 300"],
            "Labels": {TEST_LABEL: RUN_ID, key: value},
            "StopTimeout": 1,
        }
        cid = client.containers.create(body, name=f"dt-{RUN_ID}-{secrets.token_hex(3)}")["Id"]
        client.containers.start(cid)
        made.append((client, client.containers.inspect(cid)))
    yield label, made
    for client, c in made:
        with contextlib.suppress(Exception):
            client.containers.remove(c["Id"], force=True)
    reset_clients()


async def test_the_same_selection_across_two_hosts_merges_both_tagged_with_their_host(
    two_hosts, viewer, session_cookie, hub
):
    label, made = two_hosts
    page = await sync_to_async(viewer.get)("/hosts/local/logs/", {"label": label, "hosts": "other"})
    assert page.status_code == 200
    path = html.unescape(re.search(r'data-ws="([^"]+)"', page.content.decode()).group(1))
    comm = ws(path, ORIGIN, session_cookie)
    assert (await comm.connect())[0]
    got = await receive_until(
        comm, lambda got: len({t for _, t in got if t.startswith("hello")}) == 2
    )
    await comm.disconnect()
    (_, d), (_, p) = made
    tags = {text: tag for tag, text in got}
    assert tags["hello-from-docker"] == f"{d['Name'].lstrip('/')}@local"
    assert tags["hello-from-podman"] == f"{p['Name'].lstrip('/')}@other"
