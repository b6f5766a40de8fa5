"""Prune, with a preview first: what the engine's prune of each kind would remove, and the
space it would free, worked out from the same data the engine decides on, so that a person
sees the list before anything goes.

Kinds: images (dangling, or all unused), containers (stopped), volumes (unused, local
driver), networks (unused custom networks), build-cache (unused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import EngineError, InvalidArgument, NotAvailable
from .networks import BUILTIN_NETWORKS
from .validators import check_label_filter

if TYPE_CHECKING:
    from .client import EngineClient

KINDS = ("images", "containers", "volumes", "networks", "build-cache")
# States in which the engine counts a container as running (prune keeps it).
_RUNNING = {"running", "paused", "restarting"}


@dataclass
class PruneItem:
    id: str
    name: str
    size: int | None = None  # bytes it frees, when known
    detail: str = ""


@dataclass
class PrunePlan:
    kind: str
    items: list[PruneItem] = field(default_factory=list)
    note: str = ""

    @property
    def space(self) -> int:
        return sum(i.size or 0 for i in self.items)

    @property
    def keys(self) -> list[str]:
        """What the engine's answer will name: IDs, or names for volumes and networks."""
        if self.kind in ("volumes", "networks"):
            return [i.name for i in self.items]
        return [i.id for i in self.items]


@dataclass
class PruneResult:
    kind: str
    deleted: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    space: int | None = None


def _labels_match(labels: dict[str, str] | None, label: str) -> bool:
    if not label:
        return True
    labels = labels or {}
    key, eq, value = label.partition("=")
    if key not in labels:
        return False
    return not eq or labels[key] == value


def _tags(image: dict[str, Any]) -> list[str]:
    """RepoTags without the `<none>:<none>` placeholder (API < 1.43)."""
    return [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]


def _image_name(image: dict[str, Any]) -> str:
    tags = _tags(image)
    if tags:
        return ", ".join(tags)
    digests = [d for d in image.get("RepoDigests") or [] if d != "<none>@<none>"]
    return (digests[0].split("@")[0] + "@…") if digests else "<untagged>"


def plan_images(df: dict[str, Any], dangling: bool = True, label: str = "") -> PrunePlan:
    """Images no container uses (created or running alike), untagged ones only if `dangling`.
    The space is each image's own layers (size minus what it shares with other images)."""
    plan = PrunePlan("images")
    for img in df.get("images") or []:
        if int(img.get("Containers") or 0) > 0:
            continue
        if dangling and _tags(img):
            continue
        if not _labels_match(img.get("Labels"), label):
            continue
        size = int(img.get("Size") or 0)
        shared = int(img.get("SharedSize") or 0)
        plan.items.append(
            PruneItem(
                id=img.get("Id", ""),
                name=_image_name(img),
                size=max(size - max(shared, 0), 0),
                detail="dangling" if not _tags(img) else "unused",
            )
        )
    plan.note = (
        "Layers shared with images that stay are kept, so only each image's own layers count."
    )
    return plan


def plan_containers(df: dict[str, Any], label: str = "") -> PrunePlan:
    plan = PrunePlan("containers")
    for c in df.get("containers") or []:
        if (c.get("State") or "").lower() in _RUNNING:
            continue
        if not _labels_match(c.get("Labels"), label):
            continue
        names = [n.lstrip("/") for n in c.get("Names") or [] if n.count("/") == 1]
        plan.items.append(
            PruneItem(
                id=c.get("Id", ""),
                name=names[0] if names else c.get("Id", "")[:12],
                size=int(c.get("SizeRw") or 0),
                detail=c.get("Status", ""),
            )
        )
    return plan


def plan_volumes(df: dict[str, Any], label: str = "") -> PrunePlan:
    """Volumes no container references (local driver only: the engine prunes only those)."""
    plan = PrunePlan("volumes")
    for v in df.get("volumes") or []:
        usage = v.get("UsageData") or {}
        if int(usage.get("RefCount", -1)) != 0 or v.get("Driver") != "local":
            continue
        if not _labels_match(v.get("Labels"), label):
            continue
        size = int(usage.get("Size", -1))
        plan.items.append(
            PruneItem(
                id=v.get("Name", ""), name=v.get("Name", ""), size=size if size >= 0 else None
            )
        )
    return plan


def plan_networks(
    networks: list[dict[str, Any]], running: list[dict[str, Any]], label: str = ""
) -> PrunePlan:
    """Custom networks no running container is attached to (a stopped one has no endpoint,
    so the engine prunes its network all the same). The list's own `dangling` filter is not
    used: API 1.41 lists networks without their containers and calls every one dangling."""
    attached = {
        ep.get("NetworkID")
        for c in running
        for ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values()
    }
    plan = PrunePlan("networks")
    for n in networks:
        if n.get("Name") in BUILTIN_NETWORKS or n.get("Ingress") or n.get("Id") in attached:
            continue
        if not _labels_match(n.get("Labels"), label):
            continue
        plan.items.append(
            PruneItem(id=n.get("Id", ""), name=n.get("Name", ""), detail=n.get("Driver", ""))
        )
    plan.note = "Networks free no disk space."
    return plan


def plan_build_cache(df: dict[str, Any]) -> PrunePlan:
    plan = PrunePlan("build-cache")
    for b in df.get("build_cache") or []:
        if b.get("InUse"):
            continue
        plan.items.append(
            PruneItem(
                id=b.get("ID", ""),
                name=(b.get("Description") or b.get("Type") or "")[:120],
                size=int(b.get("Size") or 0),
                detail=b.get("Type", ""),
            )
        )
    return plan


class PruneAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def preview(self, kind: str, *, dangling: bool = True, label: str = "") -> PrunePlan:
        label = check_label_filter(label)
        if kind == "networks":
            filters: dict[str, list[str]] = {"type": ["custom"]}
            if label:
                filters["label"] = [label]
            networks = self._c.networks.list(filters=filters)
            return plan_networks(networks, self._c.containers.list(), label)
        if kind not in KINDS:
            raise InvalidArgument(f"unknown kind {kind!r}")
        df = self._c.system.df()
        if kind == "images":
            return plan_images(df, dangling=dangling, label=label)
        if kind == "containers":
            return plan_containers(df, label)
        if kind == "volumes":
            return plan_volumes(df, label)
        return plan_build_cache(df)

    def _podman_prune_all_images(self, filters: dict[str, list[str]], slow: float) -> PruneResult:
        """Podman's Docker-compatible prune always adds `dangling=true` itself (and refuses
        `dangling=false` beside it); its own API's `all` prunes every unused image."""
        # Its own API is versioned by Podman's version (4.0.0 is the oldest it has).
        version = self._c.flavor.version
        prefix = f"/v{version}" if re.fullmatch(r"\d+\.\d+\.\d+", version) else "/v4.0.0"
        resp = self._c.request(
            "POST",
            f"{prefix}/libpod/images/prune",
            params={"all": True, "filters": filters or None},
            timeout=slow,
            versioned=False,
        )
        reports = resp.json() or []
        failed = [r["Err"] for r in reports if r.get("Err")]
        if failed:
            raise EngineError(str(failed[0]))
        return PruneResult(
            "images",
            deleted=[_sha(r["Id"]) for r in reports if r.get("Id")],
            space=sum(int(r.get("Size") or 0) for r in reports),
        )

    def run(self, kind: str, *, dangling: bool = True, label: str = "") -> PruneResult:
        label = check_label_filter(label)
        filters: dict[str, list[str]] = {"label": [label]} if label else {}
        slow = max(self._c.timeout, 300.0)
        if kind == "images" and not dangling and self._c.flavor.is_podman:
            return self._podman_prune_all_images(filters, slow)
        if kind == "images":
            filters["dangling"] = ["true" if dangling else "false"]
            body = self._c.post_json("/images/prune", params={"filters": filters}, timeout=slow)
            entries = (body or {}).get("ImagesDeleted") or []
            return PruneResult(
                kind,
                # Podman names deleted images by their bare hex id.
                deleted=[_sha(e["Deleted"]) for e in entries if e.get("Deleted")],
                untagged=[e["Untagged"] for e in entries if e.get("Untagged")],
                space=(body or {}).get("SpaceReclaimed"),
            )
        if kind == "containers":
            body = self._c.post_json(
                "/containers/prune", params={"filters": filters or None}, timeout=slow
            )
            return PruneResult(
                kind,
                deleted=list((body or {}).get("ContainersDeleted") or []),
                space=(body or {}).get("SpaceReclaimed"),
            )
        if kind == "volumes":
            # From 1.42 only anonymous volumes go unless `all` says otherwise; the preview
            # (and 1.41) mean every unused volume.
            if self._c.negotiate() >= (1, 42):
                filters["all"] = ["true"]
            body = self._c.post_json(
                "/volumes/prune", params={"filters": filters or None}, timeout=slow
            )
            return PruneResult(
                kind,
                deleted=list((body or {}).get("VolumesDeleted") or []),
                space=(body or {}).get("SpaceReclaimed"),
            )
        if kind == "networks":
            body = self._c.post_json(
                "/networks/prune", params={"filters": filters or None}, timeout=slow
            )
            return PruneResult(kind, deleted=list((body or {}).get("NetworksDeleted") or []))
        if kind == "build-cache":
            if not self._c.flavor.has("build-cache"):
                raise NotAvailable(self._c.flavor.missing["build-cache"])
            body = self._c.post_json("/build/prune", params={"all": True}, timeout=slow)
            return PruneResult(
                kind,
                deleted=list((body or {}).get("CachesDeleted") or []),
                space=(body or {}).get("SpaceReclaimed"),
            )
        raise InvalidArgument(f"unknown kind {kind!r}")


def _sha(image_id: str) -> str:
    return image_id if ":" in image_id else f"sha256:{image_id}"
