"""Deliveries: a channel that answers 500 or not at all is retried with backoff and its
failure recorded with the reason, while the other channels deliver at once; the counters
reach /metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dashboard.alerts import evaluate
from dashboard.alerts.deliver import deliver_in_background
from dashboard.alerts.watch import Watcher
from dashboard.models import Alert, AlertRule, Delivery

from .support.alerts import KEY, webhook_channel
from .support.receiver import webhook_receiver


def test_a_failing_channel_is_retried_and_recorded_without_holding_up_the_others(
    transactional_db: Any, settings: Any, admin: Any
):
    settings.ALERTS_RETRY_DELAYS = (0.3, 0.6)
    settings.ALERTS_TIMEOUT = 0.5
    with webhook_receiver() as ok, webhook_receiver() as broken, webhook_receiver() as silent:
        broken.status = 500
        silent.delay = 2
        alert = Alert.objects.create(
            rule_name="r", kind="exit", host="local", state="fired", text="t"
        )
        deliveries = {
            name: Delivery.objects.create(
                alert=alert, channel=webhook_channel(r), channel_name=name
            )
            for name, r in (("broken", broken), ("silent", silent), ("ok", ok))
        }
        started = time.monotonic()
        threads = [deliver_in_background(d.pk, {"text": "t"}) for d in deliveries.values()]
        [got] = ok.wait_for(1, timeout=5)
        assert time.monotonic() - started < 1.0, "the good channel waited for the others"
        assert got.signed_by(KEY)
        for t in threads:
            t.join(15)
    outcomes = {d.channel_name: d for d in Delivery.objects.all()}
    assert outcomes["ok"].outcome == "delivered" and outcomes["ok"].attempts == 1
    assert outcomes["broken"].outcome == "failed" and outcomes["broken"].attempts == 3
    assert outcomes["broken"].message.startswith("HTTP 500")
    assert len(broken.got) == 3
    assert outcomes["silent"].outcome == "failed"
    assert outcomes["silent"].message == "no answer within 0.5 s"
    metrics = admin.get("/metrics").content.decode()
    assert 'dashboard_alert_deliveries_total{outcome="failed"}' in metrics
    assert 'dashboard_alert_deliveries_total{outcome="delivered"}' in metrics


def test_fired_alerts_and_failed_deliveries_are_in_the_metrics(transactional_db: Any, admin):
    before = admin.get("/metrics").content.decode()
    assert "dashboard_alerts_fired_total" in before
    rule = AlertRule.objects.create(name="crash", kind="exit")
    spec = evaluate.RuleSpec(id=rule.pk, name="crash", kind="exit")
    target = evaluate.Target("abc", "web-1", "exit code 1")
    watcher = Watcher(asyncio.new_event_loop())
    watcher.record(evaluate.Message(spec, "local", "fired", [target], time.time()))
    after = admin.get("/metrics").content.decode()

    def value(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('dashboard_alerts_fired_total{kind="exit",state="fired"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert value(after) == value(before) + 1
    assert Alert.objects.get().text == "[local] container web-1 died: exit code 1 (rule crash)"
