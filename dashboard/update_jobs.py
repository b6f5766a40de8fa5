"""Updates of a selection of containers as jobs: started by the view, run and watched through
the stream hub (streams/update_run.py), like a pull (progress.py).

The view checks the request (role, form) and hands the page a signed ticket naming the job
and its containers; the page's websocket presents it and the consumer starts (or rejoins)
the job. The ticket is bound to the person and the host and expires. Each container's
update is audited when it ends, as the update in the request was.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connections
from django.http import HttpRequest

from engine_client import EngineClient
from engine_client.image_update import PHASES, UpdateReport
from engine_client.images import ProgressState

from . import image_updates
from .streams.update_run import UpdateRunSource

_SALT = "dashboard.update_jobs"
TICKET_MAX_AGE = 15 * 60
# The phases every update shows (a rollback's only when it happens).
SHOWN_PHASES = PHASES[:3]


@dataclass(frozen=True)
class UpdateJob:
    host: str
    ids: tuple[str, ...]
    job: str
    user_id: int
    username: str
    remote_addr: str


def issue(request: HttpRequest, host: str, ids: list[str]) -> UpdateJob:
    return UpdateJob(
        host=host,
        ids=tuple(ids),
        job=secrets.token_hex(8),
        user_id=request.user.pk,
        username=request.user.get_username(),
        remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
    )


def ticket(job: UpdateJob) -> str:
    data = {
        "h": job.host,
        "i": list(job.ids),
        "j": job.job,
        "u": job.user_id,
        "n": job.username,
        "a": job.remote_addr,
    }
    return signing.dumps(data, salt=_SALT, compress=True)


def read_ticket(value: str | None, host: str, user_id: Any) -> UpdateJob:
    """The job a ticket names; ValueError when it is forged, expired, or someone else's."""
    try:
        data = signing.loads(value or "", salt=_SALT, max_age=TICKET_MAX_AGE)
    except signing.SignatureExpired:
        raise ValueError("this update link has expired; start again") from None
    except signing.BadSignature:
        raise ValueError("not a valid update link") from None
    if data.get("h") != host or data.get("u") != user_id:
        raise ValueError("this update link belongs to someone else")
    return UpdateJob(
        host=data["h"],
        ids=tuple(str(i) for i in data["i"]),
        job=data["j"],
        user_id=data["u"],
        username=data.get("n", ""),
        remote_addr=data.get("a", ""),
    )


def context(job: UpdateJob) -> dict[str, Any]:
    """What the page and every live message render `updates/_run.html` with."""
    return {"host_name": job.host, "phase_names": SHOWN_PHASES}


def source_for(job: UpdateJob, client: EngineClient) -> UpdateRunSource:
    """The hub source that runs `job` (the running or finished one, if there is one)."""

    def update_one(
        cid: str,
        on_progress: Callable[[ProgressState], None],
        on_phase: Callable[[str], None],
    ) -> UpdateReport:
        try:  # in the job's own thread: its database connection is given back
            return image_updates.update(
                job.host, client, cid, on_progress=on_progress, on_phase=on_phase
            )
        finally:
            connections.close_all()

    def on_report(report: UpdateReport) -> None:
        try:
            user = get_user_model().objects.filter(pk=job.user_id).first()
            image_updates.audit_update(job.host, report, job.username, user, job.remote_addr)
        finally:
            connections.close_all()

    return UpdateRunSource.for_job(
        job.job,
        lambda: UpdateRunSource(job.job, list(job.ids), update_one, on_report, context(job)),
    )
