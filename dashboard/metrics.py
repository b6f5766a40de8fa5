"""Prometheus metrics of this process (`/metrics`), and the hooks that feed them.

Each daphne process counts for itself: behind a proxy, scrape every process on its own port
(README: Running several processes).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from .streams.keys import parse_stream_key

HTTP_REQUESTS = Counter(
    "dashboard_http_requests_total", "HTTP requests answered", ["method", "view", "status"]
)
HTTP_SECONDS = Histogram(
    "dashboard_http_request_seconds",
    "Time to answer an HTTP request (the view and middleware, not daphne)",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WS_VIEWERS = Gauge("dashboard_websocket_viewers", "Open websockets, by kind", ["kind"])
UPSTREAMS = Gauge(
    "dashboard_upstream_streams", "Open upstream engine streams (one per thing watched)", ["kind"]
)
MESSAGES_SENT = Counter(
    "dashboard_stream_messages_sent_total", "Batches a stream sent to its viewers", ["kind"]
)
MESSAGES_DROPPED = Counter(
    "dashboard_stream_messages_dropped_total",
    "Messages a viewer did not get because it fell too far behind (its queue was full)",
    ["kind"],
)
ENGINE_SECONDS = Histogram(
    "dashboard_engine_request_seconds",
    "Engine API calls: time to the answer's head (streams: to their start)",
    ["host", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def stream_kind(key: str) -> str:
    """A hub key -> its kind (never a container id: labels stay few)."""
    return parse_stream_key(key).kind


def engine_observer(host_name: str) -> Callable[[float, int | None], None]:
    """What an EngineClient calls after each request: seconds and status (None: no answer)."""

    def observe(seconds: float, status: int | None) -> None:
        outcome = "unreachable" if status is None else "error" if status >= 500 else "ok"
        ENGINE_SECONDS.labels(host_name, outcome).observe(seconds)

    return observe


class MetricsMiddleware:
    """Counts and times every request by its URL name, and says how long the dashboard took
    in a `Server-Timing` header (benchmarks read it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.url_name if match else None) or "unmatched"
        HTTP_REQUESTS.labels(request.method, view, str(response.status_code)).inc()
        HTTP_SECONDS.labels(view).observe(elapsed)
        response.headers.setdefault("Server-Timing", f"app;dur={elapsed * 1000:.1f}")
        return response


def _bearer_ok(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for an admin's session or `Authorization: Bearer
    $DASHBOARD_METRICS_TOKEN` (a scraper has no session)."""
    from .access import ADMIN, has_role

    if not (_bearer_ok(request) or has_role(request.user, ADMIN)):
        signed_in = getattr(request.user, "is_authenticated", False)
        response = HttpResponse(
            "metrics need an admin login or the metrics token\n",
            status=403 if signed_in else 401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


ALERTS_FIRED = Counter(
    "dashboard_alerts_fired_total", "Alert messages the evaluator sent, by kind", ["kind", "state"]
)
ALERT_DELIVERIES = Counter(
    "dashboard_alert_deliveries_total",
    "Alert deliveries to channels, by their final outcome (failed: after every retry)",
    ["outcome"],
)
