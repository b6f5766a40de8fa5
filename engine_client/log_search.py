"""Searching what the engine already keeps of a container's log, without a database.

The engine is asked for the log within a time range (`since`/`until`, with timestamps) and
each line is matched as it is read, so nothing but the hits is kept. A pattern is text (a
case-insensitive substring) or a regular expression run by the `regex` module, whose
matches take a timeout: Python's `re` cannot be interrupted, and one catastrophic pattern
(`(a|aa)+$` on a long line of a's) would hold a thread for hours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import regex

from .errors import InvalidArgument
from .streams import LogLine

PATTERN_MAX = 500
# How long one line may keep a regular expression busy before the search is stopped.
LINE_TIMEOUT_SECONDS = 0.05
# Drivers the engine cannot give a log back from (Docker's dual logging reads the others
# from its local cache; an engine that cannot says so in its own words).
UNREADABLE_DRIVERS = {"none"}


class PatternTooSlow(InvalidArgument):
    """A regular expression took longer than its budget on one line."""


@dataclass(frozen=True)
class Matcher:
    text: str
    is_regex: bool
    _compiled: regex.Pattern[str] | None = None

    def __call__(self, line: str) -> bool:
        if self._compiled is None:
            return self.text in line.lower()
        try:
            return self._compiled.search(line, timeout=LINE_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            raise PatternTooSlow(
                f"the regular expression took over {LINE_TIMEOUT_SECONDS * 1000:.0f} ms on one"
                " line (catastrophic backtracking?); the search was stopped"
            ) from None


def compile_matcher(text: object, is_regex: bool = False) -> Matcher:
    """A case-insensitive matcher for `text` (a substring, or a regular expression)."""
    if not isinstance(text, str) or not text:
        raise InvalidArgument("give a text or a regular expression to search for")
    if len(text) > PATTERN_MAX:
        raise InvalidArgument(f"at most {PATTERN_MAX} characters")
    if "\x00" in text:
        raise InvalidArgument("no NUL characters")
    if not is_regex:
        return Matcher(text.lower(), False)
    try:
        compiled = regex.compile(text, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        raise InvalidArgument(f"not a valid regular expression: {exc}") from None
    return Matcher(text, True, compiled)


def check_time_range(since: float, until: float) -> tuple[float, float]:
    """A search's range in Unix seconds: since must come before until."""
    if since < 0 or until < 0:
        raise InvalidArgument("times are after 1970")
    if since >= until:
        raise InvalidArgument("the start of the range must be before its end")
    return since, until


@dataclass
class Hit:
    line: LogLine
    number: int  # the line's place among those read in the range (1-based)


def search_log(
    client: object,
    container_id: str,
    matcher: Callable[[str], bool],
    *,
    since: float,
    until: float,
    tty: bool,
    on_open: Callable[[Callable[[], None]], None] = lambda close: None,
) -> Iterator[Hit]:
    """The lines of a container's log within [since, until) that `matcher` accepts, as the
    engine reads them. `on_open` is given the stream's close (to interrupt the read from
    another thread: a cancel)."""
    stream = client.containers.logs(  # type: ignore[attr-defined]
        container_id,
        follow=False,
        since=_engine_time(since),
        until=_engine_time(until),
        timestamps=True,
        tty=tty,
    )
    on_open(stream.close)
    number = 0
    with contextlib.closing(stream):
        for batch in stream.batches():
            for line in batch:
                number += 1
                if matcher(line.text):
                    yield Hit(line, number)


def count_matches(
    client: Any,
    container_ids: list[str],
    matcher: Callable[[str], bool],
    *,
    since: float,
    until: float,
    parallel: int = 4,
) -> dict[str, int | str]:
    """How many lines of each container's log within the range `matcher` accepts, at most
    `parallel` reads at once; a container that cannot be read gets the engine's message."""
    from concurrent.futures import ThreadPoolExecutor

    from .errors import EngineError

    def count(cid: str) -> int | str:
        try:
            info = client.containers.inspect(cid)
            driver = ((info.get("HostConfig") or {}).get("LogConfig") or {}).get("Type", "")
            if driver in UNREADABLE_DRIVERS:
                return f"its logging driver is {driver!r}: no log is kept"
            tty = bool((info.get("Config") or {}).get("Tty"))
            hits = search_log(client, cid, matcher, since=since, until=until, tty=tty)
            return sum(1 for _ in hits)
        except (EngineError, PatternTooSlow) as exc:
            return getattr(exc, "message", None) or str(exc)

    with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="count-matches") as pool:
        return dict(zip(container_ids, pool.map(count, container_ids), strict=True))


def _engine_time(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")
