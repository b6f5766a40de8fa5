"""`/healthz`: is this process well, can it reach its database, and which engines answer.

Anyone may ask (a load balancer has no login), so an anonymous answer says only how many
hosts there are and how many answer: no host names, no engine URLs, no error texts, which
would tell a stranger where the engines are. A signed-in user also gets each host's name,
whether it answered, its API version, how long it took and, when it did not answer, why.

Status 200 while the process and its database work, engines answering or not (a dashboard
whose engine is down still serves its pages, which say so); 503 when the database fails.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from engine_client import EngineClient, EngineError

from ..engines import Host, client_for, configured_hosts

PING_TIMEOUT = 2.0
log = logging.getLogger(__name__)


def _ping(host: Host) -> dict[str, Any]:
    client: EngineClient = client_for(host)
    started = time.perf_counter()
    try:
        client.system.ping(timeout=PING_TIMEOUT)
        version = client.api_version
    except EngineError as exc:
        return {
            "name": host.name,
            "reachable": False,
            "error": exc.message,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return {
        "name": host.name,
        "reachable": True,
        "api_version": version,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            # A real table: `SELECT 1` needs no lock, so it passes on a locked or empty file.
            cursor.execute("SELECT COUNT(*) FROM django_migrations")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any database failure is "not ok", said plainly
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


@never_cache
@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db_ok, db_error = _database()
    hosts = list(configured_hosts().values())
    with ThreadPoolExecutor(max_workers=min(len(hosts), 8) or 1) as pool:
        pings = list(pool.map(_ping, hosts))
    reachable = sum(1 for p in pings if p["reachable"])
    status = "ok" if db_ok and reachable == len(pings) else "degraded" if db_ok else "failing"
    body: dict[str, Any] = {
        "status": status,
        "database": "ok" if db_ok else "failing",
        "hosts": {"total": len(pings), "reachable": reachable},
    }
    # Who asks is known only through the database (sessions): without it, say no more.
    if db_ok and getattr(request.user, "is_authenticated", False):
        body["hosts"]["each"] = pings
    elif not db_ok:
        log.warning("healthz: database failing: %s", db_error)
    return JsonResponse(body, status=200 if db_ok else 503)
