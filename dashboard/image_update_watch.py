"""Scheduled image update checks, riding the alert watcher's lease: the process that holds it
(dashboard/alerts/watch.py) calls `UpdateWatch.tick()` as it renews the lease, so exactly
one process of the deployment asks the registries.

A run checks each host's references whose cached answer is older than the interval (a
fresh one costs nothing), then acts on each container's label (`dashboard.update`): `notify`
(the default) announces an update to the alert channels once per new registry digest;
`auto` updates the container too, inside its window (`dashboard.update.window`, UTC), once
per digest: a rolled-back update waits for a newer push. `off` is never looked at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone

from . import image_updates as iu
from .models import Alert, AlertChannel, AuditEntry, Delivery, ImageCheck

log = logging.getLogger(__name__)
KIND = "image_update"
AUTO_USER = "auto-update"
# How often the lease holder looks for stale references (each is asked once per interval).
TICK_SECONDS = 300.0
# The first look waits this long after the lease is first held: a server that starts (or a
# watcher that lives a few seconds, as in the alert tests) does not ask registries at once.
FIRST_DELAY_SECONDS = 60.0


@dataclass
class RunSummary:
    asked: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)  # texts sent to the channels
    updated: list[iu.UpdateReport] = field(default_factory=list)


class UpdateWatch:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = timezone.now,
        tick_seconds: float = TICK_SECONDS,
        first_delay: float = FIRST_DELAY_SECONDS,
    ) -> None:
        self.clock, self.now, self.tick_seconds = clock, now, tick_seconds
        self.first_delay = first_delay
        self._next: float | None = None
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Start a run in a thread of its own when one is due and none is running (called
        from the lease thread, which must not wait for registries)."""
        if self._next is None:
            self._next = self.clock() + self.first_delay
        if self.clock() < self._next or (self._thread and self._thread.is_alive()):
            return
        self._next = self.clock() + self.tick_seconds
        self._thread = threading.Thread(target=self._run, name="image updates", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            close_old_connections()
            self.run_once()
        except Exception:
            log.exception("image updates: the scheduled check failed")
        finally:
            connection.close()

    def run_once(self, hosts: dict[str, Any] | None = None) -> RunSummary:
        from .engines import client_for, configured_hosts

        summary = RunSummary()
        now = self.now()
        for name, host in (hosts if hosts is not None else configured_hosts()).items():
            try:
                self._host(name, client_for(host), now, summary)
            except Exception as exc:  # noqa: BLE001 - one host down must not stop the others
                log.warning("image updates: %s: %s", name, exc)
        return summary

    def _host(self, host: str, client: Any, now: datetime, summary: RunSummary) -> None:
        by_ref = iu.container_references(client)
        wanted = [r for r, rows in by_ref.items() if any(_policy(x) != "off" for x in rows)]
        result = iu.check_host(host, client, wanted, now=now)
        summary.asked += result.asked
        rows = [r for ref in wanted for r in by_ref[ref] if _policy(r) != "off"]
        verdicts = iu.container_verdicts(host, client, rows)
        for ref in wanted:
            check = result.checks.get(ref)
            outdated = [
                r for r in by_ref[ref] if r["Id"] in verdicts and verdicts[r["Id"]].outdated
            ]
            if check is None or not outdated:
                continue
            names = [_name(r) for r in outdated]
            if check.notified_digest != check.remote_digest:
                text = (
                    f"Update available for {ref} on {host} ({check.remote_digest[:19]}): "
                    + ", ".join(names)
                )
                announce(host, text, [{"id": r["Id"], "name": _name(r)} for r in outdated])
                summary.announced.append(text)
                ImageCheck.objects.filter(pk=check.pk).update(notified_digest=check.remote_digest)
            auto = [
                r
                for r in outdated
                if _policy(r) == "auto"
                and iu.in_window(r.get("Labels"), now)
                and not iu.refusal(r.get("Labels"))
                and not _tried(host, _name(r), check.remote_digest)
            ]
            for r in auto:
                report = iu.update(host, client, r["Id"])
                iu.audit_update(host, report, AUTO_USER, remote_digest=check.remote_digest)
                summary.updated.append(report)
                text = _done_text(host, report)
                announce(host, text, [{"id": report.new_id, "name": report.name}])
                summary.announced.append(text)
                if not report.ok:
                    break  # as a bulk update: the first failure stops the rest


def _tried(host: str, name: str, digest: str) -> bool:
    """Whether an automatic update of `name` to `digest` was made already (its audit entry
    says so): one that was rolled back waits for a newer push, not the next run."""
    return AuditEntry.objects.filter(
        host=host,
        action="container.update",
        username=AUTO_USER,
        target_name=name,
        params__remote_digest=digest,
    ).exists()


def _policy(row: dict[str, Any]) -> str:
    return iu.policy_of(row.get("Labels"))


def _name(row: dict[str, Any]) -> str:
    return ((row.get("Names") or ["/"])[0]).lstrip("/")


def _done_text(host: str, report: iu.UpdateReport) -> str:
    if report.outcome == "updated":
        return f"Updated {report.name} on {host} to the newest {report.reference}"
    if report.outcome == "rolled_back":
        return f"Update of {report.name} on {host} rolled back: {report.reason}"
    if report.outcome == "current":
        return f"{report.name} on {host} was already up to date"
    return f"Update of {report.name} on {host} failed: {report.reason}"


def announce(host: str, text: str, targets: list[dict[str, Any]]) -> Alert:
    """One alert in the history, sent to every enabled channel (no rule decides: updates are
    announced wherever alerts go)."""
    from .alerts.deliver import deliver_in_background

    alert = Alert.objects.create(
        rule=None,
        rule_name="image updates",
        kind=KIND,
        host=host,
        state=Alert.FIRED,
        targets=targets,
        text=text,
    )
    payload = {
        "title": "Dashboard: image update",
        "text": text,
        "state": Alert.FIRED,
        "kind": KIND,
        "rule": "image updates",
        "host": host,
        "targets": targets,
        "at": datetime.now(tz=UTC).isoformat(),
        "alert": alert.pk,
    }
    for channel in AlertChannel.objects.filter(enabled=True):
        delivery = Delivery.objects.create(alert=alert, channel=channel, channel_name=channel.name)
        deliver_in_background(delivery.pk, payload)
    return alert
