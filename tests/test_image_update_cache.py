"""The update-check cache (dashboard/image_updates.py), without an engine: one registry
request per reference and interval, none inside a rate limit's back-off. The client is a
fake: no lab registry answers `toomanyrequests` on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import image_updates as iu
from dashboard.models import ImageCheck
from engine_client import updates as u

REF = "registry.example.com/team/app:v1"


class FakeRegistryAnswers:
    """Stands in for `EngineClient.updates`: answers `check` from a script, counting asks."""

    def __init__(self, *answers: u.UpdateCheck) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def check(self, reference: str, auth: str | None = None, image=None) -> u.UpdateCheck:
        self.asked.append(reference)
        return self.answers.pop(0)


class FakeClient:
    def __init__(self, updates: FakeRegistryAnswers) -> None:
        self.updates = updates


T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_rate_limit_backs_off_and_says_so(settings):
    settings.IMAGE_UPDATE_INTERVAL = 600
    limited = u.UpdateCheck(
        REF, u.FAILED, reason=u.RATE_LIMITED, message="toomanyrequests: slow down"
    )
    fine = u.UpdateCheck(REF, u.UP_TO_DATE, "sha256:" + "a" * 64, asked_registry=True)
    fake = FakeRegistryAnswers(limited, fine)
    client = FakeClient(fake)

    row, _ = iu.check("local", client, REF, now=T0)
    assert row.reason == u.RATE_LIMITED and "backing off" in row.message
    assert row.retry_after == T0 + iu.RATE_LIMIT_BACKOFF
    # Asked for again, even forced, inside the back-off: the registry is left alone.
    row, _ = iu.check("local", client, REF, force=True, now=T0 + timedelta(minutes=30))
    assert len(fake.asked) == 1 and row.reason == u.RATE_LIMITED
    # After it: asked again.
    row, _ = iu.check("local", client, REF, now=T0 + timedelta(hours=1, minutes=1))
    assert len(fake.asked) == 2 and row.status == u.UP_TO_DATE and row.retry_after is None


@pytest.mark.django_db
def test_a_fresh_answer_is_not_asked_again_until_the_interval_or_a_forced_check(settings):
    settings.IMAGE_UPDATE_INTERVAL = 600
    answer = u.UpdateCheck(REF, u.UP_TO_DATE, "sha256:" + "b" * 64, asked_registry=True)
    fake = FakeRegistryAnswers(answer, answer, answer)
    client = FakeClient(fake)
    iu.check("local", client, REF, now=T0)
    iu.check("local", client, REF, now=T0 + timedelta(minutes=9))
    assert len(fake.asked) == 1
    iu.check("local", client, REF, force=True, now=T0 + timedelta(minutes=9))
    iu.check("local", client, REF, now=T0 + timedelta(minutes=20))
    assert len(fake.asked) == 3
    assert ImageCheck.objects.count() == 1


def test_verdicts_use_the_containers_own_image():
    row = ImageCheck(status=u.UP_TO_DATE, remote_digest="sha256:" + "c" * 64, checked_at=T0)
    old = {"RepoDigests": ["registry.example.com/team/app@sha256:" + "d" * 64]}
    v = iu.verdict(row, old, REF)
    assert v is not None and v.outdated and v.text == "update available"
    built_here = iu.verdict(row, {"RepoDigests": []}, REF)
    assert built_here is not None and built_here.status == u.LOCAL_ONLY


@pytest.mark.django_db
def test_a_service_is_outdated_when_its_pinned_digest_is_not_the_registrys():
    new, old = "sha256:" + "e" * 64, "sha256:" + "f" * 64
    ImageCheck.objects.create(
        host="local", reference=REF, status=u.UP_TO_DATE, remote_digest=new, checked_at=T0
    )
    got = iu.service_verdicts("local", {"s1": f"{REF}@{old}", "s2": f"{REF}@{new}", "s3": "x:1"})
    assert got["s1"].outdated and got["s2"].status == u.UP_TO_DATE and "s3" not in got


def test_the_scheduled_check_waits_before_its_first_run_then_runs_each_tick(monkeypatch):
    from dashboard import image_update_watch as w

    runs: list[float] = []
    clock = {"t": 1000.0}
    watch = w.UpdateWatch(clock=lambda: clock["t"], tick_seconds=300, first_delay=60)
    monkeypatch.setattr(watch, "_run", lambda: runs.append(clock["t"]))
    watch.tick()
    clock["t"] += 59
    watch.tick()
    assert runs == []
    clock["t"] += 2
    watch.tick()
    watch._thread.join(5)
    clock["t"] += 100
    watch.tick()
    clock["t"] += 200
    watch.tick()
    watch._thread.join(5)
    assert runs == [1061.0, 1361.0]


def test_an_outdated_service_row_has_the_badge_and_the_way_to_its_image_update():
    from django.template.loader import render_to_string

    class Host:
        name = "local"

    row = {
        "id": "s" * 25,
        "name": "web",
        "short_id": "sssss",
        "mode": "replicated",
        "running": 1,
        "desired": 1,
        "health": "ok",
        "update_state": "",
        "image": REF,
        "image_full": f"{REF}@sha256:" + "1" * 64,
        "ports": [],
        "update": iu.Verdict(u.UPDATE_AVAILABLE, REF, "sha256:" + "2" * 64),
    }
    html = render_to_string("swarm/_service_rows.html", {"rows": [row], "host": Host()})
    assert 'data-update="update_available"' in html
    assert f'href="/hosts/local/swarm/services/{"s" * 25}/"' in html
