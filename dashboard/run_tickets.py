"""Signed run tickets: how a view hands a run page the run it allowed.

The view checks the request (role, host, target, files) and issues a `RunJob`; the page
gets its signed ticket and presents it on its websocket, and the consumer starts (or
rejoins) the run only with a ticket that is genuine, not expired, and issued to this same
person for this host and this target. Compose project runs and swarm stack runs are tickets
of this one kind, each with its own salt, actions, name rule and words (`RunTickets`).
When the run ends, `audit` writes its entry: who ran what on which host, as the ticket says.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core import signing
from django.http import HttpRequest

from .audit import record_job

TICKET_MAX_AGE = 15 * 60


@dataclass(frozen=True)
class RunJob:
    host: str
    target: str  # what runs: a compose project, a swarm stack
    action: str
    job: str  # the run's id (random): its stream, its audit entry
    user_id: int
    username: str
    remote_addr: str


JobT = TypeVar("JobT", bound=RunJob)


@dataclass(frozen=True)
class RunTickets(Generic[JobT]):
    """The tickets of one kind of run: `salt` keeps them apart from every other kind's,
    `actions` are the runs a ticket may name, `check_name` the target's name rule;
    `expired` and `foreign` are what a refused ticket says."""

    salt: str
    job_class: type[JobT]
    actions: Collection[str]
    check_name: Callable[[object], str]
    expired: str
    foreign: str
    max_age: int = TICKET_MAX_AGE

    def issue(self, request: HttpRequest, host: str, target: str, action: str) -> JobT:
        """A new run for `request`'s user; `ticket(job)` is what the page presents."""
        if action not in self.actions:
            raise ValueError(action)
        return self.job_class(
            host=host,
            target=self.check_name(target),
            action=action,
            job=secrets.token_hex(8),
            user_id=request.user.pk,
            username=request.user.get_username(),
            remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
        )

    def ticket(self, job: RunJob) -> str:
        data = {
            "h": job.host,
            "t": job.target,
            "a": job.action,
            "j": job.job,
            "u": job.user_id,
            "n": job.username,
            "r": job.remote_addr,
        }
        return signing.dumps(data, salt=self.salt, compress=True)

    def read(self, value: str | None, host: str, target: str, user_id: Any) -> JobT:
        """The run a ticket names; ValueError when it is forged, expired, or someone else's."""
        try:
            data = signing.loads(value or "", salt=self.salt, max_age=self.max_age)
        except signing.SignatureExpired:
            raise ValueError(self.expired) from None
        except signing.BadSignature:
            raise ValueError("not a valid run link") from None
        if (
            data.get("h") != host
            or data.get("t") != target
            or data.get("u") != user_id
            or data.get("a") not in self.actions
        ):
            raise ValueError(self.foreign)
        return self.job_class(
            host=data["h"],
            target=self.check_name(data["t"]),
            action=data["a"],
            job=str(data["j"]),
            user_id=data["u"],
            username=data.get("n", ""),
            remote_addr=data.get("r", ""),
        )


def audit(job: RunJob, action: str, params: dict[str, Any], outcome: str, message: str) -> None:
    """The audit entry of a finished run (from the run's thread): the ticket's person,
    address and host, the run's target."""
    record_job(job, action, job.target, job.target, params, outcome, message[:2000])
