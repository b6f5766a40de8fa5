"""A service's logs, merged from all its tasks on every node, each line showing the task
and the node it came from (`GET /services/{id}/logs?details=1`: the engine puts the task's
swarm IDs before each line; names are looked up once and again when a new task speaks).

The following itself (reconnects, replay for late viewers) is the container log's
`FollowedLogSource`; only opening, resuming and rendering are the service's own."""

from __future__ import annotations

import contextlib
import time

from engine_client import EngineClient, EngineError
from engine_client.streams import LogLine, LogStream, after, timestamp_to_unix
from engine_client.swarm import LOG_NODE, LOG_TASK, split_details

from .render import render_line, service_prefix, task_prefix
from .sources import FollowedLogSource

# At most this often the task/node names are read again for an unknown task.
NAMES_REFRESH_SECONDS = 2.0
# The engine ending a service's log stream is no news about the service: read on after this.
REOPEN_AFTER_END_SECONDS = 1.0


class AfterLastLine:
    """Resumes a service's log strictly after the last timestamp seen.

    The log is merged from tasks on several nodes, so lines do not come in timestamp order
    and LogResume's count of the lines sharing the last timestamp would not hold; Docker
    stamps to the nanosecond, so reading on from the next nanosecond loses nothing."""

    def __init__(self) -> None:
        self.timestamp = ""

    def feed(self, batch: list[LogLine]) -> list[LogLine]:
        if batch and batch[-1].timestamp:
            self.timestamp = batch[-1].timestamp
        return batch

    def since(self) -> str | None:
        unix = timestamp_to_unix(self.timestamp) if self.timestamp else None
        return after(unix) if unix else None


class ServiceLogNames:
    """The names of a service's tasks and nodes, for its log lines; whether it has a TTY."""

    def __init__(self, client: EngineClient, service_id: str, tag: str = "") -> None:
        self.client = client
        self.service_id = service_id
        self.tag = tag  # HTML before the task's own prefix (a stack's merged log: the service)
        self.tasks: dict[str, str] = {}
        self.nodes: dict[str, str] = {}
        self._read_at = 0.0
        self.tty = False

    def read(self) -> None:
        self._read_at = time.monotonic()
        service = self.client.services.inspect(self.service_id)
        name = (service.get("Spec") or {}).get("Name", "")
        self.tty = bool(
            ((service.get("Spec") or {}).get("TaskTemplate") or {})
            .get("ContainerSpec", {})
            .get("TTY")
        )
        for t in self.client.tasks.list(filters={"service": [self.service_id]}):
            slot = t.get("Slot") or (t.get("NodeID") or "")[:12]
            self.tasks[t["ID"]] = f"{name}.{slot}"
        self.nodes = {
            n["ID"]: (n.get("Description") or {}).get("Hostname", "")
            for n in self.client.nodes.list()
        }

    def render(self, batch: list[LogLine]) -> str:
        out = []
        for line in batch:
            details, text = split_details(line.text)
            task_id, node_id = details.get(LOG_TASK, ""), details.get(LOG_NODE, "")
            stale = time.monotonic() - self._read_at > NAMES_REFRESH_SECONDS
            if task_id and task_id not in self.tasks and stale:
                with contextlib.suppress(EngineError):
                    self.read()
            task = self.tasks.get(task_id, task_id[:12])
            node = self.nodes.get(node_id, node_id[:12])
            prefix = self.tag + task_prefix(task_id, task, node)
            out.append(render_line(LogLine(line.stream, text, line.timestamp), prefix))
        return "".join(out)


def service_logs(
    client: EngineClient,
    service_id: str,
    tail: int | str,
    since: float | None = None,
    service: str = "",
) -> FollowedLogSource:
    """A service's followed log, in the container log viewer's messages (the same page
    script shows them). With `service`, each line is tagged with it too (a stack's merged
    log: its stream key names the service, so it is not shared with the service page's)."""
    names = ServiceLogNames(client, service_id, service_prefix(service) if service else "")

    def open_log(tail: int | str, since: float | str | None) -> LogStream:
        names.read()  # also whether the tasks have a TTY: the stream is framed otherwise
        return client.services.logs(service_id, follow=True, tail=tail, since=since, tty=names.tty)

    def when_ended(source: FollowedLogSource) -> bool:
        source.emit(("status", "ended", "The engine ended the log stream; reconnecting…"))
        return not source.sleep(REOPEN_AFTER_END_SECONDS)

    return FollowedLogSource(
        open_log,
        what="service",
        tail=tail,
        since=since,
        resume=AfterLastLine(),
        when_ended=when_ended,
        render=names.render,
    )
