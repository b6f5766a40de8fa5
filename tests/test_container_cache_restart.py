"""The container cache (dashboard/container_cache.py) across an engine restart, on Podman and
Docker 26: a seeded churn made with the docker CLI, the engine stopped and started again in
the middle, another churn; after it settles the cached list equals `GET
/containers/json?all=1` on the fields of tests/support/churn.py, and the cache read
everything again once the stream was back. Docker 20.10's restart, with the same churn and
the pages and streams besides, is tests/test_engine_restart.py.

Each engine is one of the test's own (tests/support/fault_lab.py: its own namespace, socket
and storage), never the session's shared one, which other tests' containers run on. The
test is parametrised by the shared `engine` only so that it runs in that engine's pytest
process. The seed is printed; DASHBOARD_CHURN_SEED replays one.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

from dashboard import container_cache
from engine_client import EngineClient

from .support.churn import Churn, settle
from .support.compose import require_docker_cli
from .support.fault_lab import fault_lab_running
from .support.hub_loop import hub_loop_running

pytestmark = [pytest.mark.engine, pytest.mark.fault]
# Steps before the stop and after the start: short, the suite's time is counted.
STEPS = 6


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


def test_after_a_churn_across_an_engine_restart_the_cache_equals_the_engines_list(
    engine: EngineClient,
) -> None:
    if engine.lab_engine == "docker":
        pytest.skip("Docker 20.10's restart with a churn is tests/test_engine_restart.py")
    seed = int(os.environ.get("DASHBOARD_CHURN_SEED") or random.randrange(1 << 30))
    print(f"churn seed {seed} (DASHBOARD_CHURN_SEED={seed} replays it)")
    with fault_lab_running(engine.lab_engine) as lab, hub_loop_running():
        client = EngineClient(lab.url, timeout=30)
        cache = container_cache.follow(f"r{secrets.token_hex(4)}", lambda: client)
        assert cache is not None
        churn = Churn(require_docker_cli(), lab.url, seed, image=lab.image)
        try:
            _until(lambda: cache.trusted, "the cache filled")
            churn.run(STEPS)
            lab.stop_engine()
            _until(lambda: not cache.trusted, "the cache stops trusting itself", 15)
            lab.start_engine()
            churn.run(STEPS)

            def engine_list() -> list[dict[str, Any]]:
                return client.containers.list(all=True)

            diff = settle(cache.rows, engine_list, timeout=30)
            assert not diff, (seed, diff, churn.log)
            assert cache.full_reads >= 2, "read again in full once the stream was back"
        finally:
            # The churn's containers go with the lab (purged on the way out).
            cache.stop()
            client.close()
