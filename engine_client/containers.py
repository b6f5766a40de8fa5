"""Container calls: list, inspect, create, start, stop, restart, remove."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import InvalidArgument

if TYPE_CHECKING:
    from .client import EngineClient

# Seconds added to a stop/restart's own grace period before we give up waiting for the
# engine's answer: the engine answers only once the container has stopped.
_STOP_SLACK = 15.0
# What the engine waits by default before killing (a container may set its own StopTimeout).
_DEFAULT_STOP_GRACE = 10


def _grace(timeout: int | None) -> int | None:
    if timeout is None:
        return None
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not -1 <= timeout <= 3600:
        raise InvalidArgument("stop timeout must be whole seconds between -1 and 3600")
    return timeout


class ContainersAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self,
        all: bool = False,  # noqa: A002 - the engine's own parameter name
        filters: Mapping[str, Iterable[str] | str] | None = None,
        limit: int | None = None,
        size: bool = False,
    ) -> list[dict[str, Any]]:
        """`GET /containers/json`. Only running containers unless `all`."""
        return self._c.get_json(
            "/containers/json",
            params={
                "all": all,
                "filters": encode_filters(filters),
                "limit": limit,
                "size": size or None,
            },
        )

    def get_summary(self, container_id: str) -> dict[str, Any] | None:
        """The list entry (same shape as `list`) of one container, or None if gone.

        The engine's `id` filter matches prefixes, so the result is checked for an exact id.
        """
        for row in self.list(all=True, filters={"id": [container_id]}):
            if row.get("Id") == container_id:
                return row
        return None

    def inspect(self, container_id: str, size: bool = False) -> dict[str, Any]:
        return self._c.get_json("/containers/{}/json", container_id, params={"size": size or None})

    def create(
        self, config: Mapping[str, Any], name: str | None = None, platform: str | None = None
    ) -> dict[str, Any]:
        """`POST /containers/create`: returns {Id, Warnings}."""
        return self._c.post_json(
            "/containers/create", params={"name": name, "platform": platform}, json=dict(config)
        )

    def start(self, container_id: str) -> bool:
        """Start; returns False when it was already running (the engine's 304)."""
        resp = self._c.request("POST", "/containers/{}/start", container_id)
        return resp.status_code != 304

    def stop(self, container_id: str, timeout: int | None = None) -> bool:
        """Stop, killing after `timeout` seconds; returns False when it was already stopped."""
        grace = _grace(timeout)
        resp = self._c.request(
            "POST",
            "/containers/{}/stop",
            container_id,
            params={"t": grace},
            timeout=self._slow_timeout(grace),
        )
        return resp.status_code != 304

    def restart(self, container_id: str, timeout: int | None = None) -> None:
        grace = _grace(timeout)
        self._c.request(
            "POST",
            "/containers/{}/restart",
            container_id,
            params={"t": grace},
            timeout=self._slow_timeout(grace),
        )

    def remove(self, container_id: str, force: bool = False, volumes: bool = False) -> None:
        """Remove; `force` kills a running container first, `volumes` drops anonymous volumes."""
        self._c.request(
            "DELETE",
            "/containers/{}",
            container_id,
            params={"force": force, "v": volumes},
            timeout=self._c.timeout + _STOP_SLACK,
        )

    def _slow_timeout(self, grace: int | None) -> float:
        seconds = _DEFAULT_STOP_GRACE if grace is None or grace < 0 else grace
        return seconds + self._c.timeout + _STOP_SLACK
