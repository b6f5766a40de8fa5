"""Run once, end to end: the form creates, the run page's websocket starts the container,
streams its output, reports the exit code and removes it (unless kept)."""

from __future__ import annotations

import json
import re
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application

from .support.clients import ORIGIN, CsrfClient, cookie_for, cookie_of, persona
from .support.lab import LAB_IMAGE, made_with

pytestmark = [
    pytest.mark.engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("lab_settings"),
]


def admin_client() -> CsrfClient:
    return persona("ada-admin", "admin")


def run_form(labels: str, command: str, keep: bool = False) -> dict[str, str]:
    data = {
        "image": LAB_IMAGE,
        "command": command,
        "restart": "no",
        "labels": labels,
        "then": "run",
        "ports-TOTAL_FORMS": "0",
        "ports-INITIAL_FORMS": "0",
        "mounts-TOTAL_FORMS": "0",
        "mounts-INITIAL_FORMS": "0",
    }
    if keep:
        data["keep"] = "on"
    return data


async def run_once(labels: str, command: str, keep: bool = False) -> tuple[str, list[str], dict]:
    """Post the form, open the run page's websocket; (container id, output lines, exit)."""
    client = await sync_to_async(admin_client)()
    resp = await sync_to_async(client.post)(
        "/hosts/local/containers/new/", run_form(labels, command, keep)
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    cid = re.fullmatch(r"/hosts/local/containers/([0-9a-f]{64})/run/", resp["Location"]).group(1)
    page = await sync_to_async(client.get)(resp["Location"])
    assert (
        page.status_code == 200
        and f"/ws/hosts/local/containers/{cid}/run/" in page.content.decode()
    )
    cookie = cookie_of(client)
    comm = WebsocketCommunicator(
        application, f"/ws/hosts/local/containers/{cid}/run/", headers=[ORIGIN, cookie]
    )
    assert (await comm.connect())[0]
    lines: list[str] = []
    result: dict = {}
    deadline = time.monotonic() + 20
    while not result.get("removed") and not (keep and result):
        msg = json.loads(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
        lines += [
            re.sub(r"<[^>]+>", "", m)
            for m in re.findall(r'<div class="l [^"]*">.*?</div>', msg.get("lines", ""))
        ]
        result = msg.get("exit") or result
    await comm.disconnect()
    return cid, lines, result


async def test_run_once_shows_the_output_and_exit_code_0_and_leaves_nothing(hub, engine, ui_label):
    cid, lines, result = await run_once(ui_label, "echo hello world")
    assert lines == ["hello world"]
    assert result["code"] == 0 and result["removed"]
    assert await sync_to_async(made_with)(engine, ui_label) == []


async def test_a_failing_command_shows_its_output_and_exit_code(hub, engine, ui_label):
    cid, lines, result = await run_once(ui_label, "sh -c 'echo oops >&2; exit 3'")
    assert lines == ["oops"]
    assert result["code"] == 3 and result["removed"]
    assert await sync_to_async(made_with)(engine, ui_label) == []


async def test_a_run_asked_to_be_kept_stays(hub, engine, ui_label):
    cid, lines, result = await run_once(ui_label, "sh -c 'seq 1 3'", keep=True)
    assert lines == ["1", "2", "3"] and result["code"] == 0
    (row,) = await sync_to_async(made_with)(engine, ui_label)
    assert row["Id"] == cid and row["State"] == "exited"


async def test_the_run_page_refuses_containers_not_made_to_run_once(hub, engine, make_container):
    c = await sync_to_async(make_container)(start=False)
    client = await sync_to_async(admin_client)()
    assert (
        await sync_to_async(client.get)(f"/hosts/local/containers/{c['Id']}/run/")
    ).status_code == 404
    cookie = cookie_of(client)
    comm = WebsocketCommunicator(
        application, f"/ws/hosts/local/containers/{c['Id']}/run/", headers=[ORIGIN, cookie]
    )
    assert (await comm.connect())[0]
    msg: dict = {}
    while "status" not in msg:
        msg = json.loads(await comm.receive_from(timeout=10))
    assert "not made to be run once" in msg["status"]["text"]
    await comm.disconnect()
    assert (await sync_to_async(engine.containers.inspect)(c["Id"]))["State"]["Status"] == "created"


async def test_only_admins_open_the_run_websocket(hub, engine, make_container):
    c = await sync_to_async(make_container)(start=False, Labels={"dashboard.run-once": "remove"})
    path = f"/ws/hosts/local/containers/{c['Id']}/run/"
    operator = await sync_to_async(cookie_for)("opal-operator", "operator", True)
    for headers in ([ORIGIN], [ORIGIN, operator]):
        connected, code = await WebsocketCommunicator(application, path, headers=headers).connect()
        assert not connected and code == 4403
    admin = await sync_to_async(admin_client)()
    cookie = cookie_of(admin)
    foreign = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://evil.example"), cookie]
    )
    assert not (await foreign.connect())[0]
    assert hub.upstreams == {}, "nothing was started"
    assert (await sync_to_async(engine.containers.inspect)(c["Id"]))["State"]["Status"] == "created"
