"""An alert watcher of the test's own (on an event loop in a thread, as daphne's would be)
and a webhook channel pointing at a test's receiver."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .receiver import Receiver

KEY = "test-signing-key"


@contextmanager
def running_watcher(host: str = "local", timeout: float = 30) -> Iterator[object]:
    """A Watcher holding the lease and following `host`'s events (quick lease, hold and
    group windows); stopped, its streams closed and its loop ended afterwards."""
    from dashboard.alerts.watch import Watcher
    from dashboard.streams.hub import get_hub

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test loop", daemon=True)
    thread.start()
    w = Watcher(loop, lease_seconds=3, group_seconds=2, hold_seconds=1).start()
    try:
        deadline = time.monotonic() + timeout
        while host not in w.live and time.monotonic() < deadline:
            time.sleep(0.1)
        assert host in w.live, "the watcher never followed the host's events"
        yield w
    finally:
        w.stop()

        async def close() -> None:
            get_hub().close_all()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def webhook_channel(receiver: Receiver, key: str = KEY) -> object:
    from dashboard import credentials
    from dashboard.models import AlertChannel

    return AlertChannel.objects.create(
        name=f"hook-{secrets.token_hex(3)}",
        kind=AlertChannel.WEBHOOK,
        shown=receiver.url,
        secret_url=credentials.encrypt(receiver.url),
        secret_key=credentials.encrypt(key),
    )
