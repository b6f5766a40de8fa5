"""Sending alerts: Apprise for the services it knows, our own signed webhook beside it.

Every delivery runs on a thread of its own with its retries (backoff), so a channel that
hangs or fails delays nothing else: not the other channels, not the evaluator. Each outcome
is written to the alert's Delivery row.

The webhook's body is JSON; its header `X-Dashboard-Signature: sha256=<hex>` is the
HMAC-SHA256 of the exact body bytes under the channel's key (docs/alerts.md). Redirects are
never followed: a 3xx is a failed delivery that says where it pointed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import close_old_connections, connection

from engine_client import InvalidArgument
from engine_client.validators import check_apprise_url, check_webhook_url

from .. import credentials
from ..metrics import ALERT_DELIVERIES
from ..models import AlertChannel, Delivery

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Dashboard-Signature"
USER_AGENT = "docker-dashboard-alerts/1"


@dataclass
class Outcome:
    ok: bool
    message: str


def forbidden_targets(request_host: str = "") -> list[tuple[str, int]]:
    """Where no channel may point: the dashboard itself and every managed engine's TCP port."""
    from ..engines import configured_hosts

    out: list[tuple[str, int]] = []
    port = int(getattr(settings, "DASHBOARD_PORT", 8000))
    for name in ("127.0.0.1", "localhost", "::1", *settings.ALLOWED_HOSTS):
        if name and "*" not in name:
            out.append((name.lstrip(".").strip("[]"), port))
    if request_host:
        asked = urlsplit("http://" + request_host)
        if asked.hostname:
            out.append((asked.hostname, asked.port or 80))
    for h in configured_hosts().values():
        if h.url.startswith("tcp://"):
            parts = urlsplit("http://" + h.url[len("tcp://") :])
            if parts.hostname:
                out.append((parts.hostname, parts.port or (2376 if h.tls else 2375)))
    return out


def resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except OSError:
        return []


def check_url(kind: str, url: str, request_host: str = "") -> str:
    """The URL if alerts may go there (its host resolved now, as sending will), else
    InvalidArgument with the reason."""
    forbidden = forbidden_targets(request_host)
    check = check_webhook_url if kind == AlertChannel.WEBHOOK else check_apprise_url
    url = check(url, forbidden)  # the form of the URL first: a clear message for a typo
    if kind == AlertChannel.WEBHOOK or url.split("://")[0] in ("json", "jsons", "xml", "form"):
        host = urlsplit(url if "://" in url else "x://" + url).hostname or ""
        check(url, forbidden, resolve(host))
    return url


def shown_url(url: str) -> str:
    """What a page may show of a channel's URL: the scheme and host, nothing that may be a
    token (Apprise puts them in the user, password and path)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return (
        f"{parts.scheme}://{host}{port}/…"
        if parts.path not in ("", "/")
        else f"{parts.scheme}://{host}{port}/"
    )


def sign(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(url: str, key: str, payload: dict[str, Any], timeout: float) -> Outcome:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    try:
        check_url(AlertChannel.WEBHOOK, url)  # again at sending: a name may resolve anew
    except InvalidArgument as exc:
        return Outcome(False, str(exc))
    try:
        resp = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(key, body),
            },
            timeout=(min(timeout, 5.0), timeout),
            allow_redirects=False,
        )
    except requests.Timeout:
        return Outcome(False, f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Outcome(False, f"could not reach it: {exc}")
    if 200 <= resp.status_code < 300:
        return Outcome(True, f"HTTP {resp.status_code}")
    if 300 <= resp.status_code < 400:
        where = resp.headers.get("Location", "elsewhere")
        return Outcome(False, f"it redirects (HTTP {resp.status_code} to {where}): not followed")
    return Outcome(False, f"HTTP {resp.status_code}: {resp.text[:200].strip()}")


def send_apprise(url: str, title: str, body: str) -> Outcome:
    import apprise

    try:
        check_url(AlertChannel.APPRISE, url)
    except InvalidArgument as exc:
        return Outcome(False, str(exc))
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Outcome(False, "Apprise does not understand this URL")
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as output:
        ok = notifier.notify(title=title, body=body)
    said = " ".join(line.strip() for line in output.getvalue().splitlines() if line.strip())
    return Outcome(bool(ok), said[:500] or ("sent" if ok else "Apprise could not send it"))


def send(channel: AlertChannel, payload: dict[str, Any]) -> Outcome:
    """One attempt to send `payload` through `channel` (no retry)."""
    try:
        url = credentials.decrypt(channel.secret_url)
        key = credentials.decrypt(channel.secret_key) if channel.secret_key else ""
    except credentials.CredentialError as exc:
        return Outcome(False, str(exc))
    timeout = float(getattr(settings, "ALERTS_TIMEOUT", 10.0))
    if channel.kind == AlertChannel.WEBHOOK:
        return send_webhook(url, key, payload, timeout)
    return send_apprise(url, payload.get("title", "Dashboard alert"), payload.get("text", ""))


def deliver_in_background(delivery_id: int, payload: dict[str, Any]) -> threading.Thread:
    """Send on a thread of its own, retrying with backoff; records every outcome."""
    thread = threading.Thread(
        target=_deliver, args=(delivery_id, payload), name=f"alert delivery {delivery_id}"
    )
    thread.daemon = True
    thread.start()
    return thread


def _deliver(delivery_id: int, payload: dict[str, Any]) -> None:
    delays = list(getattr(settings, "ALERTS_RETRY_DELAYS", (2.0, 10.0, 30.0)))
    try:
        close_old_connections()
        delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
        channel = delivery.channel
        if channel is None:
            return
        while True:
            outcome = send(channel, payload)
            delivery.attempts += 1
            delivery.message = outcome.message
            if outcome.ok or not delays:
                delivery.outcome = Delivery.DELIVERED if outcome.ok else Delivery.FAILED
                delivery.save(update_fields=["attempts", "message", "outcome", "updated"])
                ALERT_DELIVERIES.labels(delivery.outcome).inc()
                if not outcome.ok:
                    log.warning(
                        "alert delivery failed",
                        extra={"channel": channel.name, "reason": outcome.message},
                    )
                return
            delivery.save(update_fields=["attempts", "message", "updated"])
            time.sleep(delays.pop(0))
    except Exception:
        log.exception("alert delivery %s failed", delivery_id)
    finally:
        connection.close()
