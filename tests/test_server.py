"""The dashboard as daphne serves it: concurrency and a slow engine."""

import time
from concurrent.futures import ThreadPoolExecutor

from .support.browser import live_dashboard, login
from .support.fakes import FakeHangingEngine


def test_a_slow_engine_does_not_queue_requests_behind_each_other():
    # Django runs each request's sync view in a thread of its own under ASGI; were they
    # serialised, four requests waiting 2 s each would take 8 s.
    with (
        FakeHangingEngine() as fake,
        live_dashboard(
            fake.url, DASHBOARD_ENGINE_TIMEOUT="2", DASHBOARD_ENGINE_CONNECT_TIMEOUT="2"
        ) as live,
    ):
        session = login(live)
        url = live.url + "/hosts/local/containers/"
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: session.get(url, timeout=30).status_code, range(4)))
        elapsed = time.monotonic() - started
    assert codes == [503] * 4
    assert elapsed < 6, f"4 concurrent requests took {elapsed:.1f} s"
