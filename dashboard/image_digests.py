"""What the update badges need of a host's images (each image's digests and tags, by ID), read
once and kept while the host's events say no image changed.

A container's badge compares the registry's digest (cached in ImageCheck) with the digests of
the image the container runs, so every list page with badges needed one image list of its own
(the containers page, the projects page) and the live rows none at all. This process already
follows every host's events (container_cache.py): an image event or an outage moves
`container_cache.image_changes`, and only then is the list read again. An image ID never seen
(a container made from an image whose event has not arrived yet) reads it again too. Without
the events (no event loop in this process, the stream down) every call reads, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine_client import EngineClient

from . import container_cache

# The fields a verdict reads (engine_client.updates.compare, the local image's age): the
# rest is not kept.
KEPT = ("Id", "RepoDigests", "RepoTags", "Created")


@dataclass
class _Read:
    changes: tuple[int, int]
    images: dict[str, dict[str, Any]]
    covered: set[str] = field(default_factory=set)  # IDs known to be there or not


_reads: dict[str, _Read] = {}
_lock = threading.Lock()


def images_by_id(
    host: str, client: EngineClient, ids: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Host `host`'s images by ID (their digests and tags), covering at least `ids`: from
    what was read before while no image event came since, else one image list."""
    wanted = {i for i in ids if i}
    changes = container_cache.image_changes(host)
    with _lock:
        read = _reads.get(host)
    if (
        changes is not None
        and read is not None
        and read.changes == changes
        and wanted <= read.covered
    ):
        return read.images
    # The count is taken before the list: an event during the read makes the next call read.
    images = {
        i["Id"]: {k: i.get(k) for k in KEPT} for i in client.images.list(all=False) if "Id" in i
    }
    if changes is not None:
        with _lock:
            _reads[host] = _Read(changes, images, set(images) | wanted)
    return images


def forget(host: str) -> None:
    with _lock:
        _reads.pop(host, None)
