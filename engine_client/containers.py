"""Container calls: list, inspect, create, start, stop, restart, remove."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import InvalidArgument
from .streams import JSONStream, LogStream

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

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | str = "all",
        since: float | str | None = None,
        until: float | str | None = None,
        timestamps: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        tty: bool | None = None,
    ) -> LogStream:
        """A log stream. Framing follows the container's own `Config.Tty` (inspected when
        `tty` is not given), never the content type, which API 1.41 reports wrongly."""
        if not (stdout or stderr):
            raise InvalidArgument("ask for stdout, stderr or both")
        if tail != "all" and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
            raise InvalidArgument("tail must be 'all' or a whole number >= 0")
        if tty is None:
            tty = bool((self.inspect(container_id).get("Config") or {}).get("Tty"))
        resp = self._c.request(
            "GET",
            "/containers/{}/logs",
            container_id,
            params={
                "follow": follow,
                "stdout": stdout,
                "stderr": stderr,
                "timestamps": timestamps,
                "tail": str(tail),
                "since": _unix(since),
                "until": _unix(until),
            },
            stream=True,
            timeout=0 if follow else None,
        )
        return LogStream(resp, tty=tty, timestamps=timestamps, url=self._c.url)

    def stats(self, container_id: str) -> JSONStream:
        """The live stats stream: about one document a second until closed."""
        resp = self._c.request(
            "GET",
            "/containers/{}/stats",
            container_id,
            params={"stream": True},
            stream=True,
            timeout=0,
        )
        return JSONStream(resp, url=self._c.url)

    def stats_once(self, container_id: str) -> dict[str, Any]:
        """One sample, at once (`one-shot`): no precpu_stats, so CPU % needs two of them."""
        return self._c.get_json(
            "/containers/{}/stats", container_id, params={"stream": False, "one-shot": True}
        )


def _unix(value: float | str | None) -> str | None:
    if value is None or value == 0:
        return None
    if isinstance(value, str):
        sec, dot, nanos = value.partition(".")
        if sec.isdigit() and (not dot or nanos.isdigit()):
            return value
        raise InvalidArgument("since/until are Unix seconds")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidArgument("since/until are Unix seconds")
    return f"{value:.9f}".rstrip("0").rstrip(".")
