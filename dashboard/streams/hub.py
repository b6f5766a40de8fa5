"""The stream hub: one upstream engine stream per thing watched, shared by all its viewers.

A stream is keyed by what it reads (host, kind, target, parameters). The first viewer opens
it; later viewers join its channel group and get a replay of the recent part; when the last
viewer leaves it lingers a few seconds, then its upstream connection is closed.

Each upstream's blocking reads run in a thread of its own (never on the event loop, never in
a shared pool). The thread hands items to the loop thread-safely; the loop batches them for
a few tens of milliseconds and sends one message per batch to the group. Every message
carries a sequence number, so a viewer that joined with a replay drops what the replay
already held.

On a channel layer shared by several processes (Redis), the streams `shared.py` names are
read once for the whole deployment: one process holds the stream's lease and reads the
engine, and every process's upstream is fed the items it reads (`Upstream.publish`,
`Upstream.deliver`). With the in-memory layer nothing of that runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings

from ..metrics import MESSAGES_SENT, UPSTREAMS, stream_kind
from . import shared

log = logging.getLogger(__name__)
# Tells this process's stream groups from another's on a shared channel layer.
_PROCESS = f"{os.getpid()}-{secrets.token_hex(4)}"


class Source:
    """What an upstream reads. Subclasses implement `run` (in the upstream's own thread)."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._emit: Callable[[Any], None] = lambda item: None
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # -- called by the hub --------------------------------------------------------------

    def start(self, emit: Callable[[Any], None], name: str) -> None:
        self._emit = emit
        threading.Thread(target=self._main, name=name, daemon=True).start()

    def stop(self) -> None:
        """Ask the thread to end, closing whatever it is blocked reading. Any thread."""
        self.stopping.set()
        with self._lock:
            closers, self._closers = self._closers, []
        for close in closers:
            try:
                close()
            except Exception:
                log.debug("closing stream failed", exc_info=True)

    # -- for subclasses -------------------------------------------------------------------

    def run(self) -> None:
        raise NotImplementedError

    def emit(self, item: Any) -> None:
        if not self.stopping.is_set():
            self._emit(item)

    def closing(self, close: Callable[[], None]) -> None:
        """Register how to interrupt the current blocking read (e.g. `stream.close`)."""
        with self._lock:
            if self.stopping.is_set():
                close()
            else:
                self._closers.append(close)

    def sleep(self, seconds: float) -> bool:
        """Wait, unless asked to stop; True when it is time to stop."""
        return self.stopping.wait(seconds)

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        """Many items emitted within one batch window -> one message (or None to send none)."""
        raise NotImplementedError

    def remember(self, items: list[Any]) -> None:
        """Keep what a late joiner should be replayed (called on the loop, after combine)."""

    def replay(self) -> list[dict[str, Any]]:
        """Messages that bring a new viewer up to date (called on the loop)."""
        return []

    # -- shared by several processes (shared.py); all on the loop --------------------------

    def mirror_state(self) -> Any:
        """What `remember` kept, for another process's copy of this source (msgpack-able)."""
        return None

    def load_mirror_state(self, state: Any) -> None:
        """Take over what another process's copy of this source remembered."""

    def position(self, items: list[Any]) -> Any:
        """Where the stream stands after `items` (None: they do not say): a process that
        takes the stream over reads on from the last position it saw (`resume_from`)."""
        return None

    def resume_from(self, position: Any) -> None:
        """Before `start`: read on from `position` rather than from the start."""

    def _main(self) -> None:
        try:
            self.run()
        except Exception:
            if not self.stopping.is_set():
                log.exception("stream source %s failed", type(self).__name__)


J = TypeVar("J", bound="JobSource")


class JobSource(Source):
    """A source that is one job (a pull, an external program's run): it runs to its end
    even after its last viewer has gone (stopping it half-way would leave things
    half-done), so `stop` only stops the sending; a viewer who comes back while it runs or
    shortly after rejoins the same job by its id (`for_job`). Each subclass keeps its own
    jobs, the last `KEEP_JOBS` finished ones included. `done` is set when it has ended."""

    _jobs: OrderedDict[str, JobSource]
    _jobs_lock: threading.Lock
    KEEP_JOBS = 64

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._jobs = OrderedDict()
        cls._jobs_lock = threading.Lock()

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self.done = threading.Event()

    @classmethod
    def for_job(cls, job: str, make: Callable[[], J]) -> J:
        """The job's source: the one already running or finished, else a new one."""
        with cls._jobs_lock:
            source = cls._jobs.get(job)
            if source is None:
                source = cls._jobs[job] = make()
                finished = [k for k, s in cls._jobs.items() if s.done.is_set()]
                for key in finished[: max(len(cls._jobs) - cls.KEEP_JOBS, 0)]:
                    del cls._jobs[key]
            return source  # type: ignore[return-value]

    def start(self, emit: Callable[[Any], None], name: str) -> None:
        with self._lock:
            self._emit = emit
            self.stopping.clear()
            if self._started:
                return  # a viewer came back: the job goes on as it was
            self._started = True
        threading.Thread(target=self._main, name=name, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()  # nobody watches: stop sending, but run on to the end


class Upstream:
    def __init__(self, hub: Hub, key: str, source: Source) -> None:
        self.hub = hub
        self.key = key
        # The group is this process's: with a channel layer shared by several processes
        # (Redis), each process's upstream feeds its own viewers only; another process's
        # upstream of the same stream would otherwise send every line to them a second time.
        self.group = "s." + hashlib.sha1(f"{_PROCESS}|{key}".encode()).hexdigest()[:24]
        self.source = source
        self.viewers = 0
        # In-process listeners (the alert watcher): called on the loop with each message,
        # beside the group's viewers; each counts as a viewer.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.seq = 0
        self._pending: list[Any] = []
        self._pending_lock = threading.Lock()
        self._flush_armed = False
        self._linger: asyncio.TimerHandle | None = None
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._sender = hub.loop.create_task(self._send_loop())
        # Shared by several processes: where the source's batches go instead of `deliver`
        # (the lease holder's shared.py role sends them to every process); None otherwise.
        self.publish: Callable[[list[Any]], None] | None = None
        self.shared: Any = None  # the shared.py role of this upstream, if shared

    # Runs in the source's thread.
    def _emit(self, item: Any) -> None:
        with self._pending_lock:
            self._pending.append(item)
            if self._flush_armed:
                return
            self._flush_armed = True
        self.hub.loop.call_soon_threadsafe(self._arm_flush)

    def _arm_flush(self) -> None:
        self.hub.loop.call_later(self.hub.batch_seconds, self._flush)

    def _flush(self) -> None:
        with self._pending_lock:
            items, self._pending = self._pending, []
            self._flush_armed = False
        if not items:
            return
        if self.shared is not None:
            if self.publish is not None:
                self.publish(items)
            return
        self.deliver(items)

    def deliver(self, items: list[Any]) -> None:
        """Items the source read -> one message to this process's viewers (on the loop)."""
        message = self.source.combine(items)
        self.source.remember(items)
        if message is not None:
            self.seq += 1
            self._outbox.put_nowait(
                {**message, "seq": self.seq, "key": self.key, "type": "stream.message"}
            )
            for listener in list(self.listeners):
                try:
                    listener(message)
                except Exception:
                    log.exception("stream listener of %s failed", self.key)

    async def _send_loop(self) -> None:
        layer = get_channel_layer()
        sent = MESSAGES_SENT.labels(stream_kind(self.key))
        while True:
            message = await self._outbox.get()
            if message is None:
                return
            try:
                await layer.group_send(self.group, message)
                sent.inc()
            except Exception:
                log.exception("sending to %s failed", self.group)

    def snapshot(self) -> tuple[list[dict[str, Any]], int]:
        return self.source.replay(), self.seq

    def close(self) -> None:
        self._outbox.put_nowait(None)
        if self.shared is not None:
            self.shared.close()  # stops the source if this process reads it
            return
        UPSTREAMS.labels(stream_kind(self.key)).dec()
        # Off the loop: closing a socket another thread reads can block or warn (DESIGN.md).
        threading.Thread(target=self.source.stop, name=f"close {self.key}", daemon=True).start()


class Hub:
    """One per process; lives on daphne's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.upstreams: dict[str, Upstream] = {}
        self.batch_seconds: float = getattr(settings, "STREAM_BATCH_SECONDS", 0.03)
        self.linger_seconds: float = getattr(settings, "STREAM_LINGER_SECONDS", 5.0)
        self.relay: Any = None  # shared.Relay, made with the first shared stream

    def _open(self, key: str, factory: Callable[[], Source]) -> Upstream:
        up = self.upstreams.get(key)
        if up is None:
            up = Upstream(self, key, factory())
            self.upstreams[key] = up
            if shared.is_shared(key):
                if self.relay is None:
                    self.relay = shared.Relay(self)
                self.relay.add(up, factory)
            else:
                UPSTREAMS.labels(stream_kind(key)).inc()
                up.source.start(up._emit, name=f"stream {key}")
        if up._linger is not None:
            up._linger.cancel()
            up._linger = None
        up.viewers += 1
        return up

    async def join(
        self, key: str, channel_name: str, factory: Callable[[], Source]
    ) -> tuple[Upstream, list[dict[str, Any]], int]:
        """Add a viewer; returns the upstream, its replay and the sequence it covers."""
        up = self._open(key, factory)
        await get_channel_layer().group_add(up.group, channel_name)
        if up.shared is not None:
            await up.shared.ready()  # another process's replay, when it reads the stream
        replay, seq = up.snapshot()
        return up, replay, seq

    async def leave(self, key: str, channel_name: str) -> None:
        up = self.upstreams.get(key)
        if up is None:
            return
        await get_channel_layer().group_discard(up.group, channel_name)
        self._release(key, up)

    def listen(
        self, key: str, factory: Callable[[], Source], listener: Callable[[dict[str, Any]], None]
    ) -> None:
        """Add an in-process listener (on the loop): it gets every message the stream's
        viewers get, from the same upstream, for as long as it listens."""
        self._open(key, factory).listeners.append(listener)

    def unlisten(self, key: str, listener: Callable[[dict[str, Any]], None]) -> None:
        up = self.upstreams.get(key)
        if up is None or listener not in up.listeners:
            return
        up.listeners.remove(listener)
        self._release(key, up)

    def _release(self, key: str, up: Upstream) -> None:
        up.viewers -= 1
        if up.viewers <= 0 and up._linger is None:
            up._linger = self.loop.call_later(self.linger_seconds, self._expire, key, up)

    def _expire(self, key: str, up: Upstream) -> None:
        if self.upstreams.get(key) is up and up.viewers <= 0:
            del self.upstreams[key]
            up.close()

    def close_all(self) -> None:
        """Close every upstream now (the loop is ending)."""
        for key, up in list(self.upstreams.items()):
            if up._linger is not None:
                up._linger.cancel()
            del self.upstreams[key]
            up.close()
        if self.relay is not None:
            self.relay.close()
            self.relay = None

    def stats(self) -> dict[str, int]:
        return {key: up.viewers for key, up in self.upstreams.items()}


_hubs: dict[int, Hub] = {}


def get_hub() -> Hub:
    """The hub of the running event loop (one per loop: tests run several loops)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(id(loop))
    if hub is None or hub.loop is not loop:
        hub = _hubs[id(loop)] = Hub(loop)
    return hub
