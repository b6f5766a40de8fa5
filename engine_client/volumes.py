"""Volume calls: list, inspect, create, remove. Names are checked before any request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .validators import check_driver, check_labels, check_volume_name

if TYPE_CHECKING:
    from .client import EngineClient


class VolumesAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        """`GET /volumes`: the volumes (the engine's warnings are dropped)."""
        body = self._c.get_json("/volumes", params={"filters": encode_filters(filters)})
        return list((body or {}).get("Volumes") or [])

    def inspect(self, name: str) -> dict[str, Any]:
        return self._c.get_json("/volumes/{}", check_volume_name(name))

    def create(
        self,
        name: str | None = None,
        driver: str = "local",
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """`POST /volumes/create`; without a name the engine makes one up."""
        body: dict[str, Any] = {
            "Driver": check_driver(driver or "local"),
            "DriverOpts": check_labels(driver_opts, "option"),
            "Labels": check_labels(labels),
        }
        if name:
            body["Name"] = check_volume_name(name)
        return self._c.post_json("/volumes/create", json=body)

    def remove(self, name: str, force: bool = False) -> None:
        """`DELETE /volumes/{name}`: refused (409) while a container uses it."""
        self._c.request("DELETE", "/volumes/{}", check_volume_name(name), params={"force": force})
