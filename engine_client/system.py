"""Engine-wide calls: ping, version, info."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import EngineError
from .flavor import DOCKER_25, PodmanEvents, StopAfterDie, podman_event_filter
from .streams import JSONStream, RawJSONStream, timestamp_to_unix

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
        """The events stream; `since`/`until` are Unix `seconds[.nanoseconds]` strings.
        On Podman, actions (in the filter and in the events) are named as Docker names them."""
        podman = self._c.flavor.is_podman
        if podman and filters and "event" in filters:
            wanted = filters["event"]
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            filters = {**filters, "event": podman_event_filter(wanted)}
        params = {"since": since, "until": until, "filters": encode_filters(filters)}
        if podman and self._c.can_send_raw:
            # Podman answers nothing, not even its head, until the first event. Nor does it
            # send network events: those are told from the network list, every few seconds.
            watch = None
            kinds = (filters or {}).get("type") or []
            if set(filters or {}) <= {"type"} and (not kinds or "network" in kinds):
                watch = NetworkWatch(self._c, since)
            sock = self._c.send_raw("GET", "/events", params=params)
            stream: JSONStream = RawJSONStream(
                sock, url=self._c.url, idle=watch, idle_seconds=NetworkWatch.INTERVAL
            )
        else:
            resp = self._c.request("GET", "/events", params=params, stream=True, timeout=0)
            stream = JSONStream(resp, url=self._c.url)
        if podman:
            stream.transform = PodmanEvents(self._c.flavor)
        elif self._c.negotiate() >= DOCKER_25:
            stream.transform = StopAfterDie()
        return stream

    def df(self) -> dict[str, Any]:
        """`GET /system/df` in one shape whatever the API version:
        {layers_size, images, containers, volumes, build_cache} (lists of the engine's items).

        Up to 1.51 the items are top-level lists; from 1.52 they sit under `*Usage.Items`
        (only with `verbose`), and from 1.53 the old fields are gone.
        """
        params = {"verbose": True} if self._c.negotiate() >= (1, 52) else None
        body = self._c.get_json("/system/df", params=params, timeout=max(self._c.timeout, 60.0))
        df = normalize_df(body or {})
        if self._c.flavor.is_podman:
            self._podman_df(df)
        return df

    def _podman_df(self, df: dict[str, Any]) -> None:
        """Podman's df lists image ids without `sha256:`, only the tag part of each name
        ("latest"), no labels on anything, container names without their "/", volumes
        without their driver, and a zero LayersSize: those come from the lists."""
        listed = {row["Id"]: row for row in self._c.images.list(all=True)}
        total = 0
        for img in df["images"]:
            iid = str(img.get("Id") or "")
            if iid and not iid.startswith("sha256:"):
                iid = img["Id"] = f"sha256:{iid}"
            row = listed.get(iid) or {}
            img["RepoTags"] = row.get("RepoTags") or []
            img["RepoDigests"] = row.get("RepoDigests") or []
            img["Labels"] = row.get("Labels") or img.get("Labels") or {}
            total += int(img.get("Size") or 0)
        if not df["layers_size"]:
            df["layers_size"] = total
        if df["containers"]:
            rows = {c["Id"]: c for c in self._c.containers.list(all=True)}
            for c in df["containers"]:
                row = rows.get(c.get("Id", "")) or {}
                c["Labels"] = row.get("Labels") or c.get("Labels") or {}
                c["Names"] = row.get("Names") or [f"/{n}" for n in c.get("Names") or []]
                c["Status"] = row.get("Status") or c.get("Status", "")
        if df["volumes"]:
            volumes = {v["Name"]: v for v in self._c.volumes.list()}
            for v in df["volumes"]:
                row = volumes.get(v.get("Name", "")) or {}
                v["Labels"] = row.get("Labels") or v.get("Labels") or {}
                v["Driver"] = v.get("Driver") or row.get("Driver") or ""

    def auth(self, username: str, password: str, registry: str) -> dict[str, Any]:
        """`POST /auth`: ask the engine to log in to `registry` (checks the credentials)."""
        from .images import registry_auth_body

        body = registry_auth_body(username, password, registry)
        if self._c.flavor.is_podman and body["serveraddress"].startswith("127.0.0.1:"):
            # Podman 4.3's /auth speaks HTTPS to every registry whose address does not start
            # with "localhost:", whatever its registries.conf says; pulls and pushes do not.
            body["serveraddress"] = "localhost:" + body["serveraddress"].split(":", 1)[1]
        return self._c.post_json("/auth", json=body)

    def normalize_events(self, events: list[Any]) -> list[dict[str, Any]]:
        """Events as Docker names them and in 20.10's order, whichever engine sent them
        (see flavor.py)."""
        if not self._c.flavor.is_podman and self._c.negotiate() >= DOCKER_25:
            return StopAfterDie()(events)
        return PodmanEvents(self._c.flavor)(events)


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


class NetworkWatch:
    """Network create/destroy events for an engine that sends none (Podman 4.3), told from
    its network list: asked at most every INTERVAL seconds while an events stream is open."""

    INTERVAL = 2.0

    def __init__(self, client: EngineClient, since: str | None = None) -> None:
        self._c = client
        self._last = 0.0
        known = self._networks()
        if known is not None and since:
            # Those made since `since` are news, as the engine's own replay would tell them.
            after = float(since)
            # (Podman dates its default network "now" whenever asked: never news.)
            known = {
                i: n for i, n in known.items() if self._created.get(i, 0.0) < after or n == "bridge"
            }
        self._known = known

    def _networks(self) -> dict[str, str] | None:
        try:
            rows = self._c.networks.list()
        except EngineError:
            return None
        self._created = {}
        for n in rows:
            unix = timestamp_to_unix(str(n.get("Created") or ""))
            self._created[n["Id"]] = float(unix) if unix else 0.0
        return {n["Id"]: n.get("Name", "") for n in rows}

    def __call__(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._last < self.INTERVAL:
            return []
        self._last = time.monotonic()
        current = self._networks()
        if current is None:
            return []
        known, self._known = self._known, current
        if known is None:
            return []
        now = time.time_ns()
        changes = [("create", i, current[i]) for i in current.keys() - known.keys()]
        changes += [("destroy", i, known[i]) for i in known.keys() - current.keys()]
        return [
            {
                "Type": "network",
                "Action": action,
                "status": action,
                "id": net_id,
                "Actor": {"ID": net_id, "Attributes": {"name": name}},
                "scope": "local",
                "time": now // 10**9,
                "timeNano": now,
            }
            for action, net_id, name in changes
        ]
