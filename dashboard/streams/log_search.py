"""A log search as a hub source: each selected container's log within the range is read
from the engine and filtered as it is read (engine_client/log_search.py); hits are sent to
the page grouped by container as they are found.

At most `per_host` reads run at once on one host (the engine serves the pages too), the
hits stop at `hits_max` (a pattern that matches everything must not fill the page or the
memory), and a cancel closes every read in progress and starts none.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from engine_client import EngineClient, EngineError
from engine_client.log_search import UNREADABLE_DRIVERS, PatternTooSlow, search_log

from .hub import Source
from .render import render_line

PER_HOST_READS = 4
HITS_MAX = 1000


@dataclass(frozen=True)
class Target:
    host: str
    container_id: str
    name: str

    @property
    def group(self) -> str:
        return f"hits-{self.host}-{self.container_id[:12]}"


class LogSearchSource(Source):
    def __init__(
        self,
        targets: list[Target],
        clients: dict[str, EngineClient],
        matcher: Any,
        since: float,
        until: float,
        per_host: int = PER_HOST_READS,
        hits_max: int = HITS_MAX,
    ) -> None:
        super().__init__()
        self.targets = targets
        self.clients = clients
        self.matcher = matcher
        self.since = since
        self.until = until
        self.per_host = per_host
        self.hits_max = hits_max
        self.hits = 0
        self.reads_started = 0
        self.reads_active = 0
        self.reads_peak: dict[str, int] = defaultdict(int)
        self._active: dict[str, int] = defaultdict(int)
        self._count_lock = threading.Lock()
        self.finished = threading.Event()
        self._state: dict[str, Any] = {"groups": {}, "total": 0, "done": False, "status": None}

    # -- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        # Clients with pools of their own: long log reads must not hold the connections
        # the pages of the same host use.
        shared, self.clients = (
            self.clients,
            {
                name: client.sibling(pool_size=self.per_host)
                for name, client in self.clients.items()
            },
        )
        try:
            self._run()
        finally:
            for client in self.clients.values():
                client.close()
            self.clients = shared

    def _run(self) -> None:
        by_host: dict[str, list[Target]] = defaultdict(list)
        for t in self.targets:
            by_host[t.host].append(t)
        pools = [
            ThreadPoolExecutor(self.per_host, thread_name_prefix=f"search {host}")
            for host in by_host
        ]
        try:
            futures = [
                pool.submit(self._read, t)
                for pool, targets in zip(pools, by_host.values(), strict=True)
                for t in targets
            ]
            for f in futures:
                with contextlib.suppress(Exception):
                    f.result()
        finally:
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)
            self.finished.set()
        if not self.stopping.is_set():
            self._emit_final()

    def _emit_final(self) -> None:
        status = self._state["status"] or {
            "state": "done",
            "text": f"{self.hits} hit{'s' if self.hits != 1 else ''} in {len(self.targets)}"
            f" container{'s' if len(self.targets) != 1 else ''}.",
        }
        self.emit(("done", status))

    def _read(self, target: Target) -> None:
        if self.stopping.is_set():
            return
        client = self.clients[target.host]
        with self._count_lock:
            self.reads_started += 1
            self.reads_active += 1
            self._active[target.host] += 1
            self.reads_peak[target.host] = max(
                self.reads_peak[target.host], self._active[target.host]
            )
        try:
            self.emit(("group", target, "reading", ""))
            info = client.containers.inspect(target.container_id)
            driver = ((info.get("HostConfig") or {}).get("LogConfig") or {}).get("Type", "")
            if driver in UNREADABLE_DRIVERS:
                self.emit(
                    (
                        "group",
                        target,
                        "unreadable",
                        f"its logging driver is {driver!r}: no log is kept",
                    )
                )
                return
            tty = bool((info.get("Config") or {}).get("Tty"))
            for hit in search_log(
                client,
                target.container_id,
                self.matcher,
                since=self.since,
                until=self.until,
                tty=tty,
                on_open=self.closing,
            ):
                if self.stopping.is_set():
                    return
                with self._count_lock:
                    self.hits += 1
                    over = self.hits > self.hits_max
                if over:
                    self._abort(f"Stopped at {self.hits_max} hits: narrow the search.")
                    break
                # Each hit at once (the hub gathers those of one batch window into one
                # message): held back, the first hit of a long log came only at its end.
                self.emit(("hits", target, [hit]))
            self.emit(("group", target, "done", ""))
        except PatternTooSlow as exc:
            self._abort(f"The search was stopped: {exc}")
        except EngineError as exc:
            if not self.stopping.is_set():
                self.emit(("group", target, "error", exc.message))
        finally:
            with self._count_lock:
                self.reads_active -= 1
                self._active[target.host] -= 1

    def _abort(self, text: str) -> None:
        """End the whole search with `text` (every read in progress is closed)."""
        with self._count_lock:
            if self._state["status"]:
                return
            self._state["status"] = {"state": "error", "text": text}
        self.emit(("done", self._state["status"]))
        # Closing the streams of the other reads: off this worker, which may hold one.
        threading.Thread(target=super().stop, daemon=True).start()

    # -- on the loop ----------------------------------------------------------------------

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        groups: dict[str, dict[str, Any]] = {}
        done = None
        for item in items:
            if item[0] == "done":
                done = item[1]
                continue
            target: Target = item[1]
            g = groups.setdefault(
                target.group,
                {"lines": [], "state": None, "note": "", "target": target},
            )
            if item[0] == "hits":
                g["lines"].extend(item[2])
            else:
                g["state"], g["note"] = item[2], item[3]
        out = []
        for gid, g in groups.items():
            known = self._state["groups"].setdefault(gid, {"count": 0, "state": "reading"})
            known["count"] += len(g["lines"])
            if g["state"]:
                known["state"], known["note"] = g["state"], g["note"]
            t: Target = g["target"]
            out.append(
                {
                    "id": gid,
                    "head": render_to_string(
                        "logs/_search_group.html",
                        {"t": t, "g": known, "gid": gid},
                    ),
                    "lines": "".join(self._hit_html(t, h) for h in g["lines"]),
                }
            )
        self._state["total"] = sum(g["count"] for g in self._state["groups"].values())
        message: dict[str, Any] = {"groups": out, "total": self._state["total"]}
        if done:
            message["done"] = done
        return message

    def _hit_html(self, t: Target, hit: Any) -> str:
        url = reverse("container-log-at", args=[t.host, t.container_id])
        return render_to_string(
            "logs/_search_hit.html",
            {"url": url, "ts": hit.line.timestamp, "line": render_line(hit.line)},
        )

    def remember(self, items: list[Any]) -> None:
        pass
