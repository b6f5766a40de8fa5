"""/healthz, /metrics and structured logs."""

from __future__ import annotations

import json
import logging

import pytest

from dashboard.engines import reset_clients
from dashboard.logs import StructuredFormatter

pytestmark = pytest.mark.django_db

MISSING = "unix:///run/dl/missing-engine.sock"


@pytest.fixture
def two_hosts(settings, engine):
    """The lab engine as `local`, and a host whose engine is not there."""
    from .support.lab import LAB_DOCKER_HOST

    settings.DOCKER_HOST = LAB_DOCKER_HOST
    settings.DASHBOARD_HOST_NAME = "local"
    settings.DASHBOARD_HOSTS = f"gone={MISSING}"
    reset_clients()
    yield
    reset_clients()


@pytest.mark.engine
def test_healthz_tells_a_stranger_counts_only(two_hosts, anonymous):
    resp = anonymous.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body == {
        "status": "degraded",
        "database": "ok",
        "hosts": {"total": 2, "reachable": 1},
    }
    text = resp.content.decode()
    assert "missing-engine" not in text and "gone" not in text and "unix:" not in text


@pytest.mark.engine
def test_healthz_tells_a_signed_in_user_each_host(two_hosts, viewer):
    body = viewer.get("/healthz").json()
    each = {h["name"]: h for h in body["hosts"]["each"]}
    assert each["local"]["reachable"] is True
    assert each["local"]["api_version"].startswith("1.")
    assert each["gone"]["reachable"] is False
    assert "No such file or directory" in each["gone"]["error"]


def test_metrics_need_an_admin_or_the_token(settings, anonymous, viewer, admin):
    settings.METRICS_TOKEN = "s3cret-token"
    assert anonymous.get("/metrics").status_code == 401
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert viewer.get("/metrics").status_code == 403
    resp = anonymous.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/plain")
    assert admin.get("/metrics").status_code == 200


def test_no_token_configured_means_no_token_works(settings, anonymous):
    settings.METRICS_TOKEN = ""
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.engine
def test_metrics_count_requests_and_engine_calls_per_host(lab_settings, admin):
    assert admin.get("/hosts/local/containers/").status_code == 200
    text = admin.get("/metrics").content.decode()
    assert 'dashboard_http_requests_total{method="GET",status="200",view="container-list"}' in text
    assert 'dashboard_engine_request_seconds_count{host="local",outcome="ok"}' in text
    for name in (
        "dashboard_websocket_viewers",
        "dashboard_upstream_streams",
        "dashboard_stream_messages_sent_total",
        "dashboard_stream_messages_dropped_total",
        "dashboard_http_request_seconds_bucket",
    ):
        assert f"# TYPE {name.removesuffix('_total').removesuffix('_bucket')}" in text, name


@pytest.mark.engine
def test_pages_say_how_long_the_dashboard_took(lab_settings, viewer):
    resp = viewer.get("/hosts/local/containers/")
    assert resp["Server-Timing"].startswith("app;dur=")
    assert float(resp["Server-Timing"].split("=", 1)[1]) > 0


def _record(msg: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    record = logging.LogRecord("dashboard.x", logging.WARNING, __file__, 1, msg, (), exc_info)
    record.host = "local"
    return record


def test_key_value_logs_are_one_line_per_record():
    line = StructuredFormatter("kv").format(_record('stream "x" failed', exc=True))
    assert "\n" not in line
    assert line.split(" ")[1] == "level=WARNING"
    assert 'msg="stream \\"x\\" failed"' in line
    assert "host=local" in line
    assert "exc=" in line and "RuntimeError: boom" in line


def test_json_logs_parse_back():
    obj = json.loads(StructuredFormatter("json").format(_record("hello")))
    assert obj["level"] == "WARNING" and obj["msg"] == "hello" and obj["host"] == "local"
