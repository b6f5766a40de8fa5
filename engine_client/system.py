"""Engine-wide calls: ping, version, info."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .streams import JSONStream

if TYPE_CHECKING:
    from .client import EngineClient


class SystemAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def ping(self, timeout: float | None = None) -> dict[str, str]:
        """`GET /_ping`: the headers the engine sends (Api-Version, Ostype, Swarm, ...)."""
        resp = self._c.request("GET", "/_ping", versioned=False, timeout=timeout)
        return dict(resp.headers)

    def version(self, timeout: float | None = None) -> dict[str, Any]:
        return self._c.get_json("/version", timeout=timeout)

    def info(self, timeout: float | None = None) -> dict[str, Any]:
        return self._c.get_json("/info", timeout=timeout)

    def events(
        self,
        since: str | None = None,
        until: str | None = None,
        filters: Mapping[str, Iterable[str] | str] | None = None,
    ) -> JSONStream:
        """The events stream; `since`/`until` are Unix `seconds[.nanoseconds]` strings."""
        resp = self._c.request(
            "GET",
            "/events",
            params={"since": since, "until": until, "filters": encode_filters(filters)},
            stream=True,
            timeout=0,
        )
        return JSONStream(resp, url=self._c.url)
