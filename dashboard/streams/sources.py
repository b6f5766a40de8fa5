"""What the hub's upstreams read: container logs, container stats, host events, and the
CPU/memory sampler behind the containers list. Each `run` is the body of one thread."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from django.template.loader import render_to_string

from engine_client import EngineClient, EngineError, NotFound
from engine_client.framing import JSONStreamDecoder
from engine_client.images import ProgressState
from engine_client.stats import stats_summary
from engine_client.streams import EngineStream, LogLine, LogResume, LogStream, after

from .. import presenters
from .hub import JobSource, Source
from .render import render_line, render_lines, service_prefix

# Container actions that change what its list row shows.
ROW_ACTIONS = {
    "create",
    "start",
    "restart",
    "stop",
    "die",
    "kill",
    "pause",
    "unpause",
    "rename",
    "destroy",
    "update",
    "oom",
    "health_status",
}
RECONNECT_MAX_SECONDS = 10.0
# How long the events source keeps a changed container's fresh row for pages that join.
ROWS_KEEP_SECONDS = 120.0
# How long after a container's event its row is read again (EventsSource._settle_later).
ROW_SETTLE_SECONDS = 0.3
log = logging.getLogger(__name__)


def wait_for_start(source: Source, client: EngineClient, container_id: str) -> bool:
    """Block until the container starts again (True) or is removed / we stop (False).

    An idle events connection costs neither side anything, unlike re-polling.
    """
    delay = 1.0
    while not source.stopping.is_set():
        try:
            with contextlib.closing(
                client.system.events(
                    since=f"{time.time():.9f}",
                    filters={"container": [container_id], "event": ["start", "destroy"]},
                )
            ) as events:
                source.closing(events.close)
                # A start between the end of the previous stream and now must not be missed.
                if client.containers.inspect(container_id)["State"].get("Running"):
                    return True
                for ev in events.objects():
                    action = ev.get("Action") or ev.get("status")
                    if action == "start":
                        return True
                    if action == "destroy":
                        return False
        except NotFound:
            return False
        except EngineError:
            pass
        if source.sleep(delay):
            return False
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)
    return False


class Resume(Protocol):
    """Where a followed log picks up after a break: sees every batch read, then names the
    `since` to open the log again with (None: from where it first started)."""

    def feed(self, batch: list[LogLine]) -> list[LogLine]: ...

    def since(self) -> str | None: ...


# Opens the engine's followed log stream at (tail, since).
OpenLog = Callable[[int | str, float | str | None], LogStream]


class FollowedLogSource(Source):
    """A followed log (a container's, a service's): reconnects with backoff after a break
    and picks up where it stopped; keeps the last lines for viewers who join.

    What differs between logs is passed in: the engine call that opens the stream
    (`open_log`), how it resumes (`resume`), how lines become HTML (`render`), and what
    happens when the engine ends the stream cleanly (`when_ended`: True to read on)."""

    def __init__(
        self,
        open_log: OpenLog,
        *,
        what: str,
        tail: int | str,
        since: float | None,
        resume: Resume,
        when_ended: Callable[[FollowedLogSource], bool],
        render: Callable[[list[LogLine]], str] = render_lines,
        replay_lines: int = 2000,
    ) -> None:
        super().__init__()
        self.open_log = open_log
        self.what = what
        self.tail = tail
        self.resume = resume
        self.since: float | str | None = since
        self.when_ended = when_ended
        self.render = render
        self.replay_lines = replay_lines
        self.stream: Any = None  # the engine stream being read now
        self._replay: deque[tuple[str, int]] = deque()
        self._replay_count = 0
        self._status: dict[str, str] | None = None

    def run(self) -> None:
        since: float | str | None = self.since
        tail: int | str = self.tail
        delay = 1.0
        while not self.stopping.is_set():
            try:
                stream = self.open_log(tail, since)
                self.stream = stream
                self.closing(stream.close)
                self.emit(("status", "live", "following"))
                delay = 1.0
                for batch in stream.batches():
                    batch = self.resume.feed(batch)
                    if batch:
                        self.emit(("lines", self.render(batch), len(batch), *self._where()))
            except NotFound as exc:
                self.emit(("status", "gone", f"The {self.what} is gone: {exc.message}"))
                return
            except EngineError as exc:
                self.emit(("status", "error", f"Log stream interrupted: {exc.message}"))
                if self.sleep(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            else:
                if self.stopping.is_set() or not self.when_ended(self):
                    return
            # Pick up after the last line seen, whatever happened in between.
            tail = "all"
            if resumed := self.resume.since():
                since = resumed

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        html: list[str] = []
        count = 0
        status = None
        for item in items:
            if item[0] == "lines":
                html.append(item[1])
                count += item[2]
            else:
                status = {"state": item[1], "text": item[2]}
        return {"text": _log_message("".join(html), count, status)}

    def remember(self, items: list[Any]) -> None:
        for item in items:
            if item[0] == "lines":
                self._replay.append((item[1], item[2]))
                self._replay_count += item[2]
            else:
                self._status = {"state": item[1], "text": item[2]}
        while self._replay_count > self.replay_lines and len(self._replay) > 1:
            _, n = self._replay.popleft()
            self._replay_count -= n

    def replay(self) -> list[dict[str, Any]]:
        html = "".join(h for h, _ in self._replay)
        return [{"text": _log_message(html, self._replay_count, self._status)}]

    # Shared by several processes (shared.py): a batch says where the log stood after it.

    def _where(self) -> tuple[str, int] | tuple[()]:
        if isinstance(self.resume, LogResume) and self.resume.timestamp:
            return self.resume.timestamp, self.resume.count
        return ()

    def mirror_state(self) -> Any:
        return {"replay": [[h, n] for h, n in self._replay], "status": self._status}

    def load_mirror_state(self, state: Any) -> None:
        self._replay = deque((h, n) for h, n in state["replay"])
        self._replay_count = sum(n for _, n in self._replay)
        self._status = state["status"]

    def position(self, items: list[Any]) -> Any:
        for item in reversed(items):
            if item[0] == "lines" and len(item) > 4:
                return [item[3], item[4]]
        return None

    def resume_from(self, position: Any) -> None:
        # Read again from the last line's timestamp, dropping the lines seen with it.
        if isinstance(self.resume, LogResume):
            self.resume.timestamp, self.resume.count = position[0], int(position[1])
            self.since, self.tail = self.resume.since(), "all"


def _log_message(html: str, count: int, status: dict[str, str] | None) -> str:
    """The log viewer's websocket message, serialised once for all its viewers."""
    message: dict[str, Any] = {"lines": html, "n": count}
    if status:
        message["status"] = status
    return json.dumps(message)


# The most containers a project's merged log follows (one upstream each).
PROJECT_LOG_CONTAINERS_MAX = 50


def container_logs(
    client: EngineClient,
    container_id: str,
    tail: int | str,
    since: float | None,
    service: str = "",
) -> FollowedLogSource:
    """A container's followed log; after a stop it waits for the container to start again.
    With `service`, each line is tagged with it (a project's merged log: its stream key
    names the service too, so it is not shared with the container's own log page)."""

    def open_log(tail: int | str, since: float | str | None) -> LogStream:
        return client.containers.logs(
            container_id, follow=True, tail=tail, since=since, timestamps=True
        )

    def when_ended(source: FollowedLogSource) -> bool:
        source.emit(("status", "ended", "The container stopped; waiting for it to start."))
        if wait_for_start(source, client, container_id):
            return True
        if not source.stopping.is_set():
            source.emit(("status", "gone", "The container was removed."))
        return False

    # One container's log is one ordered stream: LogResume's count of the lines sharing the
    # last timestamp holds (Podman stamps to the second, so ties are common there).
    return FollowedLogSource(
        open_log,
        what="container",
        tail=tail,
        since=since,
        resume=LogResume(),
        when_ended=when_ended,
        render=_tagged(service_prefix(service)) if service else render_lines,
    )


def _tagged(prefix: str) -> Callable[[list[LogLine]], str]:
    return lambda lines: "".join(render_line(line, prefix) for line in lines)


class StatsSource(Source):
    """Live stats of one container, with a few minutes of history for the charts."""

    def __init__(self, client: EngineClient, container_id: str, history: int = 180) -> None:
        super().__init__()
        self.client = client
        self.container_id = container_id
        self.history: deque[dict[str, Any]] = deque(maxlen=history)
        self._last: dict[str, Any] | None = None

    def run(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                if not self.client.containers.inspect(self.container_id)["State"].get("Running"):
                    self.emit(("status", "The container is not running."))
                    if not wait_for_start(self, self.client, self.container_id):
                        return
                stream = self.client.containers.stats(self.container_id)
                self.closing(stream.close)
                delay = 1.0
                for doc in stream.objects():
                    if not doc.get("cpu_stats", {}).get("system_cpu_usage"):
                        break  # a stopped container's stats carry no numbers
                    self.emit(("sample", stats_summary(doc)))
            except NotFound:
                self.emit(("status", "The container is gone."))
                return
            except EngineError as exc:
                self.emit(("status", f"Stats interrupted: {exc.message}"))
                if self.sleep(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        for item in items:
            if item[0] == "sample":
                self.history.append(item[1])
        status = next((i[1] for i in reversed(items) if i[0] == "status"), "")
        html = render_to_string(
            "containers/_stats.html",
            {"charts": presenters.stats_charts(list(self.history)), "status": status, "oob": True},
        )
        self._last = {"html": html}
        return self._last

    def replay(self) -> list[dict[str, Any]]:
        return [self._last] if self._last else []

    def mirror_state(self) -> Any:
        return {"history": list(self.history), "last": self._last}

    def load_mirror_state(self, state: Any) -> None:
        self.history.extend(state["history"])
        self._last = state["last"]


class EventsSource(Source):
    """The host's one events stream: reconnects with backoff and catches up with `since`.

    Container events come with the container's fresh list entry (one list call per chunk of
    events, whatever their number), so pages update rows without asking the engine again.
    """

    def __init__(self, client: EngineClient, keep: int = 200) -> None:
        super().__init__()
        self.client = client
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self.rows: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._status = {"state": "connecting", "text": "Connecting to the engine's events…"}
        self.resume_since: str | None = None  # another process's last event (shared.py)

    def run(self) -> None:
        since = self.resume_since or f"{time.time():.9f}"
        delay = 1.0
        failed = False
        while not self.stopping.is_set():
            try:
                stream = self.client.system.events(since=since)
                self.closing(stream.close)
                # After an outage (the engine may have restarted and forgotten its events),
                # pages re-read their lists once.
                self.emit(("status", "live", "Live", failed))
                failed = False
                delay = 1.0
                decoder = JSONStreamDecoder()
                for chunk in stream.chunks():
                    events = decoder.feed(chunk)
                    if events and stream.transform:
                        events = stream.transform(events)  # another engine's names, Docker's
                    if not events:
                        continue
                    last = events[-1]
                    if last.get("timeNano"):
                        since = after(f"{last['timeNano'] // 10**9}.{last['timeNano'] % 10**9:09d}")
                    rows = self._rows_for(events)
                    self.emit(("events", events, rows))
                    if rows:
                        self._settle_later(rows)
                if self.stopping.is_set():
                    return
                raise EngineError("the engine closed the events stream")
            except EngineError as exc:
                failed = True
                self.emit(("status", "reconnecting", f"Reconnecting: {exc.message}"))
                if self.sleep(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _settle_later(self, rows: dict[str, dict[str, Any] | None]) -> None:
        """Read the rows once more a moment later and send those that changed: the engine
        writes what its list reads a moment after some events (Docker 20.10 and 26: a
        pause), so a row read with its event can be older than the event."""

        def settle() -> None:
            if self.stopping.is_set():
                return
            try:
                found = {
                    r["Id"]: r
                    for r in self.client.containers.list(all=True, filters={"id": list(rows)})
                }
            except EngineError:
                return
            changed = {cid: found.get(cid) for cid in rows if found.get(cid) != rows[cid]}
            if changed:
                self.emit(("events", [], changed))

        timer = threading.Timer(ROW_SETTLE_SECONDS, settle)
        timer.daemon = True
        timer.start()

    def _rows_for(self, events: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        ids = []
        for ev in events:
            action = (ev.get("Action") or "").split(":")[0]
            cid = (ev.get("Actor") or {}).get("ID") or ev.get("id")
            if ev.get("Type") == "container" and action in ROW_ACTIONS and cid and cid not in ids:
                ids.append(cid)
        if not ids:
            return {}
        try:
            # The engine's own list entries (plain JSON): a message crosses processes on a
            # shared channel layer, which cannot carry the presented rows' datetimes.
            found = {r["Id"]: r for r in self.client.containers.list(all=True, filters={"id": ids})}
        except EngineError:
            return {}
        return {cid: found.get(cid) for cid in ids}

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        events: list[dict[str, Any]] = []
        rows: dict[str, dict[str, Any] | None] = {}
        status = None
        for item in items:
            if item[0] == "events":
                events.extend(item[1])
                rows.update(item[2])
            else:
                status = {"state": item[1], "text": item[2], "resync": len(item) > 3 and item[3]}
        message: dict[str, Any] = {"events": events, "rows": rows, "at": time.time()}
        if status:
            message["status"] = status
        return message

    def remember(self, items: list[Any]) -> None:
        now = time.time()
        for item in items:
            if item[0] == "events":
                self.recent.extend(item[1])
                for cid, row in item[2].items():
                    self.rows[cid] = (now, row)
            else:
                self._status = {"state": item[1], "text": item[2]}
        # A joining page needs only the rows that changed since it was rendered, moments
        # ago: keeping every row ever seen grew with each container that came and went.
        old = now - ROWS_KEEP_SECONDS
        for cid in [cid for cid, (when, _) in self.rows.items() if when < old]:
            del self.rows[cid]

    def replay(self) -> list[dict[str, Any]]:
        return [
            {
                "events": list(self.recent),
                "rows": {},
                "recent_rows": dict(self.rows),
                "status": self._status,
                "replay": True,
            }
        ]

    def mirror_state(self) -> Any:
        rows = {cid: [when, row] for cid, (when, row) in self.rows.items()}
        return {"recent": list(self.recent), "rows": rows, "status": self._status}

    def load_mirror_state(self, state: Any) -> None:
        self.recent.extend(state["recent"])
        self.rows.update({cid: (when, row) for cid, (when, row) in state["rows"].items()})
        self._status = state["status"]

    def position(self, items: list[Any]) -> Any:
        for item in reversed(items):
            if item[0] != "events":
                continue
            for ev in reversed(item[1]):
                if ns := ev.get("timeNano"):
                    return after(f"{ns // 10**9}.{ns % 10**9:09d}")
        return None

    def resume_from(self, position: Any) -> None:
        self.resume_since = position


class ListStatsSource(Source):
    """CPU and memory of every running container, sampled every few seconds with one-shot
    stats: far cheaper for the engine than one stats stream per container.

    The engine answers a one-shot request at its next collection tick (about a second), so
    the requests of one round go out together, on a client with a pool of its own.
    """

    PARALLEL = 32

    def __init__(
        self,
        client: EngineClient,
        interval: float,
        select: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """`select` (a list row -> bool) samples only the containers it picks, and adds
        each one's name and labels to its sample (the alert watcher's threshold rules)."""
        super().__init__()
        self.client = client.sibling(pool_size=self.PARALLEL)
        self.interval = interval
        self.select = select
        self._previous: dict[str, dict[str, Any]] = {}
        self._last: dict[str, dict[str, Any]] = {}

    def _sample(self, cid: str) -> tuple[str, dict[str, Any] | None]:
        if self.stopping.is_set():
            return cid, None
        try:
            return cid, self.client.containers.stats_once(cid)
        except EngineError:
            return cid, None

    def run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.PARALLEL, thread_name_prefix="liststats") as pool:
            try:
                while not self.stopping.is_set():
                    started = time.monotonic()
                    with contextlib.suppress(EngineError):
                        self._round(pool)
                    if self.sleep(max(self.interval - (time.monotonic() - started), 0.5)):
                        return
            finally:
                self.client.close()

    def _round(self, pool: Any) -> None:
        rows = {r["Id"]: r for r in self.client.containers.list()}
        if self.select is not None:
            rows = {cid: r for cid, r in rows.items() if self.select(r)}
        ids = list(rows)
        sample: dict[str, dict[str, Any]] = {}
        for cid, doc in pool.map(self._sample, ids):
            if doc is None or self.stopping.is_set():
                continue
            prev = self._previous.get(cid)
            summary = stats_summary(doc, previous=prev or {})
            self._previous[cid] = doc
            sample[cid] = {
                "cpu": summary["cpu_percent"] if prev else None,
                "mem": summary["mem_used"],
                "limit": summary["mem_limit"],
            }
            if self.select is not None:
                sample[cid]["name"] = (rows[cid].get("Names") or [""])[0].lstrip("/")
                sample[cid]["labels"] = rows[cid].get("Labels") or {}
        for gone in set(self._previous) - set(ids):
            del self._previous[gone]
        self.emit(("stats", sample))

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        self._last = items[-1][1]
        return {"liststats": self._last}

    def replay(self) -> list[dict[str, Any]]:
        return [{"liststats": self._last}] if self._last else []


class DiskSource(Source):
    """`system df` every `interval` seconds, summed per kind (the alert watcher's disk rules;
    only while one exists: a df can take the engine seconds with many volumes)."""

    def __init__(self, client: EngineClient, interval: float) -> None:
        super().__init__()
        self.client = client
        self.interval = interval
        self.reads = 0

    def run(self) -> None:
        from ..resource_presenters import disk_usage

        while not self.stopping.is_set():
            with contextlib.suppress(EngineError):
                usage = disk_usage(self.client.system.df())
                self.reads += 1
                self.emit({kind: part["size"] for kind, part in usage.items()})
            if self.sleep(self.interval):
                return

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        return {"disk": items[-1]}


class SwarmStateSource(Source):
    """A swarm manager's nodes and services (with their running/desired task counts and
    update state), every `interval` seconds, for the alert watcher's swarm rules (only while
    one exists). An engine that is no manager answers nothing and is asked again later."""

    def __init__(self, client: EngineClient, interval: float) -> None:
        super().__init__()
        self.client = client
        self.interval = interval

    def run(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(EngineError):
                nodes = [
                    {
                        "id": n.get("ID", ""),
                        "name": (n.get("Description") or {}).get("Hostname", "")
                        or n.get("ID", "")[:12],
                        "labels": (n.get("Spec") or {}).get("Labels") or {},
                        "state": (n.get("Status") or {}).get("State", ""),
                        "availability": (n.get("Spec") or {}).get("Availability", ""),
                    }
                    for n in self.client.nodes.list()
                ]
                services = [
                    {
                        "id": s.get("ID", ""),
                        "name": (s.get("Spec") or {}).get("Name", ""),
                        "labels": (s.get("Spec") or {}).get("Labels") or {},
                        "running": (s.get("ServiceStatus") or {}).get("RunningTasks"),
                        "desired": (s.get("ServiceStatus") or {}).get("DesiredTasks"),
                        "update": (s.get("UpdateStatus") or {}).get("State", ""),
                    }
                    for s in self.client.services.list()
                ]
                self.emit({"nodes": nodes, "services": services})
            if self.sleep(self.interval):
                return

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        return {"swarm": items[-1]}


class ProgressSource(JobSource):
    """A pull or push: its progress, folded per layer, for whoever watches.

    The engine stream is read to its end even after the last viewer has gone (closing it
    early can abort the pull), so `stop` only stops the sending. A viewer who comes back
    while it runs or shortly after joins the same job (`job`): state lives here, not in what
    was sent, so every message and every replay is the whole picture.
    """

    def __init__(
        self,
        job: str,
        open_stream: Callable[[], EngineStream],
        template: str,
        context: dict[str, Any],
        on_done: Callable[[ProgressState], None] | None = None,
    ) -> None:
        super().__init__()
        self.job = job
        self.open_stream = open_stream
        self.template = template
        self.context = context
        self.on_done = on_done
        self.state = ProgressState()
        self._state_lock = threading.Lock()

    def run(self) -> None:
        try:
            stream = self.open_stream()
            with contextlib.closing(stream):
                decoder = JSONStreamDecoder()
                for chunk in stream.chunks():
                    objects = decoder.feed(chunk)
                    with self._state_lock:
                        for obj in objects:
                            self.state.feed(obj)
                    self.emit(("changed",))
        except EngineError as exc:
            with self._state_lock:
                self.state.fail(exc.message)
        except Exception as exc:
            log.exception("progress job %s failed", self.job)
            with self._state_lock:
                self.state.fail(f"{type(exc).__name__}: {exc}")
        finally:
            with self._state_lock:
                self.state.finish()
            self.done.set()
            self.emit(("changed",))
            if self.on_done is not None:
                try:
                    self.on_done(self.state)
                except Exception:
                    log.exception("recording the end of %s failed", self.job)

    def _message(self) -> dict[str, Any]:
        with self._state_lock:
            snapshot = self.state.snapshot()
        html = render_to_string(
            self.template, {**self.context, "p": snapshot, "job": self.job, "oob": True}
        )
        return {"html": html}

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        return self._message()

    def replay(self) -> list[dict[str, Any]]:
        return [self._message()]
