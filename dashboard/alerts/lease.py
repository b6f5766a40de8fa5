"""A cross-process lease in the database: exactly one process holds a named job at a time.

The holder renews its row every few seconds; a row whose expiry has passed may be taken by
anyone. Both steps are one conditional UPDATE, which SQLite and PostgreSQL each apply
atomically, so two processes can never both believe they hold it (as long as their clocks
agree to within the lease's length: they share one machine or NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import WatchLease


def process_id() -> str:
    """Names this process in the lease row (host, pid, and a nonce for pid reuse)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    def __init__(self, name: str, holder: str, seconds: float) -> None:
        self.name = name
        self.holder = holder
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it."""
        now = timezone.now()
        expires = now + timedelta(seconds=self.seconds)
        mine_or_expired = Q(holder=self.holder) | Q(expires__lt=now)
        taken = (
            WatchLease.objects.filter(name=self.name)
            .filter(mine_or_expired)
            .update(holder=self.holder, expires=expires)
        )
        if taken:
            return True
        if WatchLease.objects.filter(name=self.name).exists():
            return False
        try:
            with transaction.atomic():
                WatchLease.objects.create(name=self.name, holder=self.holder, expires=expires)
        except IntegrityError:
            return False  # another process made the row first: it holds it
        return True

    def release(self) -> None:
        """Give the lease up now (a clean shutdown), so another process need not wait."""
        WatchLease.objects.filter(name=self.name, holder=self.holder).update(
            expires=timezone.now() - timedelta(seconds=1)
        )

    def holder_now(self) -> str | None:
        row = WatchLease.objects.filter(name=self.name, expires__gte=timezone.now()).first()
        return row.holder if row else None
