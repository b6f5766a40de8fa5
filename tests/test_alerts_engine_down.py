"""An engine of the test's own stops and comes back: the watcher sends exactly one
"unreachable" and one "recovered", and no crash for the containers the shutdown stopped."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dashboard.engines import reset_clients
from dashboard.models import Alert, AlertRule
from engine_client import EngineClient

from .support.alerts import KEY, running_watcher, webhook_channel
from .support.fault_lab import fault_lab_running
from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL
from .support.receiver import webhook_receiver

pytestmark = [pytest.mark.engine, pytest.mark.fault]


def test_an_engine_that_stops_gives_one_unreachable_and_one_recovery(
    transactional_db: Any, settings: Any
):
    settings.ALERTS_RETRY_DELAYS = (0.2,)
    with fault_lab_running() as lab, webhook_receiver() as receiver:
        settings.DOCKER_HOST = lab.url
        settings.DASHBOARD_HOST_NAME = "local"
        reset_clients()
        engine = EngineClient(lab.url, timeout=30)
        for i in range(3):
            created = engine.containers.create(
                {"Image": LAB_IMAGE, "Cmd": ["sleep", "300"], "Labels": {TEST_LABEL: RUN_ID}},
                name=f"dt-{RUN_ID}-down{i}",
            )
            engine.containers.start(created["Id"])
        channel = webhook_channel(receiver)
        for kind, extra in ((AlertRule.UNREACHABLE, {"seconds": 5}), (AlertRule.EXIT, {})):
            rule = AlertRule.objects.create(name=kind, kind=kind, **extra)
            rule.channels.add(channel)
        try:
            with running_watcher():
                lab.stop_engine()
                [down] = receiver.wait_for(1, timeout=40)
                assert down.signed_by(KEY)
                assert down.json()["state"] == "fired" and down.json()["kind"] == "unreachable"
                lab.start_engine()
                got = receiver.wait_for(2, timeout=60)
                time.sleep(5)  # anything else would have come by now
                texts = [r.json()["text"] for r in receiver.got]
                assert len(receiver.got) == 2, texts
                assert got[1].json()["state"] == "recovered", texts
                assert not Alert.objects.filter(open=True).exists()
        finally:
            engine.close()
            reset_clients()
