"""The update policy by label, run by the scheduled watch (dashboard/image_update_watch.py)
with a clock of the test's: `auto` updates inside its window, once; an update found or done
is announced to the alert channels once."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime

import pytest

from dashboard.image_update_watch import UpdateWatch
from dashboard.models import AuditEntry
from engine_client import EngineError

from .support.alerts import webhook_channel
from .support.lab import TEST_REPO, lacks
from .support.receiver import webhook_receiver
from .support.updates import move_tag_behind_the_back, publish


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 30, h, m, tzinfo=UTC)


@pytest.fixture
def receiver(transactional_db):
    with webhook_receiver() as r:
        webhook_channel(r)
        yield r


def test_auto_updates_inside_its_window_once_and_each_news_is_sent_once(
    engine, lab_settings, make_container, image_tags, receiver, settings
):
    lacks(engine, "podman", "a distribution endpoint (nothing is found to update)")
    settings.ALERTS_RETRY_DELAYS = ()
    ref = image_tags(f"{TEST_REPO}/pol{secrets.token_hex(2)}:v1")
    image_tags(publish(engine, ref))
    early = make_container(
        Image=ref, Labels={"dashboard.update": "auto", "dashboard.update.window": "02:00-04:00"}
    )
    late = make_container(
        Image=ref, Labels={"dashboard.update": "auto", "dashboard.update.window": "05:00-06:00"}
    )
    told = make_container(Image=ref)  # notify, the default
    move_tag_behind_the_back(engine, ref)
    clock = {"now": at("03:00")}
    watch = UpdateWatch(now=lambda: clock["now"])
    try:
        first = watch.run_once()
        assert [r.name for r in first.updated] == [early["Name"].lstrip("/")]
        assert first.updated[0].outcome == "updated", first.updated[0]
        available = [t for t in first.announced if t.startswith("Update available")]
        assert len(available) == 1 and told["Name"].lstrip("/") in available[0]

        again = watch.run_once()  # the same hour: nothing new to do or say
        assert not again.updated and not again.announced

        clock["now"] = at("05:30")
        later = watch.run_once()
        assert [r.name for r in later.updated] == [late["Name"].lstrip("/")]
        assert [t.split(" ")[0] for t in later.announced] == ["Updated"]
        assert not watch.run_once().updated

        sent = receiver.wait_for(3, timeout=10)
        assert len(sent) == 3 and all(s.json()["kind"] == "image_update" for s in sent)
        entries = AuditEntry.objects.filter(action="container.update", username="auto-update")
        assert entries.count() == 2 and all(e.outcome == "ok" for e in entries)
        told_now = engine.containers.inspect(told["Id"])
        assert told_now["Image"] == told["Image"]  # notify never updates
    finally:
        for c in (early, late):
            with contextlib.suppress(EngineError):
                engine.containers.remove(c["Name"].lstrip("/"), force=True)
        for image in engine.images.list(filters={"reference": [ref.rpartition(":")[0]]}):
            with contextlib.suppress(EngineError):
                engine.images.remove(image["Id"], force=True)


def test_windows_read_in_utc_and_across_midnight():
    from dashboard.image_updates import in_window

    labels = {"dashboard.update.window": "23:00-01:00"}
    assert in_window(labels, at("23:30")) and in_window(labels, at("00:30"))
    assert not in_window(labels, at("01:00")) and not in_window(labels, at("12:00"))
    assert in_window({}, at("12:00"))
    assert not in_window({"dashboard.update.window": "nonsense"}, at("12:00"))
