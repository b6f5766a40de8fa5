"""Each process's copy of every host's container list, kept current by the host's events.

At 5,000 containers every sort, filter or page click of the containers page waited for the
engine's own list call (0.7-2 s); the dashboard already follows every host's events, so the
list can be kept here and sorted, filtered and paged in memory.

A host's cache is filled by one `GET /containers/json?all=1` and then kept current by the
host's events stream: an in-process listener on the stream hub (streams/hub.py), so it rides
the one upstream per host that the pages share. It starts on first use (the first page that
asks for the host's containers) and follows from then on, in every process: the alert
watcher's follower (alerts/watch.py) runs only in the process holding the alerts lease, and
every process serves pages. With several processes each keeps its own cache, fed by its own
events stream, so a change made through one process reaches every process's cache.

How an event changes the cache: the events source already attaches the container's fresh
list entry to each chunk of container events (one list call per chunk, for the live pages);
that row replaces the cached one (no row: the container is gone). An event that came with
no row (that read failed) is derived where it can be (start, die, pause, rename, health,
destroy, ...); what cannot be derived (create, update, oom, a container not cached yet, a
network connect) re-reads that one container. The whole list is read again when the events
stream comes back after an outage (the engine's catch-up may not cover a restart) and on
demand (`refresh`). While the list was never read or the stream is down, `containers`
answers None and the page reads the engine as before.

`containers(host)` is the one way later features (palette, alerts, update checks) should
read a host's containers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from engine_client import EngineClient, EngineError

from .container_order import SORTS, RowKeys, row_keys
from .streams import keys
from .streams.hub import get_hub
from .streams.sources import ROW_ACTIONS, EventsSource

log = logging.getLogger(__name__)
# A message whose rows were read this close to the end of a full read may hold rows older
# than that read (rows are read a few tens of ms before the message is made): re-read them.
FILL_GRACE_SECONDS = 0.5
# How often a cache whose full read failed tries again while its stream is live.
RETRY_SECONDS = 2.0
# The engine writes the copy its list reads a moment after it sends some events (Docker
# 20.10: pause, the network released at a stop), so the row read with an event can be older
# than the event: each changed container is read once more this long after its last event.
SETTLE_SECONDS = 0.25
# Events that change no list field even though they concern a container or its network.
NETWORK_ROW_ACTIONS = {"connect", "disconnect"}


# -- Status text: the engine's is relative to when it was read ("Up 5 minutes") ------------

_STATUS = re.compile(
    r"^(?P<head>Up|Exited \(-?\d+\)|Restarting \(-?\d+\)) "
    r"(?P<age>Less than a second|About a minute|About an hour|"
    r"(?P<n>\d+) (?P<unit>second|minute|hour|day|week|month|year)s?)"
    r"(?P<ago> ago)?(?P<tail>.*)$"
)
_UNIT = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_ABOUT = {"Less than a second": 0, "About a minute": 60, "About an hour": 3600}


def human_duration(seconds: float) -> str:
    """The engine's own wording of a duration (go-units HumanDuration, used by Docker and
    Podman for a container's Status)."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{s // 3600 // 24 // 365} years"


def parse_status(text: str) -> tuple[str, float, str] | None:
    """("Up", 300, " (healthy)") from "Up 5 minutes (healthy)"; None when it has no age."""
    m = _STATUS.match(text or "")
    if not m:
        return None
    age = m.group("age")
    seconds = _ABOUT[age] if age in _ABOUT else int(m.group("n")) * _UNIT[m.group("unit")]
    return m.group("head"), float(seconds), (m.group("ago") or "") + m.group("tail")


def aged_status(parsed: tuple[str, float, str], read_at: float, now: float) -> str:
    head, seconds, tail = parsed
    return f"{head} {human_duration(seconds + max(0.0, now - read_at))}{tail}"


_EPOCHS = itertools.count(1)


# -- one host's cache -------------------------------------------------------------------------


class HostCache:
    """One host's containers, by id. The worker thread alone changes them; readers copy."""

    def __init__(self, name: str, client: Callable[[], EngineClient]) -> None:
        self.name = name
        self._client = client
        self._rows: dict[str, dict[str, Any]] = {}
        # id -> its sort and filter keys, made when its row changes (not per page click).
        self._keys: dict[str, RowKeys] = {}
        # Bumped by every change of `_rows`; (sort, descending) -> the order made at a version.
        self._version = 0
        self._orders: dict[tuple[str, bool], tuple[int, list[tuple[RowKeys, dict[str, Any]]]]]
        self._orders = {}
        # id -> (parsed Status, when it was read): the page shows the age as of now.
        self._ages: dict[str, tuple[tuple[str, float, str], float]] = {}
        self._lock = threading.Lock()
        self.live = False  # the events stream is connected
        self.filled = False  # a full read succeeded since the stream (re)connected
        self.fill_started = 0.0
        self.fill_ended = 0.0
        self.full_reads = 0
        self.one_reads = 0
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stopping = threading.Event()
        self.settle_seconds = SETTLE_SECONDS
        self._due: dict[str, float] = {}  # id -> when to read it once more (monotonic)
        # Bumped by every image event and every reconnect (events may have been lost then):
        # what was read of the host's images stays good while it has not moved.
        self.image_changes = 0
        self.epoch = next(_EPOCHS)  # tells this cache's count from an earlier one's
        self._thread = threading.Thread(target=self._run, name=f"cache {name}", daemon=True)
        self._thread.start()

    # -- readers (any thread) -----------------------------------------------------------------

    @property
    def trusted(self) -> bool:
        return self.live and self.filled

    def rows(self) -> list[dict[str, Any]] | None:
        """The cached list entries (the engine's shape, `Status` as it was read: see
        `aged`), or None while the cache is not trustworthy. Treat the rows as read-only."""
        with self._lock:
            if not (self.live and self.filled):
                return None
            return list(self._rows.values())

    def ordered(self, sort: str, desc: bool) -> list[tuple[RowKeys, dict[str, Any]]] | None:
        """Every cached row with its keys, sorted by `SORTS[sort]` (as `sorted` would sort
        `rows()`), or None while the cache is not trustworthy. Made once per change of the
        rows and kept: a page click filters it and cuts out its slice. Treat it as read-only."""
        with self._lock:
            if not (self.live and self.filled):
                return None
            version = self._version
            made = self._orders.get((sort, desc))
            if made is not None and made[0] == version:
                return made[1]
            pairs = [(self._keys[cid], row) for cid, row in self._rows.items()]
        # Sorted outside the lock: the worker is not held up by a page.
        key = SORTS[sort]
        pairs.sort(key=lambda pair: key(pair[0]), reverse=desc)
        with self._lock:
            if self._version == version:
                self._orders[(sort, desc)] = (version, pairs)
        return pairs

    def aged(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`rows` with `Status` worded as of now ("Up 5 minutes" read an hour ago says
        "Up About an hour"): done for the rows a page shows only, not for thousands."""
        now = time.time()
        out = []
        for row in rows:
            age = self._ages.get(row.get("Id", ""))
            out.append({**row, "Status": aged_status(age[0], age[1], now)} if age else row)
        return out

    # -- fed from the hub (on the loop: only queue puts here) ------------------------------

    def feed(self, message: dict[str, Any]) -> None:
        self.inbox.put(("message", message))

    def refresh(self) -> None:
        self.inbox.put(("refresh", None))

    def stop(self) -> None:
        self.stopping.set()
        self.inbox.put(("stop", None))

    # -- the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.is_set():
            wait = RETRY_SECONDS
            if self.live and not self.filled:
                # The next full read covers what was due; a failed one is tried again after
                # a pause, not at once (an engine going away fails it instantly).
                wait = max(0.0, self.fill_started + RETRY_SECONDS - time.time())
            elif self._due:
                wait = max(0.0, min(min(self._due.values()) - time.monotonic(), wait))
            try:
                kind, item = self.inbox.get(timeout=wait)
            except queue.Empty:
                if self.live and not self.filled:
                    self._fill()
                elif self._due:
                    self._settle()
                continue
            try:
                if kind == "message":
                    self._handle(item)
                elif kind == "refresh" and self.live:
                    self._fill()
            except Exception:
                log.exception("container cache of %s: an update failed", self.name)
                with self._lock:
                    self.filled = False  # read it all again rather than serve a wrong list
            finally:
                self.inbox.task_done()  # `inbox.join()` waits until all fed is applied
            if self._due:
                self._settle()  # a busy host's events must not hold these back

    def _fill(self) -> None:
        self.fill_started = time.time()
        try:
            rows = self._client().containers.list(all=True)
        except EngineError as exc:
            log.info("container cache of %s: full read failed: %s", self.name, exc.message)
            with self._lock:
                self.filled = False
            return
        now = time.time()
        with self._lock:
            self._rows = {r["Id"]: r for r in rows}
            self._keys = {cid: row_keys(r) for cid, r in self._rows.items()}
            self._version += 1
            self._orders = {}
            self._ages = {}
            self._due = {}
            for r in rows:
                self._note_age(r, now)
            self.filled = True
        self.full_reads += 1
        self.fill_ended = time.time()

    def _note_age(self, row: dict[str, Any], read_at: float) -> None:
        parsed = parse_status(row.get("Status", ""))
        if parsed:
            self._ages[row["Id"]] = (parsed, read_at)
        else:
            self._ages.pop(row["Id"], None)

    def _handle(self, message: dict[str, Any]) -> None:
        status = message.get("status")
        self.image_changes += bool(status) + sum(
            1 for ev in message.get("events") or [] if ev.get("Type") == "image"
        )
        if status:
            if status.get("state") == "live":
                was_live, self.live = self.live, True
                if status.get("resync") or not was_live or not self.filled:
                    self._fill()
                    if not message.get("events"):
                        return
            else:
                with self._lock:
                    self.live = False
                    self.filled = False
        if message.get("replay") or not self.filled:
            return  # the next full read covers it
        at = float(message.get("at") or time.time())
        if at < self.fill_started:
            return  # read before the full list, which is newer
        events = message.get("events") or []
        rows: dict[str, dict[str, Any] | None] = message.get("rows") or {}
        reread: set[str] = set()
        if at <= self.fill_ended + FILL_GRACE_SECONDS:
            # These rows may predate the full read just made: read them again.
            reread.update(rows)
            rows = {}
        with self._lock:
            for ev in events:
                cid = self._affected(ev)
                if cid and cid not in rows and not self._derive(cid, ev):
                    reread.add(cid)
            for cid, row in rows.items():
                self._put(cid, row, at)
        if reread:
            self._read_some(sorted(reread))
        due = time.monotonic() + self.settle_seconds
        for ev in events:
            if cid := self._affected(ev):
                self._due[cid] = due

    def _settle(self) -> None:
        now = time.monotonic()
        ids = sorted(cid for cid, when in self._due.items() if when <= now)
        for cid in ids:
            del self._due[cid]
        if ids and self.filled:
            self._read_some(ids)

    @staticmethod
    def _affected(ev: dict[str, Any]) -> str | None:
        """The container whose list entry this event may change, if any."""
        action = (ev.get("Action") or ev.get("status") or "").split(":")[0]
        actor = ev.get("Actor") or {}
        if ev.get("Type") == "container" and action in ROW_ACTIONS:
            return str(actor.get("ID") or ev.get("id") or "") or None
        if ev.get("Type") == "network" and action in NETWORK_ROW_ACTIONS:
            return str((actor.get("Attributes") or {}).get("container") or "") or None
        return None

    def _derive(self, cid: str, ev: dict[str, Any]) -> bool:
        """Apply what the event says by itself (lock held); False when it cannot be told."""
        action = (ev.get("Action") or "").split(":")[0]
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        if action == "destroy":
            self._drop(cid)
            return True
        old = self._rows.get(cid)
        if old is None or ev.get("Type") != "container":
            return False
        now = time.time()
        row = dict(old)
        age = self._ages.get(cid)
        status = aged_status(age[0], age[1], now) if age else row.get("Status", "")
        health = _health_tail(status)
        paused = " (Paused)" if " (Paused)" in status else ""
        if action in ("start", "restart"):
            row["State"], status, paused = "running", "Up Less than a second", ""
            health = " (health: starting)" if health else ""
        elif action == "unpause":
            row["State"], paused = "running", ""  # the Status keeps its age
        elif action == "die":
            row["State"], paused, health = "exited", "", ""
            status = f"Exited ({attrs.get('exitCode', '0')}) Less than a second ago"
        elif action == "stop":
            if row.get("State") == "running":
                return False  # no exit code to tell: read it
        elif action == "kill":
            return True  # a signal; the die that follows (if any) says the rest
        elif action == "pause":
            row["State"], paused = "paused", " (Paused)"
        elif action == "rename" and attrs.get("name"):
            row["Names"] = ["/" + attrs["name"].lstrip("/")]
        elif action == "health_status":
            word = (ev.get("Action") or "").partition(":")[2].strip()
            health = {"healthy": " (healthy)", "unhealthy": " (unhealthy)"}.get(word, health)
        else:
            return False
        row["Status"] = _without_health(status) + health + paused
        self._put(cid, row, now)
        return True

    def _put(self, cid: str, row: dict[str, Any] | None, read_at: float) -> None:
        """Lock held."""
        if row is None:
            self._drop(cid)
            return
        self._rows[cid] = row
        self._keys[cid] = row_keys(row)
        self._version += 1
        self._note_age(row, read_at)

    def _drop(self, cid: str) -> None:
        """Lock held."""
        self._rows.pop(cid, None)
        self._keys.pop(cid, None)
        self._ages.pop(cid, None)
        self._version += 1

    def _read_some(self, ids: list[str]) -> None:
        try:
            found = self._client().containers.list(all=True, filters={"id": ids})
        except EngineError as exc:
            log.info("container cache of %s: re-read failed: %s", self.name, exc.message)
            with self._lock:
                self.filled = False  # the next full read puts it right
            return
        self.one_reads += 1
        now = time.time()
        by_id = {r["Id"]: r for r in found}
        with self._lock:
            for cid in ids:
                # An id filter matches a prefix too: keep the full ids asked for.
                row = by_id.get(cid) or next(
                    (r for i, r in by_id.items() if i.startswith(cid)), None
                )
                self._put(row["Id"] if row else cid, row, now)


_HEALTH = re.compile(r" \((?:healthy|unhealthy|health: starting)\)")


def _health_tail(status: str) -> str:
    m = _HEALTH.search(status)
    return m.group(0) if m else ""


def _without_health(status: str) -> str:
    return _HEALTH.sub("", status).replace(" (Paused)", "")


# -- the process's caches -------------------------------------------------------------------

_caches: dict[str, HostCache] = {}
_caches_lock = threading.Lock()
_loop: list[asyncio.AbstractEventLoop] = []


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The event loop the stream hub lives on (daphne's; a test's own)."""
    _loop[:] = [loop]


def unbind() -> None:
    """Stop following (tests): every cache stops and is forgotten."""
    with _caches_lock:
        caches = list(_caches.values())
        _caches.clear()
    for cache in caches:
        cache.stop()
    _loop.clear()


def forget(name: str) -> None:
    """Stop following host `name` (its address changed, or it was removed)."""
    with _caches_lock:
        cache = _caches.pop(name, None)
    if cache is None:
        return
    cache.stop()
    if _loop:
        key = keys.stream_key(name, keys.EVENTS)
        _loop[0].call_soon_threadsafe(lambda: get_hub().unlisten(key, cache.feed))


def follow(name: str, client: Callable[[], EngineClient] | None = None) -> HostCache | None:
    """The host's cache, following its events from the first call on; None without a loop
    (a process not served by daphne: a test client, a management command)."""
    if not _loop:
        return None
    with _caches_lock:
        cache = _caches.get(name)
        if cache is not None:
            return cache
        cache = _caches[name] = HostCache(name, client or _client_of(name))
    loop = _loop[0]
    key = keys.stream_key(name, keys.EVENTS)

    def source() -> EventsSource:
        return EventsSource(cache._client())

    async def listen() -> None:
        hub = get_hub()
        hub.listen(key, source, cache.feed)
        up = hub.upstreams[key]
        if up.shared is not None:
            # Another process may read this stream (Redis): its replay reaches this
            # process's copy a moment later.
            await up.shared.ready()
        # A stream a page opened earlier sends no new "live": its state is in its replay.
        for message in up.snapshot()[0]:
            cache.feed({"status": message.get("status"), "replay": True})

    loop.call_soon_threadsafe(lambda: loop.create_task(listen()))
    return cache


def _client_of(name: str) -> Callable[[], EngineClient]:
    # The host is looked up here, in the caller's thread: the database must not be read on
    # the event loop (where the events source is made) nor by the worker.
    from .engines import client_for, get_host

    host = get_host(name)

    def client() -> EngineClient:
        return client_for(host)

    return client


def containers(host: str) -> list[dict[str, Any]] | None:
    """Host `host`'s containers as `GET /containers/json?all=1` lists them (every state),
    from this process's cache; None while the cache cannot be trusted (not read yet, its
    events stream down, no event loop in this process): then ask the engine. `Status` is
    as it was read: pass the rows shown through `aged`."""
    cache = follow(host)
    return cache.rows() if cache is not None else None


def ordered(host: str, sort: str, desc: bool) -> list[tuple[RowKeys, dict[str, Any]]] | None:
    """Host `host`'s containers with their keys, sorted (HostCache.ordered); None as for
    `containers`."""
    cache = follow(host)
    return cache.ordered(sort, desc) if cache is not None else None


# What `GET /containers/json` without `all` lists: containers whose process runs.
RUNNING_STATES = ("running", "paused", "restarting")


def image_changes(host: str) -> tuple[int, int] | None:
    """A number that moves whenever host `host`'s images may have changed (an image event, an
    events outage), for caches of what was read of them; None while this process does not
    follow the host's events (then nothing read of its images can be kept)."""
    cache = _caches.get(host)
    if cache is None or not cache.trusted:
        return None
    return cache.epoch, cache.image_changes


def select(
    rows: list[dict[str, Any]], every: bool = True, project: str = ""
) -> list[dict[str, Any]]:
    """The rows the engine would list with `all=every` and a compose project's label filter."""
    from engine_client.projects import PROJECT_LABEL

    if not every:
        rows = [r for r in rows if (r.get("State") or "").lower() in RUNNING_STATES]
    if project:
        rows = [r for r in rows if ((r.get("Labels") or {}).get(PROJECT_LABEL)) == project]
    return rows


def aged(host: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows from `containers(host)` with their `Status` worded as of now (see HostCache.aged)."""
    cache = _caches.get(host)
    return cache.aged(rows) if cache is not None else rows


def refresh(host: str) -> None:
    """Read the host's whole list again (on demand)."""
    cache = follow(host)
    if cache is not None:
        cache.refresh()


def start_with_server() -> None:
    """Give the caches daphne's loop once it runs (only under daphne)."""
    if "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    def start() -> None:
        # As in alerts/watch.py: daphne has made its asyncio loop the current one.
        bind_loop(asyncio.get_event_loop())

    reactor.callWhenRunning(start)
