"""A log search's socket: starts the search the page names (its own upstream in the hub),
forwards hits as they are found, and cancels it when the page says so or goes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from engine_client import InvalidArgument
from engine_client.log_search import check_time_range, compile_matcher

from ..engines import Host, client_for
from ..log_selection import SELECTION_MAX
from ..streams import keys
from ..streams.hub import Source, get_hub
from ..streams.log_search import LogSearchSource, Target
from .merged_logs import MergedLogsConsumer, followed_items

_SEARCH_ID = re.compile(r"[0-9a-f]{16,32}")


class LogSearchConsumer(MergedLogsConsumer):
    """`f` names the containers (host:id:name, as the page found them), `q` and `regex` the
    pattern, `from`/`to` the range in Unix seconds, `sid` the search (one upstream each)."""

    def streams(self, host: Host, query: dict[str, str]) -> list[tuple[str, Callable[[], Source]]]:
        sid = query.get("sid", "")
        if not _SEARCH_ID.fullmatch(sid):
            raise ValueError("no search named")
        try:
            matcher = compile_matcher(query.get("q", ""), query.get("regex") == "1")
            since, until = check_time_range(
                float(query.get("from", "")), float(query.get("to", ""))
            )
        except (InvalidArgument, ValueError) as exc:
            raise ValueError(str(exc) or "bad range") from None
        items = followed_items(query.get("f", ""), self.hosts)
        if len(items) > SELECTION_MAX:
            raise ValueError(f"at most {SELECTION_MAX} containers")
        targets = [Target(h, cid, name) for h, cid, name in items]
        clients = {name: client_for(h) for name, h in self.hosts.items()}
        self.search_key = keys.stream_key(host, keys.LOG_SEARCH, sid)

        def factory() -> Source:
            return LogSearchSource(targets, clients, matcher, since, until)

        return [(self.search_key, factory)]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "cancel":
            up = get_hub().upstreams.get(self.search_key)
            if up is not None:
                # Closing the engine reads off the loop (they are sockets other threads read).
                threading.Thread(target=up.source.stop, daemon=True).start()
            await self.send(
                text_data=json.dumps({"done": {"state": "cancelled", "text": "Cancelled."}})
            )

    async def forward(self, key: str, message: dict[str, Any]) -> None:
        await self.send(
            text_data=json.dumps(
                {k: message[k] for k in ("groups", "total", "done") if k in message}
            )
        )
