"""Running a blocking iterator in a thread of its own and consuming it from async code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def iterate_in_thread(source: Iterator[T], buffer: int = 8) -> AsyncIterator[T]:
    """Yield what `source` yields. Its blocking reads run in a dedicated thread (not the
    default executor, which a few slow streams would starve); at most `buffer` items wait."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(buffer)
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in source:
                if stop.is_set():
                    break
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            if not stop.is_set():
                asyncio.run_coroutine_threadsafe(queue.put(exc), loop).result()
            return
        if not stop.is_set():
            asyncio.run_coroutine_threadsafe(queue.put(_END), loop).result()

    thread = threading.Thread(target=pump, name="iterate_in_thread", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # Unblock a pump waiting for room in the queue.
        while not queue.empty():
            queue.get_nowait()
