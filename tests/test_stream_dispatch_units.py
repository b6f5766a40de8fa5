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


def test_the_in_memory_layer_looks_for_expired_messages_at_most_twice_a_second(monkeypatch):
    from channels.layers import InMemoryChannelLayer

    from dashboard import layers

    scans = []
    monkeypatch.setattr(InMemoryChannelLayer, "_clean_expired", lambda self: scans.append(1))
    clock = [100.0]
    monkeypatch.setattr(layers.time, "monotonic", lambda: clock[0])
    layer = layers.CountingInMemoryChannelLayer()
    for _ in range(50):
        layer._clean_expired()
    assert scans == [1]
    clock[0] += layers.CLEAN_EVERY_SECONDS
    layer._clean_expired()
    assert scans == [1, 1]
