"""Volume calls: list, inspect, create, remove. Names are checked before any request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import InvalidArgument

if TYPE_CHECKING:
    from .client import EngineClient

# The local driver's rule (at least two characters), with a length bound of our own.
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}", re.ASCII)
_DRIVER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_./:-]{0,127}", re.ASCII)
_LABEL_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_./-]{0,254}", re.ASCII)


def check_volume_name(name: object) -> str:
    if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
        raise InvalidArgument(
            "a volume name is 2 to 128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_driver(driver: object) -> str:
    if not isinstance(driver, str) or not _DRIVER.fullmatch(driver):
        raise InvalidArgument("not a driver name")
    return driver


def check_labels(labels: Mapping[str, str] | None, what: str = "label") -> dict[str, str]:
    """Keys like `com.example.key`; values any text without NUL, up to 4096 characters."""
    out: dict[str, str] = {}
    for key, value in (labels or {}).items():
        if not _LABEL_KEY.fullmatch(str(key)):
            raise InvalidArgument(
                f"{what} key {key!r}: letters, digits, '.', '_', '/' and '-', "
                "starting with a letter or digit"
            )
        value = str(value)
        if "\x00" in value or len(value) > 4096:
            raise InvalidArgument(f"{what} {key!r}: the value is too long or not text")
        out[str(key)] = value
    return out


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
