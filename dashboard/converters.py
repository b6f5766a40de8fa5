"""URL converters: ids, names and host names are validated before any view sees them."""

from __future__ import annotations

from engine_client.validators import PROJECT_NAME

from .engines import HOST_NAME_RE


class HostNameConverter:
    regex = HOST_NAME_RE

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class EngineRefConverter:
    """A container id, id prefix or name: what the engine accepts in `{id}`, nothing more."""

    regex = r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ContainerIdConverter:
    """A full 64-hex container id: actions name exactly one container, never a reusable name."""

    regex = r"[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ProjectNameConverter:
    """A compose project name by compose's own rule: anything else is a 404 before any
    view (or engine call) sees it."""

    regex = PROJECT_NAME.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
