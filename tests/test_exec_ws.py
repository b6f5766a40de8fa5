"""The terminal's websocket through the real ASGI app and the lab engine: who may open it,
echo and cat through it, resize, Ctrl-C, exit, and a closed page ending the exec."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from dashboard.models import AuditEntry

from .support.clients import ORIGIN, cookie_for

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def granted(db):
    return cookie_for("gina-granted", "operator", exec_grant=True)


def terminal(cid: str, *headers, query: str = "") -> WebsocketCommunicator:
    path = f"/ws/hosts/local/containers/{cid}/exec/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=list(headers))


class Screen:
    """What the terminal received: output bytes, and the JSON news in order."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.out = b""
        self.news: list[dict] = []
        self.closed: int | None = None

    async def pump(self, timeout: float) -> None:
        message = await self.comm.receive_output(timeout=timeout)
        if message["type"] == "websocket.close":
            self.closed = message.get("code", 1000)
        elif message.get("bytes") is not None:
            self.out += message["bytes"]
        elif message.get("text") is not None:
            self.news.append(json.loads(message["text"]))

    async def until(self, test, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not test():
            left = deadline - time.monotonic()
            assert left > 0 and self.closed is None, (self.out[-500:], self.news, self.closed)
            await self.pump(left)

    async def wait_for(self, needle: bytes, timeout: float = 15) -> None:
        await self.until(lambda: needle in self.out, timeout)

    async def news_with(self, key: str, timeout: float = 15) -> dict:
        await self.until(lambda: any(key in n for n in self.news), timeout)
        return next(n for n in self.news if key in n)


async def test_anonymous_viewers_and_operators_without_the_grant_are_refused(
    lab_settings, make_container
):
    c = await sync_to_async(make_container)()
    viewer = await sync_to_async(cookie_for)("val-viewer", "viewer")
    operator = await sync_to_async(cookie_for)("otto-operator", "operator")
    viewer_granted = await sync_to_async(cookie_for)("vic-viewer", "viewer", True)
    for headers in ([ORIGIN], [ORIGIN, viewer], [ORIGIN, operator], [ORIGIN, viewer_granted]):
        connected, code = await terminal(c["Id"], *headers).connect()
        assert not connected and code == 4403
    assert not await sync_to_async(AuditEntry.objects.exists)()


async def test_a_foreign_origin_is_refused(lab_settings, granted, make_container):
    c = await sync_to_async(make_container)()
    comm = terminal(c["Id"], (b"origin", b"http://evil.example"), granted)
    connected, _ = await comm.connect()
    assert not connected


async def test_echo_resize_ctrl_c_and_exit_through_the_websocket(
    lab_settings, granted, engine, make_container
):
    c = await sync_to_async(make_container)()
    comm = terminal(c["Id"], ORIGIN, granted, query="cmd=sh&rows=24&cols=80")
    assert (await comm.connect())[0]
    screen = Screen(comm)
    await screen.news_with("status")
    await comm.send_to(bytes_data=b"echo $((6 * 7))\r")
    await screen.wait_for(b"42\r\n")
    # Resize reaches the engine: the TTY reports the new size.
    await comm.send_to(text_data=json.dumps({"resize": [33, 101]}))
    await comm.send_to(bytes_data=b"stty size\r")
    await screen.wait_for(b"33 101")
    # Ctrl-C interrupts the foreground command.
    await comm.send_to(bytes_data=b"sleep 60; echo sl''ept\r")
    await asyncio.sleep(0.3)
    await comm.send_to(bytes_data=b"\x03echo after-$((1 + 1))\r")
    await screen.wait_for(b"after-2")
    assert b"slept" not in screen.out
    # exit ends the session, with its exit code.
    await comm.send_to(bytes_data=b"exit 3\r")
    assert (await screen.news_with("exit"))["exit"] == 3
    await screen.until(lambda: screen.closed is not None)
    entries = await sync_to_async(list)(AuditEntry.objects.order_by("id"))
    await asyncio.sleep(0)
    start, end = [e for e in entries if e.action.startswith("container.exec")]
    assert (start.action, start.username, start.target_id) == (
        "container.exec",
        "gina-granted",
        c["Id"],
    )
    assert start.params["command"] == "sh" and start.target_name == c["Name"].lstrip("/")
    assert end.action == "container.exec.end" and end.params["exit_code"] == 3
    assert end.params["started"] and end.params["ended"] and end.outcome == "ok"


async def test_cat_without_a_tty_and_end_of_input(lab_settings, granted, make_container):
    c = await sync_to_async(make_container)()
    comm = terminal(c["Id"], ORIGIN, granted, query="cmd=cat&tty=0")
    assert (await comm.connect())[0]
    screen = Screen(comm)
    await comm.send_to(bytes_data=b"hello from cat\n")
    await screen.wait_for(b"hello from cat\n")
    await comm.send_to(text_data=json.dumps({"eof": True}))
    assert (await screen.news_with("exit"))["exit"] == 0
    assert screen.out == b"hello from cat\n", "no TTY: no echo, nothing added"
    await screen.until(lambda: screen.closed is not None)


async def test_closing_the_page_ends_the_exec(lab_settings, granted, engine, make_container):
    c = await sync_to_async(make_container)()
    comm = terminal(c["Id"], ORIGIN, granted)
    assert (await comm.connect())[0]
    screen = Screen(comm)
    await screen.news_with("status")
    await comm.send_to(bytes_data=b"sleep 600\r")
    await screen.wait_for(b"sleep 600")
    start = await sync_to_async(AuditEntry.objects.get)(action="container.exec")
    exec_id = start.params["exec_id"]
    assert (await sync_to_async(engine.exec.inspect)(exec_id))["Running"]
    await comm.disconnect()
    deadline = time.monotonic() + 10
    while (await sync_to_async(engine.exec.inspect)(exec_id))["Running"]:
        assert time.monotonic() < deadline, "the exec outlived its page"
        await asyncio.sleep(0.1)
    ended = AuditEntry.objects.filter(action="container.exec.end", params__exec_id=exec_id)
    while not await sync_to_async(ended.exists)():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    top = await sync_to_async(engine.containers.top)(c["Id"])
    assert not any("sleep 600" in " ".join(p) for p in top["Processes"])


async def test_a_stopped_container_or_a_bad_command_is_said_not_crashed(
    lab_settings, granted, make_container
):
    c = await sync_to_async(make_container)(start=False)
    comm = terminal(c["Id"], ORIGIN, granted)
    assert (await comm.connect())[0]
    screen = Screen(comm)
    error = await screen.news_with("error")
    # Docker: "is not running"; Podman: "can only create exec sessions on running containers"
    assert "not running" in error["error"] or "on running containers" in error["error"]
    await screen.until(lambda: screen.closed is not None)
    comm = terminal(c["Id"], ORIGIN, granted, query="cmd=sh+-c+'unbalanced")
    assert (await comm.connect())[0]
    screen = Screen(comm)
    assert "cannot be read as words" in (await screen.news_with("error"))["error"]
    await screen.until(lambda: screen.closed is not None)
    assert screen.closed == 4400
