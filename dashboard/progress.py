"""Pull and push jobs: started by a view, run and watched through the stream hub.

The view checks the request (role, form) and hands the page a signed ticket naming the job;
the page's websocket presents it, and the progress consumer starts (or rejoins) the job in
the hub. The ticket is bound to the person and the host, so it cannot be replayed by anyone
else, and it expires. The job's outcome is written to the audit trail when the engine's
stream ends, with the engine's own message on failure.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connections
from django.http import HttpRequest

from engine_client import EngineClient, EngineError
from engine_client.images import ProgressState
from engine_client.streams import EngineStream
from engine_client.validators import ImageRef, parse_reference

from . import credentials
from .audit import record_job
from .models import AuditEntry
from .streams.sources import ProgressSource

_SALT = "dashboard.progress"
# A ticket starts (or rejoins) its job within this many seconds of being issued.
TICKET_MAX_AGE = 15 * 60
KINDS = ("pull", "push")


@dataclass(frozen=True)
class Job:
    kind: str  # "pull" or "push"
    host: str
    ref: str
    job: str
    user_id: int
    username: str
    remote_addr: str
    target_id: str = ""

    @property
    def reference(self) -> ImageRef:
        return parse_reference(self.ref)


def issue(request: HttpRequest, host: str, kind: str, ref: ImageRef, target_id: str = "") -> Job:
    """A new job for `request`'s user; `ticket(job)` is what the page's websocket presents."""
    if kind not in KINDS:
        raise ValueError(kind)
    return Job(
        kind=kind,
        host=host,
        ref=str(ref),
        job=secrets.token_hex(8),
        user_id=request.user.pk,
        username=request.user.get_username(),
        remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
        target_id=target_id,
    )


def ticket(job: Job) -> str:
    return signing.dumps(
        {
            "k": job.kind,
            "h": job.host,
            "r": job.ref,
            "j": job.job,
            "u": job.user_id,
            "n": job.username,
            "a": job.remote_addr,
            "t": job.target_id,
        },
        salt=_SALT,
        compress=True,
    )


def read_ticket(value: str | None, host: str, user_id: Any) -> Job:
    """The job a ticket names; ValueError when it is forged, expired, or someone else's."""
    try:
        data = signing.loads(value or "", salt=_SALT, max_age=TICKET_MAX_AGE)
    except signing.SignatureExpired:
        raise ValueError("this progress link has expired; start again") from None
    except signing.BadSignature:
        raise ValueError("not a valid progress link") from None
    if data.get("h") != host or data.get("u") != user_id or data.get("k") not in KINDS:
        raise ValueError("this progress link belongs to someone else")
    job = Job(
        kind=data["k"],
        host=data["h"],
        ref=data["r"],
        job=data["j"],
        user_id=data["u"],
        username=data.get("n", ""),
        remote_addr=data.get("a", ""),
        target_id=data.get("t", ""),
    )
    job.reference  # noqa: B018 - checked again: a ticket only ever names a valid reference
    return job


def source_for(job: Job, client: EngineClient) -> ProgressSource:
    """The hub source that runs `job` (the running or finished one, if there is one)."""

    def open_stream() -> EngineStream:
        ref = job.reference
        try:
            # Runs in the job's own thread: the only place a password is decrypted.
            auth = credentials.auth_header(job.host, ref.registry)
        except credentials.CredentialError as exc:
            raise EngineError(str(exc)) from None
        finally:
            connections.close_all()
        if job.kind == "pull":
            return client.images.pull(ref, auth=auth)
        return client.images.push(ref, auth=auth)

    def on_done(state: ProgressState) -> None:
        record(job, state)

    context = {"kind": job.kind, "ref": job.ref}
    return ProgressSource.for_job(
        job.job,
        lambda: ProgressSource(job.job, open_stream, "images/_progress.html", context, on_done),
    )


def record(job: Job, state: ProgressState) -> None:
    """The audit entry for a finished job (from the job's thread)."""
    record_job(
        job,
        f"image.{job.kind}",
        target_id=(job.target_id or state.digest or job.ref)[:128],
        target_name=job.ref[:255],
        params={"reference": job.ref, "digest": state.digest},
        outcome=AuditEntry.FAILED if state.error else AuditEntry.OK,
        message=state.error,
    )
