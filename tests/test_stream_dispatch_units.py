"""A stream consumer's dispatch (no engine): stream messages reach `forward` without the
thread hop Channels makes before every handler to close stale database connections (a
merged view gets hundreds a second); every other message still makes it."""

from __future__ import annotations

import asyncio
from typing import Any

import channels.consumer

from dashboard.consumers.base import StreamConsumer


class _Recorder(StreamConsumer):
    def __init__(self) -> None:
        super().__init__()
        self.joined = {"k": 0}
        self.forwarded: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        self.forwarded.append(message)

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        self.received.append(message)


def test_stream_messages_skip_the_database_hop_and_others_keep_it(monkeypatch):
    hops = []

    async def counted() -> None:
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    consumer = _Recorder()

    async def run() -> None:
        await consumer.dispatch({"type": "stream.message", "key": "k", "seq": 1, "text": "x"})
        await consumer.dispatch({"type": "stream.message", "key": "k", "seq": 0, "text": "old"})
        assert hops == []
        await consumer.dispatch({"type": "websocket.receive", "text": "hi"})
        assert hops == [1]

    asyncio.run(run())
    assert [m["text"] for m in consumer.forwarded] == ["x"]  # the replayed one is dropped
    assert len(consumer.received) == 1
