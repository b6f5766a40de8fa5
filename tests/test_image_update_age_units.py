"""Image ages beside an update badge, without an engine or a registry: the config's
`created` as registries write it, and the verdict's ages from the cache and the image."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.image_updates import verdict
from dashboard.models import ImageCheck
from engine_client import updates as u
from engine_client.registry import parse_created

REF = "127.0.0.1:5000/team/web:v1"


def test_created_dates_as_registries_write_them():
    assert parse_created("2026-11-30T15:01:02.123456789Z") == datetime(
        2026, 11, 30, 15, 1, 2, 123456, tzinfo=UTC
    )
    assert parse_created("2026-11-30T17:01:02+02:00") == datetime(
        2026, 11, 30, 15, 1, 2, tzinfo=UTC
    )
    assert parse_created("yesterday") is None
    assert parse_created("") is None


def _row(**kw) -> ImageCheck:
    return ImageCheck(
        host="local",
        reference=REF,
        status=u.UPDATE_AVAILABLE,
        remote_digest="sha256:" + "1" * 64,
        checked_at=timezone.now(),
        **kw,
    )


def test_an_update_available_says_how_old_both_images_are():
    made = timezone.now() - timedelta(days=3)
    local = timezone.now() - timedelta(days=40)
    image = {
        "Id": "sha256:" + "2" * 64,
        "RepoDigests": [f"127.0.0.1:5000/team/web@sha256:{'3' * 64}"],
    }
    v = verdict(_row(remote_created=made), {**image, "Created": int(local.timestamp())}, REF)
    assert v is not None and v.outdated and v.dated
    html = render_to_string("updates/_badge.html", {"v": v})
    assert 'data-age="new"' in html and "3\xa0days" in html
    assert 'data-age="local"' in html and "1\xa0month" in html


def test_no_ages_when_up_to_date_or_unknown():
    digest = "sha256:" + "1" * 64
    image = {"Id": "x", "RepoDigests": [f"127.0.0.1:5000/team/web@{digest}"], "Created": 1}
    v = verdict(_row(remote_created=timezone.now()), image, REF)
    assert v is not None and v.status == u.UP_TO_DATE and not v.dated
    assert "data-age" not in render_to_string("updates/_badge.html", {"v": v})
    unknown = verdict(_row(), None, REF)
    assert unknown is not None and unknown.outdated and not unknown.dated
