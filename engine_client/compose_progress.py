"""compose's pull progress, read from its plain output into the images page's progress model.

compose 2.26 has no machine-readable progress (`--progress` takes auto, tty, plain, quiet;
no json), so a run's plain lines are what there is. With `--progress plain` (the dashboard's
COMPOSE_PROGRESS) it prints one line per engine progress message, the layer's short id, the
engine's status and, while bytes move, the CLI's rendering of the numbers:

     c Pulling
     2450dcac597a Pulling fs layer
     2450dcac597a Downloading [=>          ]  36.45kB/1.069MB
     2450dcac597a Pull complete
     m Error manifest for 127.0.0.1:5000/x/missing:v1 not found: manifest unknown
     c Pulled

`pull_message` turns such a line back into the engine's progress message (a dict like the
JSON lines of `POST /images/create`), which `images.ProgressState` folds as it does for a
pull from the images page: the same layers, bars and outcome. Sizes come back from the
CLI's decimal units (kB = 1000 B), to the precision it printed (four digits): enough for a
bar. The layer lines do not say which service they are for (two services' images may share
a layer), so a run's layers are shown together. Plain Python; no Django.
"""

from __future__ import annotations

import re
from typing import Any

from .images import ProgressState

# A layer's line: its short id, the engine's status, then maybe the bar and numbers.
_LAYER_LINE = re.compile(r"^\s*([0-9a-f]{12})\s+(\S.*?)\s*$")
_NUMBERS = re.compile(
    r"^(?P<status>.*?)\s*(?:\[[=> ]*\])?\s*(?P<current>\d+(?:\.\d+)?[kMGTPE]?B)"
    r"(?:/(?P<total>\d+(?:\.\d+)?[kMGTPE]?B))?(?:\s+\S+)?$"
)
# A service's line: its name and one of compose's pull events (pkg/compose/pull.go).
_SERVICE_LINE = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s+(Pulling|Pulled|Error|Skipped|Interrupted|Warning)"
    r"(?:\s+-)?(?:\s+(\S.*?))?\s*$"
)
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def size_of(text: str) -> int:
    """Bytes from the CLI's human size ("36.45kB", "1.069MB", "512B")."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kMGTPE]?)B", text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def pull_message(line: str) -> dict[str, Any] | None:
    """The engine progress message a plain compose line carries, or None when the line is
    not about a pull (containers, networks, compose's own words)."""
    service = _SERVICE_LINE.match(line)
    # "Pulling fs layer" is a layer's status, not a service's "Pulling": ids decide first.
    layer = _LAYER_LINE.match(line)
    if layer and not (service and service.group(3) is None):
        ident, rest = layer.groups()
        message: dict[str, Any] = {"id": ident, "status": rest}
        numbers = _NUMBERS.match(rest)
        if numbers and numbers.group("status"):
            detail = {"current": size_of(numbers.group("current"))}
            if numbers.group("total"):
                detail["total"] = size_of(numbers.group("total"))
            message.update(status=numbers.group("status"), progressDetail=detail)
        return message
    if service:
        name, event, text = service.groups()
        if event == "Error":
            return {"error": f"{name}: {text}" if text else f"{name}: failed"}
        said = f"{name}: {event}"
        return {"status": f"{said} - {text}" if text else said}
    return None


def feed_line(state: ProgressState, line: str) -> bool:
    """Fold one plain compose line into `state`; whether it was a pull's line."""
    message = pull_message(line)
    if message is None:
        return False
    state.feed(message)
    return True


class ComposePull:
    """A compose run's pulls: the images page's `ProgressState`, and which services began
    pulling and which finished, to tell at the end whether a failed run failed its pull."""

    def __init__(self) -> None:
        self.state = ProgressState()
        self.pending: set[str] = set()
        self.last_other = ""

    @property
    def seen(self) -> bool:
        return bool(self.state.layers or self.state.messages or self.state.error)

    def feed(self, line: str) -> bool:
        """One line of the run; whether it was a pull's (and changed the progress)."""
        if not feed_line(self.state, line):
            if line.strip():
                self.last_other = line.strip()
            return False
        if service := _SERVICE_LINE.match(line):
            name, event = service.group(1), service.group(2)
            if event == "Pulling" and service.group(3) is None:
                self.pending.add(name)
            else:
                self.pending.discard(name)
        return True

    def finish(self, succeeded: bool) -> None:
        """The run ended. A failed run with a service still pulling failed in its pull:
        with the engine's words when compose printed them in a service's line, else its
        last other line (Podman's refusal, say)."""
        if not succeeded and self.pending and not self.state.error:
            self.state.fail(self.last_other or "compose ended before the pull finished")
        self.state.finish()
