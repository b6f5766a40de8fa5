"""API version arithmetic: versions are compared as integer pairs, never as floats."""

from __future__ import annotations

from .errors import InvalidArgument, UnsupportedVersion

Version = tuple[int, int]

# The oldest API we speak (Docker 20.10, Debian 12) and the newest spec we were written against.
OLDEST: Version = (1, 41)
NEWEST: Version = (1, 56)


def parse(text: str) -> Version:
    """'1.41' -> (1, 41). Raises InvalidArgument for anything else."""
    parts = str(text).strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InvalidArgument(f"not an API version: {text!r}")
    return int(parts[0]), int(parts[1])


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def negotiate(daemon_max: str, daemon_min: str | None = None) -> Version:
    """Choose min(our newest, the daemon's newest); refuse a daemon older than our oldest."""
    theirs = parse(daemon_max)
    chosen = min(NEWEST, theirs)
    if chosen < OLDEST:
        raise UnsupportedVersion(
            f"engine speaks API {fmt(theirs)}, older than the oldest supported ({fmt(OLDEST)})"
        )
    if daemon_min is not None:
        try:
            their_min = parse(daemon_min)
        except InvalidArgument:
            their_min = None
        if their_min is not None and chosen < their_min:
            raise UnsupportedVersion(
                f"engine requires API {fmt(their_min)} or newer; we chose {fmt(chosen)}"
            )
    return chosen
