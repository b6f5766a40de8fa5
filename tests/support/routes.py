"""Every URL pattern and websocket route of the project, with a concrete example of each, so
tests can walk them all and a new view cannot be forgotten."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

CID = "a" * 64
# By parameter name first, then by whatever fits the converter's regex.
BY_NAME = {
    "host": "local",
    "name": "extra",
    "container_id": CID,
    "ref": "somename",
    "pk": "1",
    "key": "a" * 24,
}
CANDIDATES = ["somename", CID, "1", "a" * 25, "x"]


@dataclass
class Route:
    name: str
    url: str
    callback: Any

    @property
    def required_role(self) -> str | None:
        return getattr(self.callback, "required_role", None)

    def role_for(self, method: str) -> str | None:
        """The role a persona without the exec grant needs for `method`."""
        if getattr(self.callback, "needs_exec", False):
            return "admin"
        if method == "post":
            return getattr(self.callback, "required_role_post", self.required_role)
        return self.required_role


def _example(key: str, converter: Any) -> str:
    if key in BY_NAME and re.fullmatch(converter.regex, BY_NAME[key]):
        return BY_NAME[key]
    for candidate in CANDIDATES:
        if re.fullmatch(converter.regex, candidate):
            return candidate
    raise AssertionError(f"no example value for <{key}> matching {converter.regex}")


def all_routes() -> list[Route]:
    out: list[Route] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            converters = getattr(p.pattern, "converters", {})
            for key, conv in converters.items():
                route = re.sub(rf"<(\w+:)?{key}>", _example(key, conv), route)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                callback = p.callback
                # Class-based views carry the attribute on the class.
                callback = getattr(callback, "view_class", callback)
                out.append(Route(p.name or route, "/" + prefix + route, callback))

    walk(get_resolver().url_patterns, "")
    return out


def websocket_routes() -> list[tuple[str, str, Any]]:
    """(name, example path, consumer class) for every websocket route."""
    from dashboard.routing import websocket_urlpatterns

    out = []
    for p in websocket_urlpatterns:
        regex = p.pattern.regex.pattern
        path = regex.lstrip("^").rstrip("$")
        path = re.sub(
            r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)",
            lambda m: _ws_example(m.group(1), m.group(2)),
            path,
        )
        out.append((p.name, "/" + path, p.callback.consumer_class))
    return out


def _ws_example(key: str, regex: str) -> str:
    class C:
        pass

    c = C()
    c.regex = regex  # type: ignore[attr-defined]
    if "|" in regex and re.fullmatch(r"[\w|]+", regex):
        return regex.split("|")[0]
    return _example(key, c)
