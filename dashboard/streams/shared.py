"""One upstream per stream across processes: on a channel layer shared by several dashboard
processes (Redis), a log, stats or events stream watched from several of them is read from
the engine by one, for all.

Why: each process used to open its own upstream for the same stream, so N processes cost
the engine N connections and N times the reading.

How it goes:
- The reader is whichever process holds the stream's lease: a Redis key set with NX and an
  expiry (`STREAM_LEASE_SECONDS`), renewed every second by its holder (a compare-and-expire
  script). Every process with viewers of the stream tries to take it every half second; one
  that dies stops renewing, so another takes over within about the lease's length. A holder
  whose viewers have all gone (after the linger) gives it up at once.
- The holder's source batches what it reads and sends the raw items (not rendered messages)
  to the stream's group on the layer. Every process, the holder too, is in that group with
  its one relay channel and feeds the items to its own upstream (`Upstream.deliver`): it
  combines, remembers and sends to its own viewers with its own sequence numbers, exactly as
  when it reads the engine itself, so replays to late joiners follow the same rules.
- A process that starts following a stream someone else reads asks the holder for its
  source's remembered state (`Source.mirror_state`) and the last batch that state covers;
  batches that reached it before the answer are applied only past that one. The layer orders
  a process's channel by send time, so the holder answers after every batch it sent before
  the asker joined the group (on one machine, or machines whose clocks agree).
- Takeover with no gap and no repeat: every process keeps the stream's position after the
  last batch it applied (`Source.position`: a log's last timestamp and how many lines carried
  it, an event stream's last event time). A holder's batch reaches every process in one
  Redis script (channels-redis's group send), so all agree on it. A process that takes the
  lease first sends a fence to its own relay channel and waits for it, so that every batch
  of the previous holder is applied, then opens the engine stream from that position
  (`Source.resume_from`): a log is read again from the last line's timestamp and as many
  lines with that timestamp as were seen are dropped (`LogResume`, as after a reconnect).
- A holder sends only while the lease is surely still its own (its last renewal plus the
  lease's length, less a margin, is ahead); one that could not renew stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings

from ..metrics import UPSTREAMS, stream_kind
from . import keys

if TYPE_CHECKING:
    from .hub import Hub, Source, Upstream

log = logging.getLogger(__name__)

# The streams read once per deployment. Jobs (pulls, runs) stay with the process that
# started them; the containers list's sampler and the alert watcher's own reads are left
# per process.
SHARED_KINDS = frozenset({keys.LOGS, keys.STATS, keys.EVENTS})
RENEW_SECONDS = 1.0
TRY_SECONDS = 0.5
# How long a process that starts following waits for the holder's state before it serves
# its viewers without a replay (a holder that has just died answers nothing).
SYNC_SECONDS = 2.0
FENCE_SECONDS = 5.0
# A holder stops sending this long before its lease could have expired.
MARGIN_SECONDS = 0.5

_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"""
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) end return 0"""
_tokens = itertools.count(1)


def is_shared(key: str) -> bool:
    """Is the stream `key` read once for every process (a Redis layer, a shared kind)?"""
    if not getattr(settings, "REDIS_URL", ""):
        return False
    return keys.parse_stream_key(key).kind in SHARED_KINDS


def _digest(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


class Relay:
    """One per hub on a shared layer: its channel gets every shared stream's batches, the
    fences this process sends itself, and other processes' requests for a stream's state."""

    def __init__(self, hub: Hub) -> None:
        from redis.asyncio import Redis

        self.hub = hub
        self.process = _process_name()
        self.redis = Redis.from_url(settings.REDIS_URL, decode_responses=True)
        self.streams: dict[str, Shared] = {}
        self.channel = ""
        self._named = asyncio.Event()
        self._groups: dict[str, int] = {}
        self._member: set[str] = set()
        self._groups_lock = asyncio.Lock()
        self._task = hub.loop.create_task(self._receive())

    def add(self, up: Upstream, factory: Callable[[], Source]) -> None:
        up.shared = self.streams[up.key] = Shared(self, up, factory)

    def close(self) -> None:
        for shared in list(self.streams.values()):
            shared.close()
        self._task.cancel()

    async def script(self, script: str, key: str, *args: Any) -> Any:
        """Run a Lua script on one key (redis-py's types do not say the async client awaits)."""
        result = self.redis.eval(script, 1, key, *args)
        return await result if inspect.isawaitable(result) else result

    async def channel_name(self) -> str:
        await self._named.wait()
        return self.channel

    # Group membership is counted: a stream closed and opened again at once shares its group
    # with its successor, whose membership must outlive the old one's leaving. The count
    # changes at once; the layer is brought in line with it under a lock.

    async def join_group(self, group: str) -> None:
        self._groups[group] = self._groups.get(group, 0) + 1
        await self._settle(group)

    async def leave_group(self, group: str) -> None:
        self._groups[group] = self._groups.get(group, 0) - 1
        await self._settle(group)

    async def _settle(self, group: str) -> None:
        channel = await self.channel_name()
        async with self._groups_lock:
            wanted = self._groups.get(group, 0) > 0
            if wanted == (group in self._member):
                return
            if wanted:
                await get_channel_layer().group_add(group, channel)
                self._member.add(group)
            else:
                self._groups.pop(group, None)
                await get_channel_layer().group_discard(group, channel)
                self._member.discard(group)

    async def _receive(self) -> None:
        layer = get_channel_layer()
        # The consumers' prefix: channels-redis pops one Redis key per prefix, under one lock
        # for the whole process, so a prefix of its own would wait behind theirs.
        self.channel = await layer.new_channel()
        self._named.set()
        while True:
            try:
                message = await layer.receive(self.channel)
                shared = self.streams.get(message.get("key", ""))
                if message.get("type") == "shared.sync":
                    await self._answer(shared, message)
                elif shared is not None:
                    shared.receive(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the stream relay failed; going on")
                await asyncio.sleep(1)

    async def _answer(self, shared: Shared | None, request: dict[str, Any]) -> None:
        answer: dict[str, Any] = {"type": "shared.state", "key": request["key"], "state": None}
        if shared is not None and shared.synced.is_set():
            owner, seq = shared.applied
            answer.update(
                state=shared.up.source.mirror_state(),
                position=shared.position,
                owner=owner,
                seq=seq,
            )
        await get_channel_layer().send(request["reply"], answer)


class Shared:
    """One process's part in one shared stream: it follows the batches its holder sends,
    and holds the lease (reads the engine) when it can."""

    def __init__(self, relay: Relay, up: Upstream, factory: Callable[[], Source]) -> None:
        self.relay = relay
        self.up = up
        self.factory = factory
        digest = _digest(up.key)
        self.group = "shared." + digest[:24]
        self.lease_key = f"dashboard:stream-lease:{digest}"
        self.lease_seconds: float = getattr(settings, "STREAM_LEASE_SECONDS", 3.0)
        self.token: str | None = None  # the lease's value while this process holds it
        self.valid_until = 0.0
        self.position: Any = None
        self.applied: tuple[str | None, int] = (None, 0)  # the last batch applied
        self.synced = asyncio.Event()
        self._held: list[dict[str, Any]] | None = []  # batches before the state came
        self._state: asyncio.Future[dict[str, Any]] | None = None
        self._fence: tuple[int, asyncio.Future[None]] | None = None
        self._seq = 0
        self._reading = False
        self._read_before = False
        self._in_group = False
        self._outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop = relay.hub.loop
        self._task = loop.create_task(self._run())
        self._sender = loop.create_task(self._send_loop())

    async def ready(self) -> None:
        """Wait (a few seconds at most) until this process's copy has the holder's replay."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SYNC_SECONDS + FENCE_SECONDS):
                await self.synced.wait()

    def close(self) -> None:
        """The last viewer here has gone: stop reading, give the lease up after the batches
        already on their way, leave the group."""
        token = self.token
        self._stop_reading()
        self._task.cancel()
        self._outbox.put_nowait(("close", token))
        if self.relay.streams.get(self.up.key) is self:
            del self.relay.streams[self.up.key]

    # -- what the relay hands over (on the loop) -------------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "shared.items":
            if self._held is not None:
                self._held.append(message)
            else:
                self._apply(message)
        elif kind == "shared.state":
            if self._state is not None and not self._state.done():
                self._state.set_result(message)
        elif kind == "shared.fence" and self._fence is not None:
            n, waiting = self._fence
            if n == message.get("n") and not waiting.done():
                waiting.set_result(None)

    def _apply(self, message: dict[str, Any]) -> None:
        items = message["items"]
        self.applied = (message.get("owner"), message.get("seq", 0))
        position = self.up.source.position(items)
        if position is not None:
            self.position = position
        self.up.deliver(items)

    def _synced_with(self, state: dict[str, Any] | None) -> None:
        """Take the holder's state (None: none came) and the batches held meanwhile."""
        if self._held is None:
            return
        held, self._held = self._held, None
        covered: tuple[Any, int] = (None, -1)
        if state is not None and state.get("state") is not None:
            self.up.source.load_mirror_state(state["state"])
            self.position = state.get("position")
            covered = (state.get("owner"), state.get("seq", 0))
            self.applied = covered
        for message in held:
            if message.get("owner") == covered[0] and message.get("seq", 0) <= covered[1]:
                continue  # in the state already
            self._apply(message)
        self.synced.set()

    # -- the lease -------------------------------------------------------------------------

    async def _run(self) -> None:
        self._in_group = True  # before any await: `close` may come at any one
        await self.relay.join_group(self.group)
        while True:
            try:
                if await self._take():
                    await self._hold()
                elif not self.synced.is_set() and await self._sync():
                    continue  # nobody held it: try to take it now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stream lease of %s: Redis failed", self.up.key, exc_info=True)
                self._stop_reading()
                self._synced_with(None)  # serve the viewers what there is
            await asyncio.sleep(TRY_SECONDS)

    async def _take(self) -> bool:
        token = f"{self.relay.process}.{next(_tokens)}|{self.relay.channel}"
        started = time.monotonic()
        ms = int(self.lease_seconds * 1000)
        if not await self.relay.redis.set(self.lease_key, token, nx=True, px=ms):
            return False
        self.token = token
        self.valid_until = started + self.lease_seconds - MARGIN_SECONDS
        return True

    async def _sync(self) -> bool:
        """Ask the holder for its state; True when nobody holds the stream."""
        holder = await self.relay.redis.get(self.lease_key)
        if holder is None:
            return True
        self._state = asyncio.get_running_loop().create_future()
        request = {"type": "shared.sync", "key": self.up.key, "reply": self.relay.channel}
        await get_channel_layer().send(holder.split("|", 1)[1], request)
        try:
            async with asyncio.timeout(SYNC_SECONDS):
                state = await self._state
        except TimeoutError:
            log.info("no state for %s from its holder; following without", self.up.key)
            state = None
        self._synced_with(state)
        return False

    async def _hold(self) -> None:
        # Every batch the previous holder sent is in this process's channel before the
        # fence: apply them all, so the position read on from is the last one they reached.
        n = next(_tokens)
        self._fence = (n, asyncio.get_running_loop().create_future())
        await get_channel_layer().send(
            self.relay.channel, {"type": "shared.fence", "key": self.up.key, "n": n}
        )
        try:
            async with asyncio.timeout(FENCE_SECONDS):
                await self._fence[1]
        except TimeoutError:
            log.warning("the fence of %s did not come back; reading on anyway", self.up.key)
        self._synced_with(None)
        source = self.up.source
        if self._read_before:
            # The earlier reading thread may still be ending: a new source takes its memory.
            fresh = self.factory()
            fresh.load_mirror_state(source.mirror_state())
            self.up.source = source = fresh
        if self.position is not None:
            source.resume_from(self.position)
        self._read_before = self._reading = True
        self.up.publish = self._publish
        UPSTREAMS.labels(stream_kind(self.up.key)).inc()
        source.start(self.up._emit, name=f"stream {self.up.key}")
        log.info("reading %s for every process (from %s)", self.up.key, self.position)
        ms = int(self.lease_seconds * 1000)
        try:
            while True:
                await asyncio.sleep(RENEW_SECONDS)
                started = time.monotonic()
                try:
                    renewed = await self.relay.script(_RENEW, self.lease_key, self.token or "", ms)
                except Exception:
                    log.warning("renewing the lease of %s failed", self.up.key, exc_info=True)
                    renewed = None
                if renewed:
                    self.valid_until = started + self.lease_seconds - MARGIN_SECONDS
                elif renewed == 0 or time.monotonic() > self.valid_until:
                    log.warning("lost the lease of %s", self.up.key)
                    return
        finally:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if not self._reading:
            return
        self._reading = False
        self.up.publish = None
        self.token = None
        UPSTREAMS.labels(stream_kind(self.up.key)).dec()
        source = self.up.source
        # Off the loop: closing a socket another thread reads can block (DESIGN.md).
        threading.Thread(target=source.stop, name=f"close {self.up.key}", daemon=True).start()

    # -- sending ---------------------------------------------------------------------------

    def _publish(self, items: list[Any]) -> None:
        """The source's batch, to every process's copy (this one's too); on the loop."""
        if self.token is None or time.monotonic() > self.valid_until:
            return  # the lease may be another's by now: its reader sends instead
        self._seq += 1
        message = {
            "type": "shared.items",
            "key": self.up.key,
            "owner": self.token,
            "seq": self._seq,
            "items": items,
        }
        self._outbox.put_nowait(("send", message))

    async def _send_loop(self) -> None:
        layer = get_channel_layer()
        while True:
            what, value = await self._outbox.get()
            try:
                if what == "send":
                    await layer.group_send(self.group, value)
                    continue
                if value is not None:
                    await self.relay.script(_RELEASE, self.lease_key, value)
                if self._in_group:
                    await self.relay.leave_group(self.group)
                return
            except Exception:
                log.exception("shared stream %s: sending failed", self.up.key)
                if what != "send":
                    return


def _process_name() -> str:
    """Names this process in lease values (a pid is reused; the nonce is not)."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"
