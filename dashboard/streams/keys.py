"""Stream keys: what names one upstream in the hub, built and read in this one place.

A key is `host|kind|part|...`: everything that makes two viewers want the same upstream
(the host, what is read, and the parameters of the read). The hub shares an upstream by
equal keys, and the metrics label a stream by its kind alone (never a container ID: labels
stay few). Parts are quoted, so a part holding `|` (a host's socket path, say) reads back
whole.
"""

from __future__ import annotations

from typing import Any, NamedTuple

SEP = "|"

# The kinds of stream there are: a typo'd kind would make a new metrics label and share
# nothing, so it is refused when the key is built.
EVENTS = "events"
LOGS = "logs"
SERVICE_LOGS = "servicelogs"
STATS = "stats"
LIST_STATS = "liststats"
PROGRESS = "progress"
HEALTH = "health"
RUN = "run"
STACK_RUN = "stackrun"
COMPOSE = "compose"
DISK = "disk"
SWARM_STATE = "swarmstate"
LOG_SEARCH = "logsearch"
UPDATE_RUN = "updaterun"
KINDS = frozenset(
    {
        EVENTS,
        LOGS,
        SERVICE_LOGS,
        STATS,
        LIST_STATS,
        PROGRESS,
        HEALTH,
        RUN,
        COMPOSE,
        STACK_RUN,
        DISK,
        SWARM_STATE,
        LOG_SEARCH,
        UPDATE_RUN,
    }
)


class StreamKey(NamedTuple):
    host: str
    kind: str
    parts: tuple[str, ...]


def _quote(part: str) -> str:
    return part.replace("%", "%25").replace(SEP, "%7C")


def _unquote(part: str) -> str:
    return part.replace("%7C", SEP).replace("%25", "%")


def stream_key(host: Any, kind: str, *parts: object) -> str:
    """The hub key of `kind` on `host` (a Host or its name), read with `parts` (str()'d;
    None counts as empty)."""
    if kind not in KINDS:
        raise ValueError(f"unknown stream kind {kind!r}")
    name = getattr(host, "name", host)
    items = [name, kind, *("" if p is None else str(p) for p in parts)]
    return SEP.join(_quote(str(item)) for item in items)


def parse_stream_key(key: str) -> StreamKey:
    """The host, kind and parts of a key made by `stream_key`. A key made otherwise (a
    test's own) reads as kind 'unknown' rather than failing: metrics label every stream."""
    host, *rest = key.split(SEP)
    if not rest:
        return StreamKey(_unquote(host), "unknown", ())
    kind, *parts = rest
    return StreamKey(_unquote(host), _unquote(kind), tuple(_unquote(p) for p in parts))
