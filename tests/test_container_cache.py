"""The container cache (dashboard/container_cache.py) against the lab engines: after a seeded
churn made with the docker CLI, the cached list equals `GET /containers/json?all=1` on the
fields of tests/support/churn.py; again with the events stream cut (a fake that drops it and
loses what was sent meanwhile). The seed is printed; DASHBOARD_CHURN_SEED replays one."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashboard import container_cache
from engine_client import EngineClient

from .support.churn import Churn, settle
from .support.compose import require_docker_cli
from .support.fakes import FakeCutEventsClient
from .support.hub_loop import hub_loop_running

pytestmark = [pytest.mark.engine]
STEPS = 14


@pytest.fixture(scope="module")
def hub_loop() -> Iterator[asyncio.AbstractEventLoop]:
    with hub_loop_running() as loop:
        yield loop


def _seed() -> int:
    seed = int(os.environ.get("DASHBOARD_CHURN_SEED") or random.randrange(1 << 30))
    print(f"churn seed {seed} (DASHBOARD_CHURN_SEED={seed} replays it)")
    return seed


def _wait(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s")


def _churn(engine: EngineClient, seed: int) -> Churn:
    return Churn(require_docker_cli(), engine.lab_url, seed, image=engine.lab_image_name)


def test_after_a_seeded_churn_the_cache_equals_the_engines_list(
    hub_loop: asyncio.AbstractEventLoop, engine: EngineClient
) -> None:
    seed = _seed()
    cache = container_cache.follow(f"c{secrets.token_hex(4)}", lambda: engine)
    assert cache is not None
    _wait(lambda: cache.trusted)
    churn = _churn(engine, seed)
    try:
        churn.run(STEPS)
        diff = settle(cache.rows, lambda: engine.containers.list(all=True))
        assert not diff, (seed, diff, churn.log)
        # Kept current by events, not by reading everything again.
        assert cache.full_reads == 1, (seed, churn.log)
    finally:
        churn.clean()
        cache.stop()


def test_with_the_events_stream_cut_the_cache_reads_everything_again(
    hub_loop: asyncio.AbstractEventLoop, engine: EngineClient
) -> None:
    seed = _seed()
    fake = FakeCutEventsClient(engine, after_chunks=3)
    cache = container_cache.follow(f"c{secrets.token_hex(4)}", lambda: fake)  # type: ignore[arg-type,return-value]
    assert cache is not None
    _wait(lambda: cache.trusted)
    churn = _churn(engine, seed)
    try:
        churn.run(STEPS)
        assert fake.cut.is_set(), "the fake never cut the stream: churn more"
        diff = settle(cache.rows, lambda: engine.containers.list(all=True))
        assert not diff, (seed, diff, churn.log)
        # What was lost while it was cut came back with the full read after it reconnected.
        assert cache.full_reads >= 2, (seed, churn.log)
    finally:
        churn.clean()
        cache.stop()
