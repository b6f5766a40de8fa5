"""An event loop of a test's own for the stream hub and the container caches, as daphne's
loop is for the server's (dashboard/container_cache.py follows events on it)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hub_loop_running() -> Iterator[asyncio.AbstractEventLoop]:
    from dashboard import container_cache
    from dashboard.streams.hub import get_hub

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test hub loop", daemon=True)
    thread.start()
    container_cache.bind_loop(loop)
    try:
        yield loop
    finally:
        container_cache.unbind()

        async def close() -> None:
            get_hub().close_all()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
