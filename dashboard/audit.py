"""Writing the audit trail: every state-changing action, success or failure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth.models import User
from django.db import connections
from django.http import HttpRequest

from engine_client import EngineError

from .models import AuditEntry

_SECRET = re.compile(r"pass|secret|token|key|auth|credential", re.IGNORECASE)


def mask(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("***" if _SECRET.search(k) else v) for k, v in params.items()}


def _who(request: HttpRequest) -> dict[str, Any]:
    user = request.user if request.user.is_authenticated else None
    return {
        "user": user,
        "username": user.get_username() if user else "",
        "remote_addr": request.META.get("REMOTE_ADDR", "")[:64],
    }


def _posted(request: HttpRequest) -> dict[str, Any]:
    try:
        items = request.POST.items()
    except Exception:  # noqa: BLE001 - a body too large or malformed to parse
        return {}
    return {k[:64]: v[:256] for k, v in items if k != "csrfmiddlewaretoken"}


def record_request(
    request: HttpRequest,
    kwargs: Mapping[str, Any],
    outcome: str,
    message: str,
    target_name: str = "",
) -> None:
    """An entry for a POST the view itself did not audit (refused before anything was
    tried, or input that did not validate): the URL's name is the action."""
    match = getattr(request, "resolver_match", None)
    target = next((str(kwargs[k]) for k in kwargs if k not in ("host", "kind")), "")
    AuditEntry.objects.create(
        **_who(request),
        host=str(kwargs.get("host", ""))[:64],
        action=(match.url_name if match and match.url_name else request.path)[:64],
        target_id=target[:128],
        target_name=target_name[:255],
        params=mask(_posted(request)),
        outcome=outcome,
        message=message,
    )
    request._audit_written = True


def record_refusal(request: HttpRequest, kwargs: Mapping[str, Any], reason: str) -> None:
    record_request(request, kwargs, AuditEntry.DENIED, reason)


class Ticketed(Protocol):
    """Who asked for a job, as its signed ticket says (a pull, a compose or stack run)."""

    @property
    def host(self) -> str: ...

    @property
    def user_id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def remote_addr(self) -> str: ...


def record_job(
    job: Ticketed,
    action: str,
    target_id: str,
    target_name: str,
    params: Mapping[str, Any],
    outcome: str,
    message: str,
) -> None:
    """The entry of a job that ended in a thread of its own (no request there): the
    person its ticket names (if the account still exists). Gives the thread's database
    connection back."""
    try:
        user_id = job.user_id if User.objects.filter(pk=job.user_id).exists() else None
        AuditEntry.objects.create(
            user_id=user_id,
            username=job.username,
            remote_addr=job.remote_addr,
            host=job.host,
            action=action,
            target_id=target_id,
            target_name=target_name,
            params=mask(params),
            outcome=outcome,
            message=message,
        )
    finally:
        connections.close_all()


@dataclass
class Pending:
    target_name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    # A procedure that reports rather than raises (a whole project's stop, say) sets what
    # failed here: the entry then says failed, with this message.
    failed: str = ""


@contextmanager
def audited(
    request: HttpRequest,
    host: str,
    action: str,
    target_id: str = "",
    target_name: str = "",
    params: Mapping[str, Any] | None = None,
) -> Iterator[Pending]:
    """Record `action` once the block ends: ok, or failed with the engine's message.

    The block may fill in the target's name once it knows it (`pending.target_name = ...`).
    Exceptions pass through unchanged after being recorded.
    """
    pending = Pending(target_name=target_name, params=dict(params or {}))
    outcome, message = AuditEntry.OK, ""
    try:
        yield pending
    except EngineError as exc:
        outcome, message = AuditEntry.FAILED, exc.message
        raise
    except Exception as exc:
        outcome, message = AuditEntry.FAILED, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if outcome == AuditEntry.OK and pending.failed:
            outcome, message = AuditEntry.FAILED, pending.failed
        request._audit_written = True
        AuditEntry.objects.create(
            **_who(request),
            host=host,
            action=action,
            target_id=target_id[:128],
            target_name=pending.target_name[:255],
            params=mask(pending.params),
            outcome=outcome,
            message=message,
        )
