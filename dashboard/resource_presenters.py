"""Images, volumes, networks and disk usage as the templates show them. Pure functions over
engine payloads (API 1.41 and newer shapes alike), no engine calls."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engine_client.networks import BUILTIN_NETWORKS

from .presenters import container_name, mask_env, parse_time


def _tags(image: dict[str, Any]) -> list[str]:
    # Below API 1.43 an untagged image says `<none>:<none>`; from 1.43 the list is empty.
    return [t for t in image.get("RepoTags") or [] if t and t != "<none>:<none>"]


def _digests(image: dict[str, Any]) -> list[str]:
    return [d for d in image.get("RepoDigests") or [] if d and d != "<none>@<none>"]


def image_hex(image_id: str) -> str:
    return image_id.split(":", 1)[-1]


def containers_by_image(containers: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Image ID -> the containers (list entries) made from it."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in containers:
        out[c.get("ImageID", "")].append(
            {
                "id": c.get("Id", ""),
                "name": container_name(c.get("Names"), c.get("Id", "")[:12]),
                "state": (c.get("State") or "").lower(),
            }
        )
    return out


def image_row(image: dict[str, Any], users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    image_id = image.get("Id", "")
    tags = _tags(image)
    users = users or []
    return {
        "id": image_id,
        "hex": image_hex(image_id),
        "short_id": image_hex(image_id)[:12],
        "tags": tags,
        "digests": _digests(image),
        # (the whole repo@digest, what fits in a list cell: "@sha256:f3aaa2550ef8…")
        "digests_short": [(d, "@" + d.rpartition("@")[2][:19] + "…") for d in _digests(image)],
        "name": tags[0] if tags else "<untagged>",
        "dangling": not tags,
        "size": int(image.get("Size") or 0),
        "created": parse_time(image.get("Created")),
        "containers": users,
        "containers_count": len(users),
        "labels": sorted((image.get("Labels") or {}).items()),
    }


def image_detail(
    image: dict[str, Any], history: list[dict[str, Any]], users: list[dict[str, Any]]
) -> dict[str, Any]:
    config = image.get("Config") or {}
    row = image_row(image, users)
    row.update(
        {
            "created": parse_time(image.get("Created")),
            "architecture": image.get("Architecture", ""),
            "os": image.get("Os", ""),
            "author": image.get("Author", ""),
            "comment": image.get("Comment", ""),
            "cmd": config.get("Cmd") or [],
            "entrypoint": config.get("Entrypoint") or [],
            "workdir": config.get("WorkingDir", ""),
            "user": config.get("User", ""),
            "env": mask_env(config.get("Env")),
            "ports": sorted((config.get("ExposedPorts") or {}).keys()),
            "volumes": sorted((config.get("Volumes") or {}).keys()),
            "labels": sorted((config.get("Labels") or {}).items()),
            "layers": len((image.get("RootFS") or {}).get("Layers") or []),
            "history": [
                {
                    "id": "" if h.get("Id") in (None, "", "<missing>") else h["Id"],
                    "created": parse_time(h.get("Created")),
                    "created_by": h.get("CreatedBy", ""),
                    "size": int(h.get("Size") or 0),
                    "tags": h.get("Tags") or [],
                    "comment": h.get("Comment", ""),
                }
                for h in history
            ],
        }
    )
    return row


def volumes_in_use(containers: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Volume name -> the containers (any state) that mount it."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in containers:
        for m in c.get("Mounts") or []:
            if m.get("Type") == "volume" and m.get("Name"):
                out[m["Name"]].append(
                    {
                        "id": c.get("Id", ""),
                        "name": container_name(c.get("Names"), c.get("Id", "")[:12]),
                        "state": (c.get("State") or "").lower(),
                        "destination": m.get("Destination", ""),
                        "rw": bool(m.get("RW")),
                    }
                )
    return out


def volume_row(
    v: dict[str, Any], usage: dict[str, Any] | None, users: list[dict[str, Any]]
) -> dict[str, Any]:
    usage = usage or v.get("UsageData") or {}
    size = usage.get("Size")
    refs = usage.get("RefCount")
    return {
        "name": v.get("Name", ""),
        "driver": v.get("Driver", ""),
        "mountpoint": v.get("Mountpoint", ""),
        "scope": v.get("Scope", ""),
        "created": parse_time(v.get("CreatedAt")),
        "labels": sorted((v.get("Labels") or {}).items()),
        "options": sorted((v.get("Options") or {}).items()),
        "status": sorted((v.get("Status") or {}).items()),
        "size": size if isinstance(size, int) and size >= 0 else None,
        "ref_count": refs if isinstance(refs, int) and refs >= 0 else None,
        "used_by": users,
        "in_use": bool(users) or bool(refs and refs > 0),
    }


def network_users(containers: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Network ID -> the containers attached to it (from the containers list)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in containers:
        for net_name, ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).items():
            out[ep.get("NetworkID", "")].append(
                {
                    "id": c.get("Id", ""),
                    "name": container_name(c.get("Names"), c.get("Id", "")[:12]),
                    "state": (c.get("State") or "").lower(),
                    "network": net_name,
                    "ip": ep.get("IPAddress", ""),
                    "aliases": [a for a in ep.get("Aliases") or [] if a != c.get("Id", "")[:12]],
                }
            )
    return out


def _ipam(n: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "subnet": cfg.get("Subnet", ""),
            "gateway": cfg.get("Gateway", ""),
            "range": cfg.get("IPRange", ""),
        }
        for cfg in ((n.get("IPAM") or {}).get("Config") or [])
    ]


def network_row(n: dict[str, Any], users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    net_id = n.get("Id", "")
    users = users or []
    return {
        "id": net_id,
        "short_id": net_id[:12],
        "name": n.get("Name", ""),
        "driver": n.get("Driver", ""),
        "scope": n.get("Scope", ""),
        "ipam": _ipam(n),
        "subnets": [c["subnet"] for c in _ipam(n) if c["subnet"]],
        "internal": bool(n.get("Internal")),
        "attachable": bool(n.get("Attachable")),
        "ingress": bool(n.get("Ingress")),
        "ipv6": bool(n.get("EnableIPv6")),
        "created": parse_time(n.get("Created")),
        "labels": sorted((n.get("Labels") or {}).items()),
        "options": sorted((n.get("Options") or {}).items()),
        "builtin": n.get("Name") in BUILTIN_NETWORKS,
        "containers": users,
        "containers_count": len(users),
        "container_names": ", ".join(u.get("name", "") for u in users),  # the count's tooltip
    }


def network_detail(n: dict[str, Any], users: list[dict[str, Any]]) -> dict[str, Any]:
    """Inspect -> the detail page; attached containers from the inspect itself (running
    ones), with aliases from the containers list where it has them."""
    row = network_row(n, users)
    by_id = {u["id"]: u for u in users}
    attached = []
    for cid, ep in sorted(
        (n.get("Containers") or {}).items(), key=lambda kv: kv[1].get("Name", "")
    ):
        known = by_id.get(cid, {})
        attached.append(
            {
                "id": cid,
                "name": ep.get("Name", "") or known.get("name", cid[:12]),
                "ipv4": ep.get("IPv4Address", ""),
                "ipv6": ep.get("IPv6Address", ""),
                "mac": ep.get("MacAddress", ""),
                "aliases": known.get("aliases", []),
            }
        )
    row["attached"] = attached
    return row


def disk_usage(df: dict[str, Any]) -> dict[str, Any]:
    """`system df` (normalised by the client) -> one summary line per kind, as `docker system
    df` shows it: count, active, size, reclaimable."""
    images = df.get("images") or []
    containers = df.get("containers") or []
    volumes = df.get("volumes") or []
    cache = df.get("build_cache") or []
    image_active = [i for i in images if int(i.get("Containers") or 0) > 0]
    image_reclaim = sum(
        max(int(i.get("Size") or 0) - max(int(i.get("SharedSize") or 0), 0), 0)
        for i in images
        if int(i.get("Containers") or 0) <= 0
    )
    running = [c for c in containers if (c.get("State") or "").lower() in ("running", "paused")]
    vol_sizes = [int((v.get("UsageData") or {}).get("Size", -1)) for v in volumes]
    vol_unused = [
        max(int((v.get("UsageData") or {}).get("Size", -1)), 0)
        for v in volumes
        if int((v.get("UsageData") or {}).get("RefCount", -1)) == 0
    ]
    return {
        "images": {
            "count": len(images),
            "active": len(image_active),
            "size": int(df.get("layers_size") or 0),
            "reclaimable": image_reclaim,
        },
        "containers": {
            "count": len(containers),
            "active": len(running),
            "size": sum(int(c.get("SizeRw") or 0) for c in containers),
            "reclaimable": sum(int(c.get("SizeRw") or 0) for c in containers if c not in running),
        },
        "volumes": {
            "count": len(volumes),
            "active": sum(
                1 for v in volumes if int((v.get("UsageData") or {}).get("RefCount", 0)) > 0
            ),
            "size": sum(s for s in vol_sizes if s > 0),
            "reclaimable": sum(vol_unused),
        },
        "build_cache": {
            "count": len(cache),
            "active": sum(1 for b in cache if b.get("InUse")),
            "size": sum(int(b.get("Size") or 0) for b in cache),
            "reclaimable": sum(int(b.get("Size") or 0) for b in cache if not b.get("InUse")),
        },
    }
