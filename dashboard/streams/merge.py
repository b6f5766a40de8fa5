"""Several followed logs merged into one view: lines in time order within a batch window,
each tagged with where it came from.

The followed logs are the hub's shared upstreams (the very ones a container's own log page
reads), so a merged view adds no engine stream of its own; their messages arrive per
container, already rendered. This module splits those batches into lines, puts a tag in
each, and gives them back sorted by the engine's timestamp. It does no I/O: a consumer feeds
it what the hub sends and drains it once per batch window.
"""

from __future__ import annotations

import functools
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from html import escape
from typing import Any

from engine_client.streams import timestamp_to_unix

# Every rendered line starts with this (render.render_line); log text is escaped, so the
# sequence cannot occur inside a line.
LINE_START = '<div class="l '
_TIME = re.compile(r"<time>([^<]*)</time>")
TAG_COLOURS = 8


def split_lines(html: str) -> list[str]:
    """A rendered batch -> its lines' HTML."""
    if not html:
        return []
    return [LINE_START + part for part in html.split(LINE_START) if part]


@functools.lru_cache(maxsize=4096)
def _seconds(prefix: str, tz: str) -> int:
    unix = timestamp_to_unix(prefix + tz)
    return int(unix.partition(".")[0]) if unix else 0


def sort_key(timestamp: str) -> tuple[int, int]:
    """An engine timestamp ('2024-05-01T10:20:30.1234Z', Podman's '...+01:00' or to the
    second) -> (seconds, nanoseconds), comparable across engines and time zones. The engines
    trim trailing zeros of the fraction, so the text alone does not sort."""
    date, dot, rest = timestamp.partition(".")
    digits = ""
    tz = rest
    if dot:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        digits, tz = rest[:i], rest[i:]
    else:
        date, tz = timestamp[:19], timestamp[19:]
    nanos = int((digits + "000000000")[:9]) if digits else 0
    return _seconds(date[:19], tz or "Z"), nanos


def line_timestamp(line: str) -> str:
    m = _TIME.search(line, 0, 200)
    return m.group(1) if m else ""


def tag_html(source: str, label: str, kind: str = "") -> str:
    """The coloured tag a merged line carries: clicking it narrows the view to `source`.
    `kind` is a class saying what the label names (`svc`: a compose service)."""
    colour = zlib.crc32(source.encode()) % TAG_COLOURS
    cls = f"src c{colour} {kind}".strip()
    return (
        f'<button type="button" class="{cls}" data-src="{escape(source)}"'
        f' title="Show only {escape(label)}">{escape(label)}</button>'
    )


def with_tag(line: str, tag: str) -> str:
    """`tag` put after the line's timestamp (or at its start)."""
    start = line.find(">") + 1
    end = line.find("</time>", start, start + 200)
    at = end + len("</time>") if line.startswith("<time>", start) and end != -1 else start
    return line[:at] + tag + line[at:]


def notice_line(tag: str, text: str, state: str) -> str:
    """A line the view itself adds (a container stopped, was removed, joined)."""
    return f'<div class="l n {escape(state)}">{tag}<em>{escape(text)}</em></div>'


Parsed = tuple[tuple[tuple[tuple[int, int] | None, str], ...], dict[str, str] | None]


@functools.lru_cache(maxsize=1024)
def parse_message(text: str, tag: str | None) -> Parsed:
    """A followed log's hub message (its `text` JSON) -> its lines, each (sort key or None
    when it has no timestamp, HTML with `tag` in it), and its status. Cached: every merged
    view of a container gets the same message (the same string), and the per-line work is
    then done once for all of them rather than once per view."""
    message = json.loads(text)
    lines = []
    for line in split_lines(message.get("lines") or ""):
        ts = line_timestamp(line)
        lines.append((sort_key(ts) if ts else None, with_tag(line, tag) if tag else line))
    return tuple(lines), message.get("status")


@dataclass
class LogMerger:
    """Gathers the lines of several followed logs, then gives them back in time order.

    `feed` takes one hub message of a followed log (its `text` JSON), with the tag of the
    source it came from (None: the lines carry their own, as a service's task@node does);
    `drain` returns the view's next message. Lines of one source keep their order (the sort
    is stable, and a source's lines share its clock); a notice without a timestamp goes
    after the lines gathered with it."""

    pending: list[tuple[tuple[int, int], int, str]] = field(default_factory=list)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    _order: int = 0
    _sent_overall: dict[str, str] | None = None

    @property
    def due(self) -> bool:
        """Lines to send, or an overall state the page has not been told."""
        if self.pending:
            return True
        overall = self.overall() if self.statuses else None
        return bool(self.pending) or overall != self._sent_overall

    def feed(self, source: str, tag: str | None, text: str) -> None:
        lines, status = parse_message(text, tag)
        if lines:
            now = _now_key()
            order = self._order
            self.pending.extend(
                (key or now, order + i, html) for i, (key, html) in enumerate(lines, 1)
            )
            self._order = order + len(lines)
        if status:
            previous = self.statuses.get(source)
            self.statuses[source] = status
            # A container that stops (or goes, or breaks) says so in the stream itself; one
            # that was seen stopped and follows again says it is back.
            if status["state"] != "live":
                self._add(_now_key(), notice_line(tag or "", status["text"], status["state"]))
            elif previous and previous["state"] != "live":
                self._add(_now_key(), notice_line(tag or "", "Following again.", "live"))

    def notice(self, tag: str, text: str, state: str = "live") -> None:
        self._add(_now_key(), notice_line(tag, text, state))

    def _add(self, key: tuple[int, int], html: str) -> None:
        self._order += 1
        self.pending.append((key, self._order, html))

    def drain(self) -> dict[str, Any] | None:
        """The view's next message (lines sorted, the overall state), or None: sent for new
        lines, and for a new overall state alone (a quiet selection still says it follows)."""
        overall = self.overall() if self.statuses else None
        if not self.pending and overall == self._sent_overall:
            return None
        self._sent_overall = overall
        self.pending.sort()
        html = "".join(item[2] for item in self.pending)
        count = len(self.pending)
        self.pending = []
        return {"lines": html, "n": count, "status": overall or self.overall()}

    def overall(self) -> dict[str, str]:
        live = sum(1 for s in self.statuses.values() if s["state"] == "live")
        total = len(self.statuses)
        if total and live == 0:
            return {"state": "ended", "text": "none of the selection is running"}
        return {"state": "live", "text": f"following {live} of {total}"}


def _now_key() -> tuple[int, int]:
    now = time.time_ns()
    return now // 10**9, now % 10**9
