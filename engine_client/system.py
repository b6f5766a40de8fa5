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

    def df(self) -> dict[str, Any]:
        """`GET /system/df` in one shape whatever the API version:
        {layers_size, images, containers, volumes, build_cache} (lists of the engine's items).

        Up to 1.51 the items are top-level lists; from 1.52 they sit under `*Usage.Items`
        (only with `verbose`), and from 1.53 the old fields are gone.
        """
        params = {"verbose": True} if self._c.negotiate() >= (1, 52) else None
        body = self._c.get_json("/system/df", params=params, timeout=max(self._c.timeout, 60.0))
        return normalize_df(body or {})

    def auth(self, username: str, password: str, registry: str) -> dict[str, Any]:
        """`POST /auth`: ask the engine to log in to `registry` (checks the credentials)."""
        from .images import registry_auth_body

        return self._c.post_json("/auth", json=registry_auth_body(username, password, registry))


def _usage(body: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if isinstance(body.get(name), dict):
            return body[name]
    return {}


def normalize_df(body: dict[str, Any]) -> dict[str, Any]:
    """Both shapes of `/system/df` (the 1.41 lists, the 1.52+ `*Usage` objects) as one."""
    images = _usage(body, "ImageUsage", "ImagesUsage")
    containers = _usage(body, "ContainerUsage", "ContainersUsage")
    volumes = _usage(body, "VolumeUsage", "VolumesUsage")
    cache = _usage(body, "BuildCacheUsage")

    def items(legacy: str, usage: dict[str, Any]) -> list[dict[str, Any]]:
        value = body.get(legacy)
        if value is None:
            value = usage.get("Items")
        return list(value or [])

    layers = body.get("LayersSize")
    if layers is None:
        layers = images.get("TotalSize") or 0
    return {
        "layers_size": int(layers or 0),
        "images": items("Images", images),
        "containers": items("Containers", containers),
        "volumes": items("Volumes", volumes),
        "build_cache": items("BuildCache", cache),
    }
