"""Engine-wide calls: ping, version, info."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
