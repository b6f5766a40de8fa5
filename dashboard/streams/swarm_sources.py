"""A service's logs, merged from all its tasks on every node, each line showing the task
and the node it came from (`GET /services/{id}/logs?details=1`: the engine puts the task's
swarm IDs before each line; names are looked up once and again when a new task speaks)."""

from __future__ import annotations

import contextlib
import time
from html import escape

from engine_client import EngineClient, EngineError, NotFound
from engine_client.streams import LogLine, after, timestamp_to_unix
from engine_client.swarm import LOG_NODE, LOG_TASK, split_details

from .render import render_line
from .sources import RECONNECT_MAX_SECONDS, LogSource

# At most this often the task/node names are read again for an unknown task.
NAMES_REFRESH_SECONDS = 2.0


class ServiceLogSource(LogSource):
    """Follows a service's logs; the messages are the container log viewer's, so the same
    page script shows them."""

    def __init__(
        self, client: EngineClient, service_id: str, tail: int | str, since: float | None = None
    ) -> None:
        super().__init__(client, service_id, tail, since)
        self.service_id = service_id
        self.tasks: dict[str, str] = {}
        self.nodes: dict[str, str] = {}
        self._names_read = 0.0
        self.tty = False

    def _read_names(self) -> None:
        self._names_read = time.monotonic()
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

    def _render(self, batch: list[LogLine]) -> str:
        out = []
        for line in batch:
            details, text = split_details(line.text)
            task_id, node_id = details.get(LOG_TASK, ""), details.get(LOG_NODE, "")
            stale = time.monotonic() - self._names_read > NAMES_REFRESH_SECONDS
            if task_id and task_id not in self.tasks and stale:
                with contextlib.suppress(EngineError):
                    self._read_names()
            task = self.tasks.get(task_id, task_id[:12])
            node = self.nodes.get(node_id, node_id[:12])
            html = render_line(LogLine(line.stream, text, line.timestamp))
            prefix = (
                f'<span class="task" data-task="{escape(task_id)}">{escape(task)}'
                f'<span class="node">@{escape(node)}</span></span>'
            )
            cut = html.find("</time>")
            cut = cut + len("</time>") if cut >= 0 else html.find(">") + 1
            out.append(html[:cut] + prefix + html[cut:])
        return "".join(out)

    def run(self) -> None:
        since: float | str | None = self.since
        tail: int | str = self.tail
        delay = 1.0
        while not self.stopping.is_set():
            last_ts = ""
            try:
                self._read_names()
                stream = self.client.services.logs(
                    self.service_id, follow=True, tail=tail, since=since, tty=self.tty
                )
                self.closing(stream.close)
                self.emit(("status", "live", "following"))
                delay = 1.0
                for batch in stream.batches():
                    if batch[-1].timestamp:
                        last_ts = batch[-1].timestamp
                    self.emit(("lines", self._render(batch), len(batch)))
            except NotFound as exc:
                self.emit(("status", "gone", f"The service is gone: {exc.message}"))
                return
            except EngineError as exc:
                self.emit(("status", "error", f"Log stream interrupted: {exc.message}"))
                if self.sleep(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            else:
                if self.stopping.is_set():
                    return
                self.emit(("status", "ended", "The engine ended the log stream; reconnecting…"))
                if self.sleep(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            tail = "all"
            if last_ts and (unix := timestamp_to_unix(last_ts)):
                since = after(unix)
