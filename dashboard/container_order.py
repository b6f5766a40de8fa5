"""The containers list's sort and filter keys, worked out once per container list entry.

At 5,000 containers a click that sorted the list by name worked out every entry's name
again (the first own name among its Names, lower-cased) and re-sorted all of them. The
container cache (container_cache.py) keeps each entry's `RowKeys` beside it, made when the
entry changes, and each order it was asked for until its rows change; the page then only
filters that order and cuts out its slice. The engine's list (a cache not trusted yet) is
sorted with the same keys, so both ways give the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from engine_client.projects import container_project

from .presenters import container_name


class RowKeys(NamedTuple):
    """What sorting and filtering read of one `GET /containers/json` entry."""

    name: str  # the container's own name, lower-cased
    image: str  # lower-cased
    state: str  # lower-cased
    created: int
    id: str
    project: str  # the compose project ('' for none)


def row_keys(row: dict[str, Any]) -> RowKeys:
    cid = row.get("Id", "")
    return RowKeys(
        name=container_name(row.get("Names"), cid[:12]).lower(),
        image=(row.get("Image") or "").lower(),
        state=(row.get("State") or "").lower(),
        created=row.get("Created") or 0,
        id=cid,
        project=container_project(row),
    )


# Ties fall to the name (or the id): the order does not depend on how the engine listed them.
SORTS: dict[str, Callable[[RowKeys], Any]] = {
    "name": lambda k: k.name,
    "state": lambda k: (k.state, k.name),
    "image": lambda k: (k.image, k.name),
    "created": lambda k: (k.created, k.id),
}


def entry_sort_keys() -> dict[str, Callable[[dict[str, Any]], Any]]:
    """`SORTS` on raw list entries (for `paging.paginate` on the engine's own list)."""

    def on_entry(key: Callable[[RowKeys], Any]) -> Callable[[dict[str, Any]], Any]:
        return lambda row: key(row_keys(row))

    return {name: on_entry(key) for name, key in SORTS.items()}


def matches(keys: RowKeys, needle: str) -> bool:
    """The filter box: `needle` (lower-cased) in the name or the image."""
    return needle in keys.name or needle in keys.image
