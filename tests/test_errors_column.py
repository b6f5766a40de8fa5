"""The containers list's "errors in the last hour" column on the lab engines: off, the list
reads no log; on, each shown row counts the lines of its last hour matching the error pattern,
the count is kept a while, a live re-render of the row keeps the column (from what is kept,
or a cell that asks for its count once), and the pager and the socket keep the toggle."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from engine_client import EngineClient

from .support.clients import ORIGIN

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

# Three lines the default pattern counts ("ERROR:", "fatal", "Exception") among five it must
# not ("terror" and "errorless" are no error words).
LINES = [
    "starting",
    "ERROR: disk full",
    "terror is not a word it counts",
    "all fine",
    "worker fatal: lost",
    "errorless run",
    "java.lang.Exception: boom",
    "done",
]
SCRIPT = "; ".join(f"echo '{line}'" for line in LINES) + "; sleep 300"


@pytest.fixture
def engine_reads(engine: EngineClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the dashboard's engine requests (the test's own client not counted)."""
    seen: list[str] = []
    real = EngineClient.request

    def counted(self: EngineClient, method: str, template: str, *args: str, **kw: Any) -> Any:
        if self is not engine:
            seen.append(template)
        return real(self, method, template, *args, **kw)

    monkeypatch.setattr(EngineClient, "request", counted)
    yield seen


def _logged(engine: EngineClient, cid: str) -> None:
    deadline = time.monotonic() + 20
    while [line.text for line in engine.containers.logs(cid).lines()] != LINES:
        assert time.monotonic() < deadline, "the container never wrote its lines"
        time.sleep(0.05)


def _cells(page: str) -> dict[str, str]:
    return dict(re.findall(r'id="errors-([0-9a-f]{12})"[^>]*data-count="([^"]*)"', page))


def test_the_column_counts_error_lines_of_the_shown_rows_and_only_when_on(
    lab_settings, viewer, engine, make_container, engine_reads
):
    from django.core.cache import cache

    cache.clear()
    c = make_container(["sh", "-c", SCRIPT])
    quiet = make_container(["sh", "-c", "echo nothing wrong; sleep 300"])
    _logged(engine, c["Id"])
    name = c["Name"].lstrip("/")
    prefix = name.rsplit("-", 1)[0]

    off = viewer.get("/hosts/local/containers/", {"q": prefix})
    assert off.status_code == 200
    assert "Errors (1 h)</th>" not in off.content.decode() and not _cells(off.content.decode())
    assert not [p for p in engine_reads if "/logs" in p], "the column off reads no log"

    on = viewer.get("/hosts/local/containers/", {"q": prefix, "errors": "on"})
    page = on.content.decode()
    assert "Errors (1 h)</th>" in page
    assert _cells(page)[c["Id"][:12]] == "3" and _cells(page)[quiet["Id"][:12]] == "0"
    reads = [p for p in engine_reads if "/logs" in p]
    # Only the rows shown: this run's two, never the rest of the engine's containers.
    assert len(reads) == 2, engine_reads
    # The toggle is kept by the page's socket and its pager links.
    ws = html.unescape(re.search(r'ws-connect="(/ws/hosts/[^"]+)"', page).group(1))
    assert "errors=on" in ws
    # Sort headers and page-size links: every way to another page of the list.
    links = re.findall(r'href="/hosts/local/containers/\?([^"]*)"', page)
    assert links and all("errors=on" in html.unescape(q) for q in links), links

    # Kept: the second page reads no log.
    engine_reads.clear()
    again = viewer.get("/hosts/local/containers/", {"q": prefix, "errors": "on"})
    assert _cells(again.content.decode())[c["Id"][:12]] == "3"
    assert not [p for p in engine_reads if "/logs" in p]

    # The cell a re-rendered row asks for when its count was forgotten.
    cache.clear()
    cell = viewer.get(f"/hosts/local/containers/{c['Id']}/errors/")
    assert cell.status_code == 200
    assert _cells(cell.content.decode()) == {c["Id"][:12]: "3"}


async def test_a_live_row_keeps_the_column(
    lab_settings, viewer, session_cookie, hub, engine, make_container
):
    from django.core.cache import cache

    await sync_to_async(cache.clear)()
    c = await sync_to_async(make_container)(["sh", "-c", SCRIPT])
    await sync_to_async(_logged)(engine, c["Id"])
    short = c["Id"][:12]
    prefix = c["Name"].lstrip("/").rsplit("-", 1)[0]
    page = await sync_to_async(viewer.get)(
        "/hosts/local/containers/", {"q": prefix, "errors": "on"}
    )
    ws = html.unescape(re.search(r'ws-connect="(/ws/hosts/[^"]+)"', page.content.decode()).group(1))
    comm = WebsocketCommunicator(application, ws, headers=[ORIGIN, session_cookie])
    assert (await comm.connect())[0]

    async def row_after(change: Any, state: str) -> str:
        await sync_to_async(change)(c["Id"])
        deadline = time.monotonic() + 20
        while True:
            text = await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
            m = re.search(rf'<tr id="container-{short}".*?</tr>', text, re.S)
            # The first events of a stop (kill, die) may show the row still running.
            if m and f"state-{state}" in m.group(0):
                return m.group(0)

    try:
        stopped = await row_after(engine.containers.stop, "exited")
        assert _cells(stopped) == {short: "3"}, "the kept count, no log read"
        await sync_to_async(cache.clear)()
        started = await row_after(engine.containers.start, "running")
        assert f'hx-get="/hosts/local/containers/{c["Id"]}/errors/"' in started
        assert 'hx-trigger="load"' in started
    finally:
        await comm.disconnect()
