"""Which engine answers: Docker or Podman (whose service speaks the Docker Engine API with
differences), told from `/_ping`, and what the other engine's differences come down to.

Every difference between the two that the dashboard would see is smoothed over here (or in
the resource module that calls these helpers), never in views or templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DOCKER = "docker"
PODMAN = "podman"


@dataclass(frozen=True)
class Flavor:
    """The engine behind a socket: its kind (docker, podman), product name and version,
    and the features it lacks, each with a short explanation for the page that would show it."""

    kind: str
    name: str
    version: str
    missing: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_podman(self) -> bool:
        return self.kind == PODMAN

    def has(self, feature: str) -> bool:
        return feature not in self.missing


PODMAN_MISSING = {
    "swarm": "Podman has no swarm mode: nodes, services and stacks belong to Docker "
    "engines. Podman groups containers in pods instead.",
    "build-cache": "Podman keeps no separate build cache through this API.",
}


_SERVER = re.compile(r"(Docker|Libpod)/(\S+)")


def detect_from_ping(headers: Mapping[str, str]) -> Flavor:
    """From `/_ping`'s headers (cheaper than `/version`, which makes Podman ask its runtime
    for versions: about a second): Podman always sends `Libpod-Api-Version`; an engine that
    does not is taken for Docker (whose `Server: Docker/<version>` gives the version)."""
    if version := headers.get("Libpod-Api-Version"):
        return Flavor(PODMAN, "Podman", version, missing=dict(PODMAN_MISSING))
    m = _SERVER.match(headers.get("Server", ""))
    if m and m.group(1) == "Libpod":
        return Flavor(PODMAN, "Podman", m.group(2), missing=dict(PODMAN_MISSING))
    return Flavor(DOCKER, "Docker Engine", m.group(2) if m else "")


# -- events -------------------------------------------------------------------------------

# Podman's actions named as Docker names them. Podman ends a container's life with
# `remove` (Docker: `destroy`), images with `remove` (Docker: `delete`), and sends no
# `stop` when a container stops: its `cleanup`, once the container's state is final, is
# where Docker would say `stop`. `init` (before `start`) has no Docker counterpart.
_PODMAN_ACTIONS: dict[str, dict[str, str | None]] = {
    "container": {"remove": "destroy", "cleanup": "stop", "init": None},
    "image": {"remove": "delete"},
    "volume": {"remove": "destroy"},
    "network": {"remove": "destroy"},
}


def podman_event_filter(actions: list[str]) -> list[str]:
    """Docker's action names in an `event` filter, as Podman's (which it would match)."""
    reverse = {"destroy": ["remove"], "delete": ["remove"], "stop": ["cleanup"]}
    out: list[str] = []
    for action in actions:
        for name in reverse.get(action, [action]):
            if name not in out:
                out.append(name)
    return out


class PodmanEvents:
    """One stream's events as Docker names them. Podman cleans a stopped container up twice
    (two `cleanup`, so two `stop`), and the first sometimes comes before its `died`: Docker
    sends `die` then one `stop`, so a `stop` is sent only after the container's `die` (the
    others are dropped), which needs the stream's memory."""

    def __init__(self, flavor: Flavor) -> None:
        self.flavor = flavor
        self._died: set[str] = set()

    def __call__(self, events: list[Any]) -> list[dict[str, Any]]:
        out = []
        for ev in events:
            norm = normalize_event(self.flavor, ev)
            if norm is None:
                continue
            if norm.get("Type") == "container":
                cid = str((norm.get("Actor") or {}).get("ID") or norm.get("id") or "")
                action = norm.get("Action")
                if action == "stop":
                    if cid not in self._died:
                        continue
                    self._died.discard(cid)
                elif action == "die":
                    self._died.add(cid)
                elif action in ("start", "destroy"):
                    self._died.discard(cid)
            out.append(norm)
        return out


class StopAfterDie:
    """One stream's container events in 20.10's order. Docker 25 and newer (API 1.44+) send
    a stopped container's `stop` before its `die` (20.10: `die`, then `stop`), and at that
    `stop` the container list may still call the container running (the engine writes the
    list's copy at the `die`). So a `stop` is held until the container's `die` and sent right
    after it (or before the container's next event, should no `die` come first)."""

    def __init__(self) -> None:
        self._held: dict[str, Any] = {}

    def __call__(self, events: list[Any]) -> list[Any]:
        out: list[Any] = []
        for ev in events:
            if not isinstance(ev, dict) or ev.get("Type") != "container":
                out.append(ev)
                continue
            cid = str((ev.get("Actor") or {}).get("ID") or ev.get("id") or "")
            action = ev.get("Action") or ev.get("status")
            if action == "stop":
                if cid in self._held:
                    out.append(self._held.pop(cid))
                self._held[cid] = ev
                continue
            held = self._held.pop(cid, None)
            if held is not None and action != "die":
                out.append(held)
            out.append(ev)
            if held is not None and action == "die":
                out.append(held)
        return out


def normalize_event(flavor: Flavor, event: dict[str, Any]) -> dict[str, Any] | None:
    """An event as Docker would send it, or None for one Docker would not send at all."""
    if not flavor.is_podman or not isinstance(event, dict):
        return event
    kind = event.get("Type") or event.get("Type".lower()) or ""
    action = event.get("Action") or event.get("status") or ""
    mapping = _PODMAN_ACTIONS.get(kind, {})
    if action in mapping:
        action = mapping[action]
        if action is None:
            return None
        event = {**event, "Action": action}
        if "status" in event:
            event["status"] = action
    actor = event.get("Actor")
    if kind == "volume" and isinstance(actor, dict) and not actor.get("ID"):
        # Podman leaves a volume event's ID empty; Docker puts the volume's name there.
        event["Actor"] = {**actor, "ID": (actor.get("Attributes") or {}).get("name", "")}
    event.setdefault("scope", "local")
    return event


# -- names and messages -------------------------------------------------------------------


def familiar(ref: str) -> str:
    """`docker.io/library/x:t` -> `x:t`, `docker.io/a/b:t` -> `a/b:t`, as Docker lists them.
    Podman lists every reference fully qualified."""
    if ref.startswith("docker.io/"):
        ref = ref[len("docker.io/") :]
        if ref.startswith("library/") and ref.count("/") == 1:
            ref = ref[len("library/") :]
    return ref


def split_top(top: dict[str, Any]) -> dict[str, Any]:
    """Podman's `top` of a container without procps (busybox) answers each row as ONE
    string under ONE title ("PID   USER     COMMAND"); split them into columns as Docker does."""
    titles = top.get("Titles") or []
    rows = top.get("Processes") or []
    if len(titles) != 1 or not isinstance(titles[0], str) or len(titles[0].split()) < 2:
        return top
    if any(len(r) != 1 for r in rows):
        return top
    names = titles[0].split()
    return {
        **top,
        "Titles": names,
        "Processes": [r[0].split(None, len(names) - 1) for r in rows],
    }


_HEX64 = re.compile(r"(sha256:)?[0-9a-f]{64}")


def error_status(status: int, message: str) -> int:
    """Podman answers some refusals with a 500 or 400 where Docker says 409 or 404."""
    if status == 500 and message.endswith("container state improper"):
        return 409  # e.g. removing a running container without force
    if status == 500 and "is being used" in message:
        return 409  # a volume or network in use
    if status in (400, 500) and "cannot specify 64-byte hexadecimal strings" in message:
        return 404  # an image id that is not there is then tried as a name, and refused
    return status


# -- container inspect --------------------------------------------------------------------


def podman_networks(body: dict[str, Any]) -> dict[str, Any]:
    """Podman's default network is "bridge" in its network list but "podman" in a
    container's networks: name it "bridge" there too, as Docker does. (And the image a
    list row names, as Docker names it.)"""
    if isinstance(body.get("Image"), str) and not body["Image"].startswith("sha256:"):
        body["Image"] = familiar(body["Image"])
    networks = (body.get("NetworkSettings") or {}).get("Networks")
    if isinstance(networks, dict) and "podman" in networks and "bridge" not in networks:
        body["NetworkSettings"]["Networks"] = {
            ("bridge" if k == "podman" else k): v for k, v in networks.items()
        }
    return body


def podman_inspect(body: dict[str, Any]) -> dict[str, Any]:
    """A Podman container's inspect as Docker would answer it: without the variables Podman
    adds to every container (`container=podman`, `HOSTNAME`, `TERM=xterm`), with no
    entrypoint rather than an empty one, and its default network named as Docker names it
    (the network "bridge", the mode "default")."""
    if not isinstance(body, dict):
        return body
    config = body.get("Config")
    if isinstance(config, dict):
        if isinstance(config.get("Image"), str):
            config["Image"] = familiar(config["Image"])
        added = {"container=podman", f"HOSTNAME={config.get('Hostname', '')}", "TERM=xterm"}
        config["Env"] = [e for e in config.get("Env") or [] if e not in added]
        if config.get("Entrypoint") == []:
            config["Entrypoint"] = None
    host_config = body.get("HostConfig")
    if isinstance(host_config, dict):
        if host_config.get("NetworkMode") == "bridge":
            host_config["NetworkMode"] = "default"
        # Inspect names ulimits RLIMIT_NOFILE, which Podman's own create then refuses.
        for limit in host_config.get("Ulimits") or []:
            name = str(limit.get("Name", ""))
            if name.startswith("RLIMIT_"):
                limit["Name"] = name[len("RLIMIT_") :].lower()
    return podman_networks(body)


# -- newer Docker engines (25 and up, API 1.44+) -------------------------------------------
# Seen on Docker 26.1.5 (API 1.45) against 20.10 (API 1.41); see docs/engines.md. The client
# speaks the newest API an engine has, so a negotiated 1.44 or later means Docker 25+.
DOCKER_25 = (1, 44)


def default_network_mode(body: Any) -> Any:
    """Docker 25+ says `bridge` for the network mode of a container created without one
    (20.10: `default`; on Linux both are the bridge): say `default`, as 20.10 (and the
    client's specs, where "" is the engine's default) do."""
    host_config = body.get("HostConfig") if isinstance(body, dict) else None
    if isinstance(host_config, dict) and host_config.get("NetworkMode") == "bridge":
        host_config["NetworkMode"] = "default"
    return body


def own_aliases(body: Any) -> Any:
    """A container's aliases on each network as Docker 25+ gives them: the ones it was given.
    Docker 20.10 (once the container runs) and Podman add the container's short id to them
    on a user-defined network; 25+ does not (it lists the names the network's DNS answers
    to, the short id among them, in `DNSNames`)."""
    short = str(body.get("Id") or "")[:12] if isinstance(body, dict) else ""
    networks = (body.get("NetworkSettings") or {}).get("Networks") if short else None
    for endpoint in (networks or {}).values():
        if isinstance(endpoint, dict) and short in (endpoint.get("Aliases") or []):
            endpoint["Aliases"] = [a for a in endpoint["Aliases"] if a != short] or None
    return body


def podman_stats(doc: Any) -> Any:
    """Podman names a container in its stats without Docker's leading "/" (so the docker
    CLI, which cuts one character, shows "d1" for "pd1")."""
    if isinstance(doc, dict) and isinstance(doc.get("name"), str) and doc["name"][:1] != "/":
        doc["name"] = "/" + doc["name"]
    return doc
