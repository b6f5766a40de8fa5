"""The navigation's alert badge: how many conditions are on, and the news that it changed.

The evaluator runs in one process (the lease holder); the badge is on every page of every
process. A change is announced on a channel-layer group, which with Redis reaches every
process, and each open badge socket re-reads the count (one small query per change, not per
viewer per second)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from ..models import Alert

log = logging.getLogger(__name__)

GROUP = "alerts-badge"
CHANGED = "alerts.badge"  # the consumers' handler: alerts_badge


def firing_count() -> int:
    """Conditions on now (unhealthy, unreachable, restart loop...): what the badge shows."""
    return Alert.objects.filter(open=True).count()


def announce(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Tell every open badge to re-read the count. From a thread of its own (the evaluator)
    pass the event loop the consumers live on: the in-memory layer's queues are that loop's
    and must be fed on it. A layer that fails (Redis gone) costs the badges their news, never
    the alert: it is logged and dropped."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": CHANGED}
    if loop is not None and loop.is_running():
        sent = asyncio.run_coroutine_threadsafe(layer.group_send(GROUP, message), loop)
        sent.add_done_callback(_log_failure)
        return
    try:
        async_to_sync(layer.group_send)(GROUP, message)
    except Exception:  # the alert is recorded and sent either way
        log.warning("could not announce the alert badge's change", exc_info=True)


def _log_failure(sent: concurrent.futures.Future[None]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.warning("could not announce the alert badge's change: %s", sent.exception())


def forget_rule(rule_id: int) -> None:
    """A rule removed or turned off watches nothing more: its conditions still on are no
    longer known to be on, so they leave the badge (the history keeps them)."""
    if Alert.objects.filter(rule_id=rule_id, open=True).update(open=False):
        announce()
