"""The watcher: follows every host's events with no page open and evaluates the alert rules,
in exactly one process of the deployment.

Each process runs one Watcher (started with the server, dashboard/asgi.py). A thread keeps
trying to hold the database lease "alerts" (lease.py); the process that holds it listens to
each host's events stream through the stream hub — the same upstream the pages share, one
per host — and feeds what arrives to the evaluator thread, which writes each alert and hands
its deliveries to threads of their own (deliver.py). A process that loses the lease (or
dies) stops; another takes over once the lease has expired, within `lease_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from ..image_update_watch import UpdateWatch
from ..metrics import ALERTS_FIRED
from ..models import Alert, AlertRule, AuditEntry, Delivery, Silence
from ..streams import keys
from ..streams.hub import get_hub
from ..streams.sources import DiskSource, EventsSource, ListStatsSource, SwarmStateSource
from . import badge, evaluate
from .deliver import deliver_in_background
from .lease import Lease, process_id

log = logging.getLogger(__name__)
LEASE_NAME = "alerts"
# Dashboard actions that stop a container on purpose (Podman sends no kill event to tell).
STOPPING_ACTIONS = ("container.stop", "container.restart", "container.kill", "container.remove")
RULES_RELOAD_SECONDS = 2.0


def unreachable_conditions() -> set[tuple[int, str, str]]:
    """The "engine unreachable" conditions on, as the evaluator keys them. Only these carry
    over to a process that takes the lease over: an engine's stream says "live" or
    "reconnecting" as soon as it is followed, so each is closed or kept at once. Other
    conditions (an unhealthy container) may have ended while no process watched, with no
    event to say so: the new holder learns them afresh rather than keep one open for ever."""
    out = set()
    rows = Alert.objects.filter(open=True, kind=evaluate.UNREACHABLE, rule__isnull=False)
    for alert in rows.only("rule_id", "host"):
        out.add((alert.rule_id, alert.host, "engine"))
    return out


def rule_specs() -> list[evaluate.RuleSpec]:
    out = []
    for r in AlertRule.objects.filter(enabled=True).prefetch_related("channels"):
        out.append(
            evaluate.RuleSpec(
                id=r.pk,
                name=r.name,
                kind=r.kind,
                host=r.host,
                name_glob=r.name_glob,
                label=r.label,
                project=r.project,
                count=r.count,
                minutes=r.minutes,
                seconds=r.seconds,
                percent=r.percent,
                megabytes=r.megabytes,
                cooldown=r.cooldown,
                channels=tuple(c.pk for c in r.channels.all() if c.enabled),
            )
        )
    return out


def stopped_by_dashboard(host: str, cid: str, since: float) -> bool:
    when = datetime.fromtimestamp(since, tz=UTC)
    for target in AuditEntry.objects.filter(
        host=host, action__in=STOPPING_ACTIONS, when__gte=when
    ).values_list("target_id", flat=True):
        if target and (cid.startswith(target) or target.startswith(cid)):
            return True
    return False


def is_silenced(rule_id: int, host: str) -> bool:
    from django.db.models import Q
    from django.utils import timezone

    return Silence.objects.filter(
        Q(rule_id=rule_id) | Q(rule__isnull=True),
        Q(host=host) | Q(host=""),
        until__gt=timezone.now(),
    ).exists()


class Watcher:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        lease_seconds: float | None = None,
        group_seconds: float | None = None,
        hold_seconds: float = 2.0,
    ) -> None:
        self.loop = loop
        self.lease = Lease(LEASE_NAME, process_id(), lease_seconds or settings.ALERTS_LEASE_SECONDS)
        self.evaluator = evaluate.Evaluator(
            hold=hold_seconds,
            group=settings.ALERTS_GROUP_SECONDS if group_seconds is None else group_seconds,
            stopped_by_dashboard=stopped_by_dashboard,
        )
        self.holding = threading.Event()
        self.stopping = threading.Event()
        self.inbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.followed: dict[str, Any] = {}  # host name -> its listener
        self.live: set[str] = set()  # hosts whose events stream is connected
        # host name -> the listener of its stats sampling (only while a threshold rule exists)
        self.sampled: dict[str, Any] = {}
        self.disk_read: dict[str, Any] = {}  # host name -> its disk listener (disk rules only)
        self.swarm_read: dict[str, Any] = {}  # host name -> its swarm listener (swarm rules)
        self.deliveries: list[threading.Thread] = []
        self._threads: list[threading.Thread] = []
        self._release_on_stop = True
        # Scheduled image update checks ride this lease: one process asks the registries.
        self.updates = UpdateWatch()

    # -- life -------------------------------------------------------------------------------

    def start(self) -> Watcher:
        for target, name in ((self._lease_loop, "alerts lease"), (self._evaluate_loop, "alerts")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, release: bool = True) -> None:
        """End the threads (from any thread, the loop's included: the lease thread itself
        gives the lease up, so no database call runs here)."""
        self._release_on_stop = release
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.holding.is_set():
            self._unfollow_all()
            self.holding.clear()

    # -- the lease thread ---------------------------------------------------------------------

    def _lease_loop(self) -> None:
        renew = max(0.5, self.lease.seconds / 4)
        while not self.stopping.is_set():
            held = bool(self._db(self.lease.acquire))
            if held and not self.holding.is_set():
                log.info(
                    "alerts: this process evaluates the rules", extra={"holder": self.lease.holder}
                )
                self.holding.set()
            elif not held and self.holding.is_set():
                log.warning("alerts: lease lost, another process evaluates")
                self.holding.clear()
                self._unfollow_all()
            if held:
                self._sync_hosts()
                self.updates.tick()
            self.stopping.wait(renew)
        if self.holding.is_set() and self._release_on_stop:
            self._db(self.lease.release)
        connection.close()

    def _db(self, fn: Any) -> Any:
        try:
            close_old_connections()
            return fn()
        except Exception:
            log.exception("alerts: database call failed")
            return None

    def _sync_hosts(self) -> None:
        from ..engines import client_for, configured_hosts

        try:
            hosts = configured_hosts()
        except Exception:
            log.exception("alerts: reading the hosts failed")
            return
        for name, host in hosts.items():
            if name in self.followed:
                continue

            def listener(message: dict[str, Any], name: str = name) -> None:
                self.inbox.put((name, message))

            self.followed[name] = listener
            key = keys.stream_key(name, keys.EVENTS)

            def source(host: Any = host) -> EventsSource:
                return EventsSource(client_for(host))

            self.loop.call_soon_threadsafe(self._listen, key, source, listener)
        for name in [n for n in self.followed if n not in hosts]:
            self._unfollow(name)
        self._sync_sampling(hosts)

    def _sync_sampling(self, hosts: dict[str, Any]) -> None:
        """Stats are read only while a threshold rule exists, and then only for the
        containers one covers (ListStatsSource's `select`): idle costs nothing."""
        from ..engines import client_for

        wanted = hosts if any(r.kind in evaluate.THRESHOLDS for r in self.evaluator.rules) else {}
        interval = float(getattr(settings, "ALERTS_STATS_INTERVAL", 10.0))
        for name, host in wanted.items():
            if name in self.sampled:
                continue

            def listener(message: dict[str, Any], name: str = name) -> None:
                self.inbox.put((name, message))

            def select(row: dict[str, Any], name: str = name) -> bool:
                return self.evaluator.needs_stats(name, row)

            def source(host: Any = host, select: Any = select) -> ListStatsSource:
                return ListStatsSource(client_for(host), interval, select=select)

            self.sampled[name] = listener
            key = keys.stream_key(name, keys.LIST_STATS, "alerts")
            self.loop.call_soon_threadsafe(self._listen, key, source, listener)
        for name in [n for n in self.sampled if n not in wanted]:
            listener = self.sampled.pop(name)
            key = keys.stream_key(name, keys.LIST_STATS, "alerts")
            self.loop.call_soon_threadsafe(self._unlisten, key, listener)
        self._sync_disk(hosts)

    def _sync_disk(self, hosts: dict[str, Any]) -> None:
        """`system df` is read only while a disk rule exists, every ALERTS_DISK_INTERVAL s;
        swarm state only while a swarm rule exists, every ALERTS_SWARM_INTERVAL s."""
        disk = float(getattr(settings, "ALERTS_DISK_INTERVAL", 300.0))
        swarm = float(getattr(settings, "ALERTS_SWARM_INTERVAL", 10.0))
        self._poll(hosts, {evaluate.DISK}, self.disk_read, keys.DISK, DiskSource, disk)
        self._poll(
            hosts, evaluate.SWARM, self.swarm_read, keys.SWARM_STATE, SwarmStateSource, swarm
        )

    def _poll(
        self,
        hosts: dict[str, Any],
        kinds: set[str],
        polled: dict[str, Any],
        kind: str,
        source_class: Any,
        interval: float,
    ) -> None:
        """Keep a polling source open for each host a rule of `kinds` covers, and only then."""
        from ..engines import client_for

        rules = [r for r in self.evaluator.rules if r.kind in kinds]
        wanted = {n: h for n, h in hosts.items() if any(not r.host or r.host == n for r in rules)}
        for name, host in wanted.items():
            if name in polled:
                continue

            def listener(message: dict[str, Any], name: str = name) -> None:
                self.inbox.put((name, message))

            def source(host: Any = host) -> Any:
                return source_class(client_for(host), interval)

            polled[name] = listener
            key = keys.stream_key(name, kind, "alerts")
            self.loop.call_soon_threadsafe(self._listen, key, source, listener)
        for name in [n for n in polled if n not in wanted]:
            key = keys.stream_key(name, kind, "alerts")
            self.loop.call_soon_threadsafe(self._unlisten, key, polled.pop(name))

    # On the loop (the hub is the loop's).
    @staticmethod
    def _listen(key: str, factory: Any, listener: Any) -> None:
        get_hub().listen(key, factory, listener)

    @staticmethod
    def _unlisten(key: str, listener: Any) -> None:
        get_hub().unlisten(key, listener)

    def _unfollow(self, name: str) -> None:
        listener = self.followed.pop(name)
        key = keys.stream_key(name, keys.EVENTS)
        self.loop.call_soon_threadsafe(self._unlisten, key, listener)

    def _unfollow_all(self) -> None:
        for name in list(self.followed):
            self._unfollow(name)
        self._sync_sampling({})

    # -- the evaluator thread -----------------------------------------------------------------

    def _evaluate_loop(self) -> None:
        loaded = 0.0
        while not self.stopping.is_set():
            try:
                item: tuple[str, dict[str, Any]] | None = self.inbox.get(timeout=0.5)
            except queue.Empty:
                item = None
            if item is not None:
                state = (item[1].get("status") or {}).get("state")
                if state == "live":
                    self.live.add(item[0])
                elif state:
                    self.live.discard(item[0])
            if not self.holding.is_set():
                if self.evaluator.containers or self.evaluator.open:
                    # What this process knew is stale by the time it holds the lease again.
                    self.evaluator = evaluate.Evaluator(
                        hold=self.evaluator.hold,
                        group=self.evaluator.group,
                        stopped_by_dashboard=stopped_by_dashboard,
                    )
                    loaded = 0.0
                continue
            try:
                close_old_connections()
                if item is not None and item[0] not in self.evaluator.flavors_noted:
                    # Once per host and evaluator: a stream it joined already open (a page's)
                    # sends no new "live" to say which engine it is.
                    self._note_flavor(item[0])
                if time.monotonic() - loaded > RULES_RELOAD_SECONDS:
                    if not loaded:
                        # Taking over: the engines the last holder said were unreachable
                        # are known to be, so they are not announced a second time.
                        self.evaluator.open |= unreachable_conditions()
                    self.evaluator.rules = rule_specs()
                    loaded = time.monotonic()
                messages = self.evaluator.feed(*item) if item is not None else self.evaluator.tick()
                for message in messages:
                    self.record(message)
            except Exception:
                log.exception("alerts: evaluating failed")
        connection.close()

    def _note_flavor(self, name: str) -> None:
        from ..engines import client_for, configured_hosts

        try:
            podman = client_for(configured_hosts()[name]).flavor.is_podman
        except Exception:  # noqa: BLE001 - a host removed meanwhile, an engine gone again
            return
        self.evaluator.flavors_noted.add(name)
        if podman:
            self.evaluator.stop_means_nothing.add(name)

    def record(self, m: evaluate.Message) -> Alert:
        """Write the alert, count it, and send it to the rule's channels (unless silenced)."""
        fired = m.state == evaluate.FIRED
        silenced = is_silenced(m.rule.id, m.host)
        alert = Alert.objects.create(
            rule_id=m.rule.id if AlertRule.objects.filter(pk=m.rule.id).exists() else None,
            rule_name=m.rule.name,
            kind=m.rule.kind,
            host=m.host,
            state=m.state,
            targets=[{"id": t.id, "name": t.name, "detail": t.detail} for t in m.targets],
            text=m.text,
            open=fired and m.rule.kind in evaluate.CONDITIONS,
            silenced=silenced,
        )
        if not fired:
            still = {k[2] for k in self.evaluator.open if k[0] == m.rule.id and k[1] == m.host}
            for earlier in Alert.objects.filter(rule_id=m.rule.id, host=m.host, open=True):
                if not {t.get("id") for t in earlier.targets} & still:
                    Alert.objects.filter(pk=earlier.pk).update(open=False)
        if alert.open or not fired:
            badge.announce(self.loop)
        ALERTS_FIRED.labels(m.rule.kind, m.state).inc()
        log.info("alert", extra={"state": m.state, "rule": m.rule.name, "text": m.text})
        payload = {
            "title": f"Dashboard alert: {m.rule.name} ({m.state})",
            "text": m.text,
            "state": m.state,
            "kind": m.rule.kind,
            "rule": m.rule.name,
            "host": m.host,
            "targets": alert.targets,
            "at": datetime.fromtimestamp(m.at, tz=UTC).isoformat(),
            "alert": alert.pk,
        }
        from ..models import AlertChannel

        channels = [] if silenced else m.rule.channels
        for channel in AlertChannel.objects.filter(pk__in=channels, enabled=True):
            delivery = Delivery.objects.create(
                alert=alert, channel=channel, channel_name=channel.name
            )
            self.deliveries = [t for t in self.deliveries if t.is_alive()]
            self.deliveries.append(deliver_in_background(delivery.pk, payload))
        return alert


_started: list[Watcher] = []


def start_with_server() -> None:
    """Start this process's watcher once daphne's event loop runs (the stream hub lives on
    it). Only under daphne and with DASHBOARD_ALERTS_WATCH on (tests import the ASGI app
    without serving it)."""
    if not settings.ALERTS_WATCH or "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    def start() -> None:
        # Twisted calls this as its reactor starts, just before the asyncio loop runs:
        # daphne has made that loop the current one, though it is not running yet.
        if not _started:
            _started.append(Watcher(asyncio.get_event_loop()).start())

    def stop() -> None:
        # A clean shutdown hands the lease on now instead of letting it expire.
        for watcher in _started:
            watcher.stop()

    reactor.callWhenRunning(start)
    # Twisted declares this on a zope interface (with `self`), which mypy reads one off.
    reactor.addSystemEventTrigger("before", "shutdown", stop)  # type: ignore[arg-type]
